"""Grading deep_chain beyond the scores of its corpus (tests/grading/test_corpus.py): messages,
written answers, not-attempted stubs, what hostile notebooks leave behind."""


import corpus
import numpy as np

from autograder.results import Status

ASSIGNMENT = "deep_chain"


def grade(name: str, **sandbox):
    return corpus.grade(ASSIGNMENT, name, **sandbox)


def test_hostile_messages_explain_what_happened():
    result = grade("hostile_os_exit_at_import")
    assert any("cell 2" in m and "os._exit(0)" in m for m in result.messages)
    result = grade("hostile_read_suites")
    assert any("RuntimeError: no suites found" in m for m in result.messages)
    result = grade("hostile_import_reference")
    assert any("cell 3" in m for m in result.messages)


def test_monkeypatching_in_the_worker_leaves_the_grader_alone():
    grade("hostile_monkeypatch")
    assert not np.allclose(np.zeros(3), np.ones(3))
    assert isinstance(1, int) and not isinstance(1, str)


def test_not_attempted_stubs_are_reported_as_such():
    result = grade("partial")
    statuses = {t.question: t.status for t in result.tests}
    assert statuses["q2"] is Status.NOT_ATTEMPTED
    assert statuses["q1"] is Status.PASSED


def test_written_answers_are_collected_for_manual_grading():
    result = grade("solution")
    assert [w.question for w in result.written] == ["q7"]
    assert "saturated" in result.written[0].text
    assert any("experiment cell" in m for m in result.messages)


def test_same_seed_regrades_identically():
    first, second = grade("mistake_off_by_one"), grade("mistake_off_by_one")
    assert [(t.number, t.score, t.output) for t in first.tests] == \
           [(t.number, t.score, t.output) for t in second.tests]
