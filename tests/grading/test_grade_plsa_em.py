"""Grade the plsa_em submission corpus (real notebooks) and pin the exact scores.

Each mistaken or hostile notebook is the solution with one part replaced (see
tests/submissions/make_plsa_em.py), so the expected scores say exactly which questions must
lose points, and every other question must still be graded in full.
"""

from pathlib import Path

import numpy as np
import pytest

from autograder.results import Status
from autograder.runner import GradeOptions, grade_submission
from autograder.sandbox import SandboxConfig

CORPUS = Path(__file__).parent.parent / "submissions" / "plsa_em"
FULL = {"q1": 10, "q2": 15, "q3": 20, "q4": 20, "q5": 15, "q6": 10, "q7": 5, "q9": 5, "q8": 0}
# The suite sets its own limits for questions 5 and 6 (60 s and 150 s per call); the rest of
# the solution needs well under a second per call.
CONFIG = SandboxConfig(call_timeout=10, load_timeout=10, submission_timeout=300)


def grade(name: str):
    return grade_submission(CORPUS / f"{name}.ipynb", "plsa_em", GradeOptions(sandbox=CONFIG, seed=1234))


def scores(result) -> dict[str, float]:
    return {q.question: q.score for q in result.questions()}


def outputs(result, question: str) -> str:
    return "\n".join(t.output for t in result.tests if t.question == question)


def expect(**lost: float) -> dict[str, float]:
    """Full marks except the points given as lost per question."""
    return {q: points - lost.get(q, 0) for q, points in FULL.items()}


OOM = "ran out of memory (limit 2 GiB)"

CASES = {
    # correct in three styles: vectorised on the non-zeros; loops over documents and topics
    # with (M, N) arrays at most, numpy only, pyplot, a string for the symbolic answer; float32
    "solution": (expect(), None),
    "loops": (expect(), None),
    # float32 in the E-step, M-step and EM loop (question 1 keeps float64: it asks for 1e-10)
    "float32": (expect(), None),
    # the mistakes to diagnose of ASSIGNMENTS.md section 1: the question with the mistake loses
    # its points (every part it breaks), the rest is graded in full
    "mistake_no_log_M": (expect(q1=10), ("q1", "you dropped the log(1/M) term")),
    "mistake_log_outside": (expect(q1=10), ("q1", "you took the log of the count-weighted sum")),
    "mistake_gamma_over_documents": (expect(q2=15), ("q2", "you normalised gamma over documents")),
    "mistake_gamma_over_words": (expect(q2=15), ("q2", "you normalised gamma over words")),
    "mistake_nan_with_zeros": (expect(q2=4), ("q2", "use the uniform posterior 1/K")),
    # rows still sum to 1, so only the comparison and the arg-max test fail
    "mistake_m_step_no_counts": (expect(q3=16), ("q3", "you forgot the counts in the M-step")),
    "mistake_alpha_over_documents": (expect(q3=20), ("q3", "you normalised alpha over documents")),
    # EM through the dense (M, N, K) gamma: right, but it cannot hold the large corpus
    "dense_fit": (expect(q5=15), ("q5", OOM + ". The corpus is 2,000 x 15,000 with K = 20")),
    "partial": (expect(q3=20, q4=20, q5=15, q6=6, q7=5, q9=5), ("q3", "not attempted")),
    # hostile: NumPy and builtins patched in the worker (it breaks only the student's own
    # scipy/sympy/matplotlib code: fit_plsa, alpha_1, the plot); a memory bomb in fit_plsa
    "hostile_monkeypatch": (expect(q2=15, q3=20, q4=20, q5=15, q6=6, q7=5, q9=5), ("q2", "got nan")),
    "hostile_memory_bomb": (expect(q4=20, q5=15, q6=6), ("q4", OOM)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_scores(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected, diagnosis = CASES[name]
    result = grade(name)
    assert scores(result) == expected
    assert result.max_score == 100
    if diagnosis:
        question, text = diagnosis
        assert text in outputs(result, question)
    assert list(tmp_path.iterdir()) == []
    assert result.isolation == "bubblewrap"


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


def test_assignment_points_match_the_suite():
    import importlib
    import tomllib

    toml = tomllib.loads((Path(__file__).parents[2] / "assignments" / "plsa_em" / "assignment.toml").read_text())
    totals: dict[str, float] = {}
    for module in ("test_em_steps", "test_fit", "test_answers"):
        suite = importlib.import_module(f"autograder.suites.plsa_em.{module}")
        for name, test in vars(suite).items():
            for mark in getattr(test, "pytestmark", []) if name.startswith("test_") else []:
                if mark.name == "question":
                    totals[mark.args[0]] = totals.get(mark.args[0], 0) + mark.kwargs["points"]
    assert totals == {q: spec["points"] for q, spec in toml["questions"].items() if spec["points"]}
    assert {q: p for q, p in FULL.items() if p} == totals


def test_example_class_is_taken_from_the_corpus():
    examples = Path(__file__).parents[2] / "assignments" / "plsa_em" / "examples"
    names = sorted(p.name for p in examples.glob("*.ipynb"))
    assert names == ["hostile_memory_bomb.ipynb", "mistake_m_step_no_counts.ipynb",
                     "mistake_no_log_M.ipynb", "partial.ipynb", "solution.ipynb"]
    for name in names:
        assert (examples / name).read_bytes() == (CORPUS / name).read_bytes()
