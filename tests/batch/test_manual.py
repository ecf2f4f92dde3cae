"""Manual grading of written answers: pages side by side, scores by command or CSV, kept
across regrades, in the CSV's own columns and the course total."""

import csv
import subprocess
import sys

import pytest

from autograder import manual
from autograder.gradebook import Gradebook
from autograder.manual import ManualGradingError, import_scores, score, write_pages
from autograder.results import Status, SubmissionResult, TestResult, WrittenAnswer


@pytest.fixture
def assignments():
    """deep_chain's written q7 is worth 5 manual points (its assignment.toml says so)."""
    assert manual.manual_points("deep_chain") == {"q7": 5.0}
    return manual.ASSIGNMENTS


def result(score_: float, answer: str) -> SubmissionResult:
    test = TestResult(name="q1: t", number="q1.1", question="q1", score=score_, max_score=100,
                      status=Status.PASSED)
    return SubmissionResult(assignment="deep_chain", submission="x.ipynb", tests=(test,),
                            execution_time=1.0, seed=1, written=(WrittenAnswer("q7", answer),))


def test_scores_are_kept_across_a_regrade_and_counted_in_the_course_total(tmp_path, assignments):
    with Gradebook(tmp_path / "g.db") as book:
        book.record("ann", "d1", result(80, "tanh saturates at w = 5"))
        book.record("bob", "d1", result(60, "<script>alert(1)</script>"))
        assert score(book, "deep_chain", "ann", "q7", 4, "good").points == 5
        book.record("ann", "d2", result(90, "a resubmission"))  # the code is graded again
        book.write_csv(tmp_path / "g.csv", "deep_chain", manual.manual_points("deep_chain"))
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "g.csv", encoding="utf-8"))}
    assert rows["ann"]["q7_manual"] == "4" and rows["ann"]["course_total"] == "94"
    assert rows["ann"]["course_max"] == "105" and rows["ann"]["note"] == ""
    assert rows["bob"]["q7_manual"] == "" and rows["bob"]["note"] == "written answers to grade"


@pytest.mark.parametrize("student,question,points,message", [
    ("ann", "q1", 3, "no written question 'q1'"),
    ("ann", "q7", 6, "worth 0 to 5 points"),
    ("zed", "q7", 1, "no graded submission of 'zed'"),
])
def test_a_score_that_cannot_be_right_is_refused(tmp_path, assignments, student, question,
                                                 points, message):
    with Gradebook(tmp_path / "g.db") as book:
        book.record("ann", "d1", result(80, "text"))
        with pytest.raises(ManualGradingError, match=message):
            score(book, "deep_chain", student, question, points)


def test_a_csv_import_is_all_or_nothing(tmp_path, assignments):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("student,question,points,comment\nann,q7,5,clear\nbob,q7,2,\n")
    bad.write_text("student,question,points\nann,q7,1\nbob,q7,99\n")
    with Gradebook(tmp_path / "g.db") as book:
        for student in ("ann", "bob"):
            book.record(student, "d", result(50, "text"))
        with pytest.raises(ManualGradingError, match="line 3"):
            import_scores(book, "deep_chain", bad)
        assert book.manual_scores("deep_chain") == {}
        assert import_scores(book, "deep_chain", good) == 2
        assert book.manual_scores("deep_chain")["ann"]["q7"] == (5, 5, "clear")


def test_the_written_page_shows_every_answer_escaped_beside_the_model(tmp_path, assignments):
    with Gradebook(tmp_path / "g.db") as book:
        book.record("ann", "d", result(50, "tanh saturates"))
        book.record("bob", "d", result(50, "<script>alert(1)</script>"))
        score(book, "deep_chain", "ann", "q7", 3)
        (page,) = write_pages(book, "deep_chain", tmp_path / "pages")
    text = page.read_text()
    assert "tanh saturates" in text and "3 / 5" in text and "not scored yet" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "Model answer" in text


def test_score_command_says_what_is_wrong(tmp_path):
    with Gradebook(tmp_path / "g.db") as book:
        book.record("ann", "d", result(50, "text"))
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "score", str(tmp_path / "g.db"),
                          "-a", "deep_chain", "--student", "ann", "--question", "q1",
                          "--points", "1"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "no written question 'q1'" in run.stderr
