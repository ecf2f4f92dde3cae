"""Exceptions shared by the grader: student-caused errors and failed checks.

Only `CheckFailed` and `StudentError` messages are shown to students, so every message here
says what the student's code did in plain words and never contains grader paths or source.
"""

from __future__ import annotations


class CheckFailed(AssertionError):
    """A check found the student's answer wrong; the message is safe to show to the student."""


class SubmissionError(Exception):
    """The file cannot be graded; the message says why and is safe to show to the student."""


class StudentError(Exception):
    """Something the student's code did; the message is safe to show to the student.

    Attributes
    ----------
    kind : str
        One of ``"not_attempted"``, ``"missing"``, ``"exception"``, ``"timeout"``,
        ``"crashed"``, ``"bad_return"``, ``"memory"`` (a crash caused by the memory limit).
    """

    kind: str = "error"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind

    @property
    def message(self) -> str:
        return str(self)


class NotAttempted(StudentError):
    """The stub still raises ``NotImplementedError``."""

    kind = "not_attempted"


class MissingName(StudentError, AttributeError):
    """The notebook does not define the requested name (an AttributeError too, so that
    ``getattr(student, name, default)`` and ``hasattr`` work on the proxy)."""

    kind = "missing"


class StudentException(StudentError):
    """The student's function raised an exception.

    Attributes
    ----------
    exc_type : str
        Name of the exception class raised by the student's code, e.g. ``"ValueError"``.
    exc_message : str
        ``str()`` of that exception.
    traceback : str
        The last lines of the traceback inside the student's own cells (no grader frames).
    """

    kind = "exception"

    def __init__(
        self, message: str, *, exc_type: str = "", exc_message: str = "", traceback: str = ""
    ) -> None:
        super().__init__(message)
        self.exc_type = exc_type
        self.exc_message = exc_message
        self.traceback = traceback


class StudentTimeout(StudentError):
    """A call (or the whole submission) ran past its wall-clock limit."""

    kind = "timeout"


class StudentCrashed(StudentError):
    """The worker process died (exit, signal, memory); ``kind`` is ``"memory"`` for OOM."""

    kind = "crashed"


class BadReturn(StudentError):
    """The student's code returned (or sent) something that is not plain data."""

    kind = "bad_return"


__all__ = [
    "BadReturn",
    "CheckFailed",
    "MissingName",
    "NotAttempted",
    "StudentCrashed",
    "StudentError",
    "StudentException",
    "StudentTimeout",
]


class GraderError(Exception):
    """The grader itself cannot run (unknown assignment, broken suite)."""
