"""The SQLite gradebook: one row per student, replaced atomically, exported as CSV."""

import csv
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.gradebook import Gradebook
from autograder.results import Status, SubmissionResult, TestResult


def result(scores: dict[str, tuple[float, float]], seed: int = 1) -> SubmissionResult:
    tests = [TestResult(name=f"{q}: t", number=f"{q}.1", question=q, score=s, max_score=m,
                        status=Status.PASSED if s == m else Status.FAILED)
             for q, (s, m) in scores.items()]
    return SubmissionResult(assignment="deep_chain", submission="x.ipynb", tests=tuple(tests),
                            execution_time=1.5, seed=seed)


def test_record_then_read_back(tmp_path):
    with Gradebook(tmp_path / "g.db") as book:
        book.record("ann", "d1", result({"q1": (10, 10), "q10": (0, 5), "q2": (3, 20)}))
        book.record("bob", "d2", result({"q1": (0, 10), "q10": (5, 5), "q2": (20, 20)}))
        rows = book.rows("deep_chain")
        assert [(r.student, r.score, r.max_score) for r in rows] == [("ann", 13, 35), ("bob", 25, 35)]
        assert rows[0].questions == {"q1": 10, "q2": 3, "q10": 0}
        assert book.max_points("deep_chain") == {"q1": 10, "q2": 20, "q10": 5}
        assert book.result("deep_chain", "bob").score == 25
        assert book.result("deep_chain", "nobody") is None
        assert book.is_current("deep_chain", "ann", "d1")
        assert not book.is_current("deep_chain", "ann", "other digest")
        assert not book.is_current("plsa_em", "ann", "d1")


def test_regrading_replaces_the_row_never_adds_one(tmp_path):
    path = tmp_path / "g.db"
    with Gradebook(path) as book:
        book.record("ann", "d1", result({"q1": (0, 10), "q2": (0, 20)}))
    with Gradebook(path) as book:  # a later run
        book.record("ann", "d2", result({"q1": (10, 10)}))
        assert [(r.student, r.score, r.questions) for r in book.rows("deep_chain")] == [
            ("ann", 10, {"q1": 10})]
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM grades").fetchone() == (1,)
    assert db.execute("SELECT COUNT(*) FROM questions").fetchone() == (1,)


class DiskFailsMidWrite:
    """The gradebook's connection, failing at the per-question insert (like a full disk)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __getattr__(self, name):
        return getattr(self.db, name)

    def __enter__(self):
        return self.db.__enter__()

    def __exit__(self, *exc):
        return self.db.__exit__(*exc)

    def executemany(self, *args):
        raise sqlite3.OperationalError("disk I/O error")


def test_a_failed_write_leaves_the_earlier_grade_whole(tmp_path):
    with Gradebook(tmp_path / "g.db") as book:
        book.record("ann", "d1", result({"q1": (10, 10), "q2": (20, 20)}))
        real, book._db = book._db, DiskFailsMidWrite(book._db)
        with pytest.raises(sqlite3.OperationalError):
            book.record("ann", "d2", result({"q1": (0, 10), "q2": (0, 20)}))
        book._db = real
        row, = book.rows("deep_chain")
        assert (row.score, row.questions) == (30, {"q1": 10, "q2": 20})
        assert book.is_current("deep_chain", "ann", "d1")


def test_csv_has_one_line_per_student_and_questions_in_order(tmp_path):
    with Gradebook(tmp_path / "g.db") as book:
        book.record("bob", "d", result({"q10": (1, 5), "q2": (2.5, 20)}))
        book.record("ann", "d", result({"q2": (20, 20)}))
        assert book.write_csv(tmp_path / "g.csv", "deep_chain") == 2
    lines = list(csv.reader(open(tmp_path / "g.csv", encoding="utf-8")))
    assert lines[0][:5] == ["student", "score", "max_score", "q2", "q10"]
    assert [line[:5] for line in lines[1:]] == [["ann", "20", "20", "20", ""],
                                                ["bob", "3.5", "25", "2.5", "1"]]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**70), score=st.floats(0, 10))
def test_any_seed_and_score_round_trip(tmp_path_factory, seed, score):
    path = tmp_path_factory.mktemp("g") / "g.db"
    with Gradebook(path) as book:
        book.record("ann", "d", result({"q1": (score, 10)}, seed=seed))
        stored = book.result("deep_chain", "ann")
    assert stored.seed == seed and stored.score == score
