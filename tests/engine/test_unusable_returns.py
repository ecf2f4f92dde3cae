"""A return value of the wrong kind is the student's wrong answer with a message, never an
internal grader error; a genuine fault of a suite still is one."""

import shutil

import pytest

from autograder import suites
from autograder.results import Status
from autograder.runner import GradeOptions, grade_submission

SUITE = '''
import pytest

REFERENCE = "math"


@pytest.mark.question("q1", points=1)
def test_pair(student):
    u, h = student.pair(2)
    assert u == 2 and h == 4


@pytest.mark.question("q2", points=1)
def test_suite_bug(student):
    student.pair(1)
    {}["missing"]  # a fault of the suite itself
'''


@pytest.fixture
def suite(tmp_path, monkeypatch):
    root = tmp_path / "suites"
    (root / "returns").mkdir(parents=True)
    shutil.copy(suites.SUITES / "pytest.ini", root)
    (root / "returns" / "test_returns.py").write_text(SUITE)
    monkeypatch.setattr(suites, "SUITES", root)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("body,shown", [
    ("return None", "returned None"),
    ("return x", "returned 2"),
    ("return (x,)", "returned (2,)"),
])
def test_a_return_that_cannot_be_unpacked_fails_the_check(suite, body, shown):
    (suite / "s.py").write_text(f"def pair(x):\n    {body}\n")
    result = grade_submission(suite / "s.py", "returns", GradeOptions(seed=1))
    test = next(t for t in result.tests if t.question == "q1")
    assert test.status is Status.FAILED and shown in test.output
    assert "which is not what the question asks for" in test.output


def test_a_fault_of_the_suite_stays_a_grader_error(suite):
    (suite / "s.py").write_text("def pair(x):\n    return x, x * x\n")
    result = grade_submission(suite / "s.py", "returns", GradeOptions(seed=1))
    statuses = {t.question: t.status for t in result.tests}
    assert statuses == {"q1": Status.PASSED, "q2": Status.GRADER_ERROR}
