"""Grading plsa_em beyond the scores of its corpus (tests/grading/test_corpus.py): messages,
written answers, not-attempted stubs, what hostile notebooks leave behind."""


import corpus
import numpy as np
import pytest

from autograder.results import Status

ASSIGNMENT = "plsa_em"


def grade(name: str, **sandbox):
    return corpus.grade(ASSIGNMENT, name, **sandbox)


@pytest.mark.slow
def test_partial_reports_not_attempted_and_collects_the_written_answer():
    result = grade("partial")
    statuses = {t.number: t.status for t in result.tests}
    assert statuses["q3.1"] is Status.NOT_ATTEMPTED
    assert statuses["q7.1"] is Status.NOT_ATTEMPTED
    assert statuses["q1.1"] is Status.PASSED
    assert [w.question for w in result.written] == ["q8"]
    assert "Jensen" in result.written[0].text


@pytest.mark.slow
def test_monkeypatching_in_the_worker_leaves_the_grader_alone():
    grade("hostile_monkeypatch")
    assert not np.allclose(np.zeros(3), np.ones(3))
    assert not np.isfinite(np.nan)
