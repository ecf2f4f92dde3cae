"""Notes a passing test leaves for the student (e.g. "the loss of points is in q2").

A check that passes only because the grader lent it the reference's version of another
question's function still passes, but says so: `note` records the text for the test that
is running, and the runner shows it as that test's output.
"""

from __future__ import annotations

_current: list[str] | None = None


def note(text: str) -> None:
    """Attach ``text`` to the output of the test that is running (ignored outside a test)."""
    if _current is not None and text not in _current:
        _current.append(text)


def start() -> list[str]:
    """Begin collecting notes for a new test; returns the list they go into."""
    global _current
    _current = []
    return _current


def stop() -> None:
    global _current
    _current = None
