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
