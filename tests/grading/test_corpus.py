"""Grade every notebook of the submission corpus and compare with its expected grade.

Each mistaken or hostile notebook is a correct solution with one part replaced, so its
expected scores say exactly which question must lose points and that every other question
is still graded in full. The cases are data (see corpus.py); ``--update-goldens`` rewrites
their scores from what the grader gives now and prints the diff.
"""

import shutil

import pytest
from corpus import all_cases, grade_options, outputs, rewrite_scores, scores

from autograder.runner import grade_submission

CASES = all_cases()


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case_gets_its_expected_grade(case, tmp_path, monkeypatch, request):
    monkeypatch.chdir(tmp_path)  # a forged results.json would land here if the sandbox leaked
    result = grade_submission(case.notebook, case.assignment, grade_options(case.assignment))
    got = scores(result)
    if request.config.getoption("--update-goldens") and got != case.scores:
        print(rewrite_scores(case, got))
    else:
        assert got == case.scores
    assert result.max_score == 100
    for question, words in case.feedback.items():
        for text in words:
            assert text in outputs(result, question), f"{question} feedback lacks {text!r}"
    assert list(tmp_path.iterdir()) == []
    assert len(result.stdout) <= 70_000
    if shutil.which("bwrap") and not result.isolation.startswith("not started"):
        assert result.isolation.startswith("bubblewrap; ")


def test_every_corpus_notebook_has_one_expected_grade():
    from corpus import SUBMISSIONS

    notebooks = set(SUBMISSIONS.glob("*/*.ipynb"))
    assert notebooks <= {c.notebook for c in CASES}
    assert all(c.notebook.is_file() for c in CASES)


ASSIGNMENTS = sorted({c.assignment for c in CASES})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_example_student_is_a_corpus_case(assignment):
    from corpus import ROOT

    examples = set((ROOT / "assignments" / assignment / "examples").glob("*.ipynb"))
    assert examples <= {c.notebook for c in CASES}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_agree_in_the_toml_the_suite_and_the_solution_case(assignment):
    """assignment.toml, the suite's question markers and the solution's expected grade."""
    import importlib
    import tomllib

    from corpus import ROOT, case

    toml = tomllib.loads((ROOT / "assignments" / assignment / "assignment.toml").read_text())
    totals: dict[str, float] = {}
    for path in sorted((ROOT / "autograder" / "suites" / assignment).glob("test_*.py")):
        suite = importlib.import_module(f"autograder.suites.{assignment}.{path.stem}")
        for name, test in vars(suite).items():
            for mark in getattr(test, "pytestmark", []) if name.startswith("test_") else []:
                if mark.name == "question":
                    totals[mark.args[0]] = totals.get(mark.args[0], 0) + mark.kwargs["points"]
    declared = {q: spec["points"] for q, spec in toml["questions"].items()}
    assert {q: p for q, p in declared.items() if p} == totals
    assert case(assignment, "solution").scores == {q: float(totals.get(q, 0)) for q in declared}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_worked_solution_scores_full_marks(assignment):
    from corpus import ROOT, case

    result = grade_submission(ROOT / "solutions" / assignment / "solution.ipynb", assignment,
                              grade_options(assignment))
    assert scores(result) == case(assignment, "solution").scores
    assert result.score == 100
