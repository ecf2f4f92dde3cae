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
from dataclasses import dataclass, field
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
CREATE TABLE IF NOT EXISTS failures (  -- grading processes that died twice on a submission
    assignment TEXT NOT NULL,
    student    TEXT NOT NULL,
    digest     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    failed_at  TEXT NOT NULL,
    PRIMARY KEY (assignment, student)
);
CREATE TABLE IF NOT EXISTS manual (  -- written answers scored by hand; never dropped by a regrade
    assignment TEXT NOT NULL,
    student    TEXT NOT NULL,
    question   TEXT NOT NULL,
    points     REAL NOT NULL,
    max_points REAL NOT NULL,
    comment    TEXT NOT NULL,
    graded_at  TEXT NOT NULL,
    PRIMARY KEY (assignment, student, question)
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
    manual: dict[str, float] = field(default_factory=dict)  # written questions scored by hand


SCHEMA_VERSION = 3
"""``PRAGMA user_version`` of the gradebooks this version writes (1: before ``failures``,
2: before ``manual``); older ones are upgraded in place (tables are only added)."""

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class GradebookError(Exception):
    """The file is not a gradebook this version can use (corrupt, or from a newer version)."""


class Gradebook:
    """An SQLite gradebook at ``path`` (created when missing).

    Raises
    ------
    GradebookError
        The file is not an SQLite database, or was written by a newer version of mlhw: it is
        refused and left untouched, never overwritten.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise GradebookError(f"{self.path} was written by a newer version of mlhw "
                                     f"(gradebook format {version}; this one reads up to "
                                     f"{SCHEMA_VERSION}): upgrade mlhw to use it")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise GradebookError(f"{self.path} is not a gradebook mlhw can read ({exc}); it was "
                                 "left as it is") from None
        except GradebookError:
            self._db.close()
            raise

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
            self._db.execute("DELETE FROM failures WHERE assignment = ? AND student = ?", key)
            self._db.execute(
                "INSERT OR REPLACE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, result.submission, digest, result.score, result.max_score, str(result.seed),
                 result.execution_time, now, json.dumps(result.to_dict())),
            )
            self._db.executemany(
                "INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?)",
                [(*key, q.question, q.score, q.max_score, q.status.value) for q in result.questions()],
            )

    def record_failure(self, assignment: str, student: str, digest: str, reason: str) -> None:
        """Record that grading ``student``'s submission failed for good (not retried on later
        runs unless regraded); a later grade of the student replaces it."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
                             (assignment, student, digest, reason, now))

    def record_manual(self, assignment: str, student: str, question: str, points: float,
                      max_points: float, comment: str = "") -> None:
        """Store a hand-given score of a written question (replacing an earlier one)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO manual VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (assignment, student, question, points, max_points, comment, now))

    def manual_scores(self, assignment: str) -> dict[str, dict[str, tuple[float, float, str]]]:
        """student -> question -> (points, max points, comment) given by hand."""
        out: dict[str, dict[str, tuple[float, float, str]]] = {}
        for student, question, points, max_points, comment in self._db.execute(
                "SELECT student, question, points, max_points, comment FROM manual "
                "WHERE assignment = ?", (assignment,)):
            out.setdefault(student, {})[question] = (points, max_points, comment)
        return out

    def students(self, assignment: str) -> list[str]:
        """Every student with a grade of ``assignment``."""
        return [s for (s,) in self._db.execute(
            "SELECT student FROM grades WHERE assignment = ? ORDER BY student", (assignment,))]

    def failure(self, assignment: str, student: str, digest: str) -> str | None:
        """The recorded failure of this exact submission, or None."""
        row = self._db.execute(
            "SELECT reason FROM failures WHERE assignment = ? AND student = ? AND digest = ?",
            (assignment, student, digest)).fetchone()
        return None if row is None else row[0]

    def failures(self, assignment: str) -> dict[str, str]:
        """Every recorded grader failure of ``assignment``: student -> reason."""
        return dict(self._db.execute(
            "SELECT student, reason FROM failures WHERE assignment = ? ORDER BY student",
            (assignment,)))

    def rows(self, assignment: str) -> list[GradeRow]:
        """Every student's grade for ``assignment``, sorted by student."""
        per_question: dict[str, dict[str, float]] = {}
        for student, question, score in self._db.execute(
            "SELECT student, question, score FROM questions WHERE assignment = ?", (assignment,)
        ):
            per_question.setdefault(student, {})[question] = score
        manual = {s: {q: v[0] for q, v in qs.items()}
                  for s, qs in self.manual_scores(assignment).items()}
        return [
            GradeRow(student, score, max_score, per_question.get(student, {}), seconds, graded_at,
                     submission, manual.get(student, {}))
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

    def write_csv(self, path: str | Path, assignment: str,
                  manual_points: dict[str, float] | None = None) -> int:
        """One line per student: the autograded score and max, each question, then each written
        question's hand-given score (``manual_points``: question -> its points; default: the
        questions scored so far), the course total (autograded + manual), and a note such as a
        grader failure. Returns the number of rows. No cell starts a formula: student text
        (names, paths) starting with ``= + - @`` gets a leading quote, as spreadsheets expect."""
        rows = self.rows(assignment)
        failures = self.failures(assignment)
        questions = question_names(rows)
        if manual_points is None:
            manual_points = {q: m for qs in self.manual_scores(assignment).values()
                             for q, (_, m, _) in qs.items()}
        written = sorted(manual_points, key=question_key)
        manual_max = sum(manual_points.values())
        lines = [[row.student, f"{row.score:g}", f"{row.max_score:g}",
                  *(f"{row.questions[q]:g}" if q in row.questions else "" for q in questions),
                  *(f"{row.manual[q]:g}" if q in row.manual else "" for q in written),
                  f"{row.score + sum(row.manual.values()):g}", f"{row.max_score + manual_max:g}",
                  row.graded_at, row.submission,
                  "" if all(q in row.manual for q in written) else "written answers to grade"]
                 for row in rows]
        lines += [[student, "", "", *([""] * (len(questions) + len(written) + 2)), "", "", reason]
                  for student, reason in failures.items()]
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "score", "max_score", *questions,
                             *(f"{q}_manual" for q in written), "course_total", "course_max",
                             "graded_at", "submission", "note"])
            for line in sorted(lines, key=lambda cells: cells[0]):
                writer.writerow([_safe_cell(cell) for cell in line])
        return len(lines)


def question_names(rows: list[GradeRow]) -> list[str]:
    """The questions that appear in ``rows``, in question order."""
    return sorted({q for row in rows for q in row.questions}, key=question_key)


def _safe_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text (numbers are written by us and start with a
    digit or are negative only for scores, which are never negative)."""
    return "'" + text if text.startswith(_FORMULA_START) else text
