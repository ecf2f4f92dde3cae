"""The runner on small suites written here: hypothesis inside a suite is seeded by the run."""

import shutil
from pathlib import Path

import pytest

from autograder import suites
from autograder.runner import GradeOptions, grade_submission

SUITE = '''
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

DRAWN = Path(__file__).parent / "drawn.txt"


@pytest.mark.question("q1", points=2, visibility="public")
@given(x=st.integers(-10**6, 10**6))
def test_square(student, x):
    with DRAWN.open("a") as f:
        f.write(f"{x}\\n")
    assert student.square(x) == x * x, f"square({x}) is wrong"
'''


@pytest.fixture
def suite(tmp_path, monkeypatch, request) -> Path:
    """A suite folder of its own per test (pytest keeps a suite module imported by name)."""
    root = tmp_path / "suites"
    folder = root / request.node.name.removeprefix("test_")[:40]
    folder.mkdir(parents=True)
    shutil.copy(suites.SUITES / "pytest.ini", root)
    (folder / f"test_{folder.name}.py").write_text(SUITE)
    monkeypatch.setattr(suites, "SUITES", root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return folder


def grade(suite: Path, code: str, seed: int) -> tuple[float, list[str]]:
    sub = suite.parent.parent / "sub.py"
    sub.write_text(code)
    drawn = suite / "drawn.txt"
    drawn.unlink(missing_ok=True)
    result = grade_submission(sub, suite.name, GradeOptions(seed=seed))
    return result.score, drawn.read_text().split()


def test_hypothesis_suite_grades_and_is_reproducible_from_the_seed(suite, tmp_path):
    score, first = grade(suite, "def square(x):\n    return x * x\n", seed=7)
    assert score == 2
    assert len(first) > 5
    _, again = grade(suite, "def square(x):\n    return x ** 2\n", seed=7)
    assert again == first
    _, other = grade(suite, "def square(x):\n    return x * x\n", seed=8)
    assert other != first
    assert not (tmp_path / ".hypothesis").exists()  # nothing written where mlhw runs


def test_hypothesis_finds_a_wrong_submission(suite):
    score, drawn = grade(suite, "def square(x):\n    return x * abs(x)\n", seed=7)
    assert score == 0
    assert any(int(x) < 0 for x in drawn)


def test_only_the_chosen_questions_tests_run(suite):
    (suite / "test_more.py").write_text(
        "import pytest\n\n\n@pytest.mark.question('q2', points=3)\n"
        "def test_cube(student):\n    assert student.square(2) ** 1.5 == 8\n")
    sub = suite.parent.parent / "sub.py"
    sub.write_text("def square(x):\n    return x * x\n")
    every = grade_submission(sub, suite.name, GradeOptions(seed=1))
    assert [q.question for q in every.questions()] == ["q1", "q2"]
    only = grade_submission(sub, suite.name, GradeOptions(seed=1, questions=frozenset({"q2"})))
    assert [(t.question, t.score) for t in only.tests] == [("q2", 3.0)]


KEPT_SUITE = '''
import pytest

SET_UP = []


@pytest.fixture(scope="module")
def shared():
    SET_UP.append("set up")
    yield
    SET_UP.append("torn down")


@pytest.mark.question("q1", points=1)
def test_square(student, shared):
    assert student.square(3) == 9, f"square(3) is {student.square(3)}"


@pytest.mark.question("q2", points=2)
def test_module_fixture_is_this_students(student, shared):
    assert SET_UP[-1] == "set up"
'''


def test_a_kept_session_grades_each_submission_afresh(suite):
    """A grading process keeps the suite's pytest session: each submission is graded as a
    fresh session would grade it (hypothesis draws from its seed, module fixtures set up
    for it and torn down after its last test, the question filter its own)."""
    import importlib

    from autograder import runner

    (suite / "test_kept.py").write_text(KEPT_SUITE)
    sub = suite.parent.parent / "sub.py"
    right, wrong = "def square(x):\n    return x * x\n", "def square(x):\n    return x * abs(x) + 1\n"

    def graded(code: str, seed: int, **options) -> tuple[list, list[str]]:
        sub.write_text(code)
        (suite / "drawn.txt").unlink(missing_ok=True)
        result = grade_submission(sub, suite.name, GradeOptions(seed=seed, **options))
        return [(t.question, t.score) for t in result.tests], (suite / "drawn.txt").read_text().split()

    fresh = [graded(code, seed) for code, seed in ((right, 3), (wrong, 4), (right, 5))]
    try:
        kept = [graded(code, seed, keep_suite=True) for code, seed in ((right, 3), (wrong, 4), (right, 5))]
        assert kept == fresh
        assert fresh[0][0] == [("q1", 2.0), ("q1", 1.0), ("q2", 2.0)]
        assert fresh[1][0] == [("q1", 0.0), ("q1", 0.0), ("q2", 2.0)]
        assert len(runner._KEPT) == 1
        module = importlib.import_module(f"{suite.name}.test_kept")  # pytest's importlib name
        assert module.SET_UP[-6:] == ["set up", "torn down"] * 3
        sub.write_text(right)
        only = grade_submission(sub, suite.name, GradeOptions(seed=1, keep_suite=True,
                                                              questions=frozenset({"q2"})))
        assert [(t.question, t.score) for t in only.tests] == [("q2", 2.0)]
    finally:
        for session, _ in runner._KEPT.values():
            session.close()
        runner._KEPT.clear()
