"""A class run under hostile input: a grading process killed, links out of the class folder,
student text that a spreadsheet would run, a gradebook this version must not touch."""

import csv
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from autograder.batch import ClassSubmission, digest, find_submissions
from autograder.gradebook import Gradebook, GradebookError
from autograder.grading_processes import DIED_TWICE, GradingProcesses
from autograder.results import Status, SubmissionResult, TestResult, question_key


def dies_on_eve_and_once_on_fred(path: str, marker: str) -> str:
    """A stand-in for grading one file, run in a grading process."""
    name = Path(path).stem
    if name == "eve" or (name == "fred" and not os.path.exists(marker)):
        if name == "fred":
            Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return f"graded {name}"


def test_a_killed_grading_process_costs_one_student_retried_once(tmp_path):
    marker = str(tmp_path / "fred-died-once")
    tasks = [((str(tmp_path / f"{s}.ipynb"), marker), (ClassSubmission(s, tmp_path / s), "sha"))
             for s in ("ann", "eve", "fred", "gil")]
    with GradingProcesses(2, dies_on_eve_and_once_on_fred) as processes:
        outcomes = {sub.student: outcome for sub, _, outcome in processes.map(tasks)}
    assert outcomes == {"ann": "graded ann", "eve": DIED_TWICE, "fred": "graded fred",
                        "gil": "graded gil"}
    assert processes.deaths == {"eve": "the grader failed on this submission: its grading "
                                       "process died twice (killed by SIGKILL)"}


def test_a_failure_is_recorded_not_retried_and_replaced_by_a_later_grade(tmp_path):
    with Gradebook(tmp_path / "g.db") as book:
        book.record_failure("deep_chain", "eve", "d1", "died twice")
        assert book.failure("deep_chain", "eve", "d1") == "died twice"
        assert book.failure("deep_chain", "eve", "d2") is None  # a new submission is graded
        book.write_csv(tmp_path / "g.csv", "deep_chain")
        rows = list(csv.DictReader(open(tmp_path / "g.csv", encoding="utf-8")))
        assert rows == [{"student": "eve", "score": "", "max_score": "", "course_total": "",
                         "course_max": "", "graded_at": "", "submission": "",
                         "note": "died twice"}]
        book.record("eve", "d2", _result("q1", 3))
        assert book.failures("deep_chain") == {}


def _result(question: str, score: float, submission: str = "x.ipynb") -> SubmissionResult:
    test = TestResult(name=f"{question}: t", number=f"{question}.1", question=question,
                      score=score, max_score=10, status=Status.FAILED)
    return SubmissionResult(assignment="deep_chain", submission=submission, tests=(test,),
                            execution_time=1.0, seed=1)


def test_no_csv_cell_starts_a_formula(tmp_path):
    with Gradebook(tmp_path / "g.db") as book:
        book.record("=HYPERLINK(\"http://x\")", "d", _result("q1", 1, "@SUM(A1).ipynb"))
        book.record("-2+3", "d", _result("q1", 2, "+cmd.ipynb"))
        book.write_csv(tmp_path / "g.csv", "deep_chain")
    cells = [c for row in csv.reader(open(tmp_path / "g.csv", encoding="utf-8")) for c in row]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'-2+3" in cells
    assert "'@SUM(A1).ipynb" in cells and "'+cmd.ipynb" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_a_question_name_of_thousands_of_digits_sorts_without_a_crash():
    assert question_key("q" + "9" * 5000) > question_key("q2")


@pytest.mark.parametrize("layout", ["file", "folder", "nbgrader"])
def test_links_in_a_class_folder_are_refused_never_followed(tmp_path, layout):
    secret = tmp_path / "host_secret.py"
    secret.write_text("TOKEN = 'do not leak'\n")
    folder = tmp_path / "class"
    folder.mkdir()
    if layout == "file":
        (folder / "eve.py").symlink_to(secret)
    elif layout == "folder":
        (folder / "eve").mkdir()
        (folder / "eve" / "answer.py").symlink_to(secret)
    else:
        (folder / "eve" / "deep_chain").mkdir(parents=True)
        (folder / "eve" / "deep_chain" / "deep_chain.py").symlink_to(secret)
    (found,) = find_submissions(folder, "deep_chain")
    assert found.student == "eve" and "symbolic link" in found.refused
    assert "do not leak" not in digest(found.path)  # a hash of the link, never its target
    secret.write_text("TOKEN = 'changed'\n")
    assert digest(found.path) == digest(found.path)


@pytest.mark.slow
def test_a_refused_link_is_graded_zero_with_the_reason(tmp_path):
    from autograder.runner import GradeOptions, grade_submission

    secret = tmp_path / "host_secret.py"
    secret.write_text("def chain_forward(x, w, b=None):\n    raise ValueError('do not leak')\n")
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "eve.py").symlink_to(secret)
    (found,) = find_submissions(tmp_path / "class", "deep_chain")
    result = grade_submission(found.path, "deep_chain", GradeOptions(seed=1), refused=found.refused)
    assert result.score == 0
    assert all("symbolic link" in t.output for t in result.tests if t.status is not Status.MANUAL)
    assert "do not leak" not in str(result.to_dict())


def test_a_gradebook_from_a_newer_version_or_corrupt_is_refused_untouched(tmp_path):
    newer = tmp_path / "newer.db"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = newer.read_bytes()
    with pytest.raises(GradebookError, match="newer version of mlhw"):
        Gradebook(newer)
    assert newer.read_bytes() == before
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"not a database at all" * 100)
    with pytest.raises(GradebookError, match="not a gradebook"):
        Gradebook(corrupt)
    assert corrupt.read_bytes() == b"not a database at all" * 100
