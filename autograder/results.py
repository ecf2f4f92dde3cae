"""Result records of one graded submission, serialised in exactly one place.

Every reporter (Gradescope, JUnit, JSON, terminal, gradebook) reads these frozen dataclasses;
only ``to_dict``/``from_dict`` here know the field names of our own schema. Hidden material
(suite source, reference values beyond the numbers a check message quotes) is never put into
a result, so a result can be shown to its student as it is.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

SCHEMA = "mlhw-result/1"

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
"""Gradescope's visibility values: when a student may see a test."""

STDOUT_CAP = 20_000
"""Characters of the student's captured output kept in a result (the tail is cut)."""


class Status(str, enum.Enum):
    """How one test ended."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not_attempted"  # the stub still raises NotImplementedError
    ERROR = "error"  # the student's code crashed, timed out or raised
    GRADER_ERROR = "grader_error"  # a bug in the grader or its suite: not the student's fault
    MANUAL = "manual"  # collected for manual grading (written answers)


def question_key(question: str) -> tuple[int, str]:
    """Sort key that puts ``q2`` before ``q10`` (questions without a number last)."""
    digits = "".join(ch for ch in question if ch.isdigit())[:9]  # never a huge int()
    return (int(digits) if digits else 10**6, question)


def cap_text(text: str, limit: int = STDOUT_CAP) -> str:
    """``text`` cut to at most ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    note = f"\n... [output cut: {len(text) - limit} more characters]"
    return text[: max(0, limit - len(note))] + note


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return value


@dataclass(frozen=True)
class TestResult:
    """One test of a suite: its points, outcome and the message the student sees."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    number: str
    question: str
    score: float
    max_score: float
    status: Status
    output: str = ""
    visibility: str = "visible"
    duration: float = 0.0
    student_seconds: float = 0.0  # of ``duration``, in the student's calls (round trips)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "score", _number(self.score, f"score of {self.name!r}"))
        object.__setattr__(
            self, "max_score", _number(self.max_score, f"max_score of {self.name!r}")
        )
        object.__setattr__(self, "duration", _number(self.duration, f"duration of {self.name!r}"))
        object.__setattr__(self, "student_seconds",
                           _number(self.student_seconds, f"student_seconds of {self.name!r}"))
        if self.visibility not in VISIBILITIES:
            raise ValueError(
                f"visibility of test {self.name!r} is {self.visibility!r}; use one of {VISIBILITIES}"
            )
        if self.max_score < 0 or not 0 <= self.score <= self.max_score + 1e-9:
            raise ValueError(
                f"test {self.name!r} has score {self.score} out of {self.max_score}; "
                "a score must lie in [0, max_score]"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "number": self.number,
            "question": self.question,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status.value,
            "output": self.output,
            "visibility": self.visibility,
            "duration": self.duration,
            "student_seconds": self.student_seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestResult:
        return cls(
            name=data["name"],
            number=data["number"],
            question=data["question"],
            score=data["score"],
            max_score=data["max_score"],
            status=Status(data["status"]),
            output=data.get("output", ""),
            visibility=data.get("visibility", "visible"),
            duration=data.get("duration", 0.0),
            student_seconds=data.get("student_seconds", 0.0),
        )


@dataclass(frozen=True)
class WrittenAnswer:
    """Free prose collected for manual grading (worth no automatic points); ``answered`` is
    False (and ``text`` empty) when nothing was written."""

    question: str
    text: str
    answered: bool = True

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"question": self.question, "text": self.text}
        if not self.answered:
            data["answered"] = False
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WrittenAnswer:
        return cls(question=data["question"], text=data["text"],
                   answered=data.get("answered", True) is not False)


@dataclass(frozen=True)
class QuestionSummary:
    """The tests of one question taken together."""

    question: str
    score: float
    max_score: float
    status: Status


def question_status(statuses: list[Status]) -> Status:
    """One status for a question from its tests' statuses (worst news first)."""
    kinds = set(statuses) - {Status.MANUAL}
    if not kinds:
        return Status.MANUAL
    if Status.GRADER_ERROR in kinds:
        return Status.GRADER_ERROR
    if kinds == {Status.NOT_ATTEMPTED}:
        return Status.NOT_ATTEMPTED
    if Status.ERROR in kinds:
        return Status.ERROR
    if kinds == {Status.PASSED}:
        return Status.PASSED
    return Status.FAILED  # some failed, or only part of the question was attempted


