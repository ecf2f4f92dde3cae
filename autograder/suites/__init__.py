"""The hidden suites, one folder per assignment; finding one imports nothing heavy (the
`grade-class` command checks the name before it starts its grading processes)."""

from __future__ import annotations

import re
from pathlib import Path

from autograder.errors import GraderError

SUITES = Path(__file__).parent


def suite_dir(assignment: str) -> Path:
    """The folder of an assignment's hidden suite, or GraderError listing the known ones."""
    path = SUITES / assignment
    if not re.fullmatch(r"[a-z0-9_]+", assignment) or not path.is_dir():
        known = ", ".join(available_assignments()) or "none"
        raise GraderError(f"unknown assignment {assignment!r} (known: {known})")
    return path


def available_assignments() -> list[str]:
    """Assignments that have a suite."""
    return sorted(p.name for p in SUITES.iterdir() if p.is_dir() and any(p.glob("test_*.py")))
