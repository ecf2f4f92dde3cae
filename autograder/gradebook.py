"""The class gradebook: one SQLite file, one row per (assignment, student).

Each graded submission is written in a single transaction (its grade, its per-question scores
and the full result), so a batch that is killed half-way leaves every finished student
recorded and no student half-recorded; `Gradebook.is_current` lets the next run skip them.
A student graded again replaces the earlier row, never adds a second one.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from autograder.results import SubmissionResult, question_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    assignment TEXT NOT NULL,
    student    TEXT NOT NULL,
    submission TEXT NOT NULL,   -- the path that was graded
    digest     TEXT NOT NULL,   -- sha256 of what was submitted
    score      REAL NOT NULL,
    max_score  REAL NOT NULL,
    seed       TEXT NOT NULL,   -- decimal (may exceed SQLite's 64-bit integers)
    seconds    REAL NOT NULL,   -- grading time
    graded_at  TEXT NOT NULL,   -- UTC, ISO 8601
    result     TEXT NOT NULL,   -- the full result as JSON (instructor view)
    PRIMARY KEY (assignment, student)
);
CREATE TABLE IF NOT EXISTS questions (
    assignment TEXT NOT NULL,
    student    TEXT NOT NULL,
    question   TEXT NOT NULL,
    score      REAL NOT NULL,
    max_score  REAL NOT NULL,
    status     TEXT NOT NULL,
    PRIMARY KEY (assignment, student, question)
);
"""


@dataclass(frozen=True)
class GradeRow:
    """One student's recorded grade."""

    student: str
    score: float
    max_score: float
    questions: dict[str, float]
    seconds: float
    graded_at: str
    submission: str


class Gradebook:
    """An SQLite gradebook at ``path`` (created when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_current(self, assignment: str, student: str, digest: str) -> bool:
        """Whether this exact submission of ``student`` is already graded."""
        row = self._db.execute(
            "SELECT digest FROM grades WHERE assignment = ? AND student = ?", (assignment, student)
        ).fetchone()
        return row is not None and row[0] == digest

    def record(self, student: str, digest: str, result: SubmissionResult) -> None:
        """Store ``result`` as ``student``'s grade, replacing an earlier one, atomically."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        key = (result.assignment, student)
        with self._db:  # one transaction: all of it or nothing
            self._db.execute("DELETE FROM questions WHERE assignment = ? AND student = ?", key)
            self._db.execute(
                "INSERT OR REPLACE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, result.submission, digest, result.score, result.max_score, str(result.seed),
                 result.execution_time, now, json.dumps(result.to_dict())),
            )
            self._db.executemany(
                "INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?)",
                [(*key, q.question, q.score, q.max_score, q.status.value) for q in result.questions()],
            )

    def rows(self, assignment: str) -> list[GradeRow]:
        """Every student's grade for ``assignment``, sorted by student."""
        per_question: dict[str, dict[str, float]] = {}
        for student, question, score in self._db.execute(
            "SELECT student, question, score FROM questions WHERE assignment = ?", (assignment,)
        ):
            per_question.setdefault(student, {})[question] = score
        return [
            GradeRow(student, score, max_score, per_question.get(student, {}), seconds, graded_at,
                     submission)
            for student, score, max_score, seconds, graded_at, submission in self._db.execute(
                "SELECT student, score, max_score, seconds, graded_at, submission FROM grades "
                "WHERE assignment = ? ORDER BY student", (assignment,)
            )
        ]

    def result(self, assignment: str, student: str) -> SubmissionResult | None:
        """The full stored result of one student, or None."""
        row = self._db.execute(
            "SELECT result FROM grades WHERE assignment = ? AND student = ?", (assignment, student)
        ).fetchone()
        return None if row is None else SubmissionResult.from_dict(json.loads(row[0]))

    def max_points(self, assignment: str) -> dict[str, float]:
        """Points of each question of ``assignment`` (as graded)."""
        return dict(self._db.execute(
            "SELECT question, MAX(max_score) FROM questions WHERE assignment = ? GROUP BY question",
            (assignment,)))

    def assignments(self) -> list[str]:
        return [a for (a,) in self._db.execute("SELECT DISTINCT assignment FROM grades ORDER BY 1")]

    def write_csv(self, path: str | Path, assignment: str) -> int:
        """One line per student (score, max, then each question); returns the number of rows."""
        rows = self.rows(assignment)
        questions = question_names(rows)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "score", "max_score", *questions, "graded_at", "submission"])
            for row in rows:
                writer.writerow([row.student, f"{row.score:g}", f"{row.max_score:g}",
                                 *(f"{row.questions[q]:g}" if q in row.questions else ""
                                   for q in questions),
                                 row.graded_at, row.submission])
        return len(rows)


def question_names(rows: list[GradeRow]) -> list[str]:
    """The questions that appear in ``rows``, in question order."""
    return sorted({q for row in rows for q in row.questions}, key=question_key)