@dataclass(frozen=True)
class SubmissionResult:
    """Everything the grader concluded about one submission."""

    assignment: str
    submission: str
    tests: tuple[TestResult, ...]
    execution_time: float = 0.0
    isolation: str = ""
    seed: int = 0
    messages: tuple[str, ...] = ()  # load problems etc., shown to the student
    written: tuple[WrittenAnswer, ...] = ()
    stdout: str = field(default="", repr=False)
    # the student's figures as plain data (reporters/html.py's plain_figure), for feedback
    figures: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tests", tuple(self.tests))
        object.__setattr__(self, "messages", tuple(self.messages))
        object.__setattr__(self, "written", tuple(self.written))
        object.__setattr__(self, "figures", tuple(self.figures))
        object.__setattr__(self, "stdout", cap_text(self.stdout or ""))
        object.__setattr__(self, "execution_time", _number(self.execution_time, "execution_time"))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"seed must be an int, got {self.seed!r}")

    @property
    def score(self) -> float:
        return float(sum(t.score for t in self.tests))

    @property
    def max_score(self) -> float:
        return float(sum(t.max_score for t in self.tests))

    def questions(self) -> list[QuestionSummary]:
        """Per-question totals, in the order the questions first appear (written ones last)."""
        grouped: dict[str, list[TestResult]] = {}
        for test in self.tests:
            grouped.setdefault(test.question, []).append(test)
        out = [
            QuestionSummary(
                question=q,
                score=float(sum(t.score for t in ts)),
                max_score=float(sum(t.max_score for t in ts)),
                status=question_status([t.status for t in ts]),
            )
            for q, ts in grouped.items()
        ]
        for question in dict.fromkeys(w.question for w in self.written):
            if question not in grouped:
                out.append(QuestionSummary(question, 0.0, 0.0, Status.MANUAL))
        return out

    def student_view(
        self, *, after_due_date: bool = False, published: bool = False
    ) -> SubmissionResult:
        """The result as its student may see it now: tests not yet visible are left out."""
        shown = {"visible"}
        if after_due_date:
            shown.add("after_due_date")
        if published:
            shown.update({"after_due_date", "after_published"})
        return replace(self, tests=tuple(t for t in self.tests if t.visibility in shown))

    def instructor_view(self) -> SubmissionResult:
        """Everything (instructors see every test)."""
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "assignment": self.assignment,
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": self.execution_time,
            "isolation": self.isolation,
            "seed": self.seed,
            "messages": list(self.messages),
            "tests": [t.to_dict() for t in self.tests],
            "written": [w.to_dict() for w in self.written],
            "stdout": self.stdout,
            **({"figures": list(self.figures)} if self.figures else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubmissionResult:
        schema = data.get("schema", SCHEMA)
        if schema != SCHEMA:
            raise ValueError(f"this is a {schema!r} result; this grader reads {SCHEMA!r}")
        return cls(
            assignment=data["assignment"],
            submission=data["submission"],
            tests=tuple(TestResult.from_dict(t) for t in data["tests"]),
            execution_time=data.get("execution_time", 0.0),
            isolation=data.get("isolation", ""),
            seed=data.get("seed", 0),
            messages=tuple(data.get("messages", ())),
            written=tuple(WrittenAnswer.from_dict(w) for w in data.get("written", ())),
            stdout=data.get("stdout", ""),
            figures=tuple(data.get("figures", ())),
        )
