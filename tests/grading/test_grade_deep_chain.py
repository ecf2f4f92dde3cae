"""Grade the deep_chain submission corpus (real notebooks) and pin the exact scores.

Each mistaken or hostile notebook is the solution with one part replaced, so the expected
scores say exactly which questions must lose points, and every other question must still be
graded in full.
"""

from pathlib import Path

import numpy as np
import pytest

from autograder.results import Status
from autograder.runner import GradeOptions, grade_submission
from autograder.sandbox import SandboxConfig

CORPUS = Path(__file__).parent.parent / "submissions" / "deep_chain"
FULL = {"q1": 10, "q2": 20, "q3": 10, "q4": 20, "q5": 15, "q6": 20, "q8": 5, "q7": 0}
# Short limits keep the hostile cases fast; the solution needs about 2 s per call at most.
FAST = SandboxConfig(call_timeout=4, load_timeout=6, submission_timeout=120)


def grade(name: str, config: SandboxConfig = FAST):
    return grade_submission(CORPUS / f"{name}.ipynb", "deep_chain", GradeOptions(sandbox=config, seed=1234))


def scores(result) -> dict[str, float]:
    return {q.question: q.score for q in result.questions()}


def outputs(result, question: str) -> str:
    return "\n".join(t.output for t in result.tests if t.question == question)


def expect(**lost: float) -> dict[str, float]:
    """Full marks except the points given as lost per question."""
    return {q: points - lost.get(q, 0) for q, points in FULL.items()}


CASES = {
    # correct in two styles
    "solution": (expect(), None),
    "loops_float32": (expect(), None),
    # realistic mistakes: the question with the mistake loses its points (the output-layer part
    # of q2 stays right when only the recursion is wrong), questions built on it follow
    "mistake_forgot_1_over_m": (expect(q2=20, q4=20, q5=10), ("q2", "forget the 1/m")),
    "mistake_dtanh_of_u": (expect(q2=20, q4=20, q5=10), ("q2", "1 - u^2")),
    "mistake_off_by_one": (expect(q2=15, q4=20, q5=3), ("q2", "w_{k-1}")),
    "mistake_sum_not_product": (expect(q2=15, q4=20, q5=6), ("q2", "elementwise product")),
    "mistake_two_layer_phi": (expect(q6=15), ("q6", "derivative phi'(U1)")),
    "partial": (expect(q2=20, q4=20, q5=15, q6=20, q8=5), ("q2", "not attempted")),
    # hostile: the attacked part earns nothing, the rest is still graded
    "hostile_monkeypatch": (expect(q1=10, q3=10, q4=20, q5=15, q8=5), None),
    "hostile_rigged_array": (expect(q1=10, q4=20, q5=10), ("q1", "ndarray subclass")),
    "hostile_exit_at_import": (expect(), None),
    "hostile_os_exit_at_import": (expect(), None),
    "hostile_exit_in_call": (expect(q1=10, q3=10, q4=20, q5=10), ("q1", "os._exit")),
    "hostile_infinite_loop": (expect(q1=10, q4=20, q5=10), ("q1", "did not return within 4 s")),
    "hostile_fork_bomb": (expect(q1=10, q4=20, q5=10), ("q1", "did not return")),
    "hostile_memory_bomb": (expect(q1=10, q4=20, q5=10), ("q1", "ran out of memory (limit 2 GiB)")),
    "hostile_import_reference": (expect(q1=10, q4=20, q5=10), ("q1", "does not define `chain_forward`")),
    "hostile_read_suites": (expect(q3=10, q4=20), ("q3", "does not define `chain_gradients`")),
    "hostile_fake_results": (expect(q3=10, q4=20), ("q3", "dw does not match")),
    "hostile_print_flood": (expect(q1=10, q4=20, q5=10), ("q1", "")),
    "hostile_network": (expect(q3=10, q4=20), ("q3", "chain_gradients` raised")),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_scores(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a forged results.json would land here if the sandbox leaked
    expected, diagnosis = CASES[name]
    result = grade(name)
    assert scores(result) == expected
    assert result.max_score == 100
    if diagnosis:
        question, text = diagnosis
        assert text in outputs(result, question)
    assert list(tmp_path.iterdir()) == []
    assert len(result.stdout) <= 70_000
    assert result.isolation == "bubblewrap"


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


@pytest.mark.parametrize("name,reason", [
    ("broken_not_json", "not valid JSON"),
    ("broken_empty", "is empty"),
    ("broken_not_notebook", "not a Jupyter notebook"),
])
def test_broken_files_get_zero_and_the_reason(name, reason):
    result = grade(name)
    assert result.score == 0 and result.max_score == 100
    assert any(reason in m for m in result.messages)
    assert all(reason in t.output for t in result.tests if t.status is not Status.MANUAL)


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
