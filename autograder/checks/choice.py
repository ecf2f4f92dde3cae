"""Multiple-choice answers: a string matched against the options, case and spacing ignored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import CheckFailed
from .text import short_text


def _choice_key(text: str) -> str:
    return " ".join(str(text).strip(" \t\r\n'\".").lower().split())


def assert_choice(
    answer: Any, expected: str, options: Sequence[str], *, name: str = "answer"
) -> None:
    """Raise CheckFailed unless ``answer`` is the ``expected`` option (case and spaces ignored).

    The message lists the options but never says which one is right.
    """
    keys = [_choice_key(o) for o in options]
    if _choice_key(expected) not in keys:
        raise ValueError(f"expected answer {expected!r} is not among the options {list(options)}")
    listed = ", ".join(repr(o) for o in options)
    prefix = "" if name == "answer" else f"{name}: "
    if not isinstance(answer, str):
        raise CheckFailed(
            f"{prefix}your answer should be one of the strings {listed}; "
            f"got {short_text(answer, 40)} ({type(answer).__name__})"
        )
    key = _choice_key(answer)
    if key not in keys:
        raise CheckFailed(
            f"{prefix}your answer {short_text(answer, 40)!r} is not one of the options {listed}"
        )
    if key != _choice_key(expected):
        raise CheckFailed(
            f"{prefix}your answer {short_text(answer, 40)!r} is not correct (options: {listed})"
        )
