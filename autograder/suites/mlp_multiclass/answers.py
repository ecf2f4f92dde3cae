"""Reading module-level answers (symbolic and derivations) and naming known wrong ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from autograder.checks import assert_equivalent
from autograder.errors import BadReturn, CheckFailed, NotAttempted


def answer(student: Any, name: str) -> Any:
    """The module-level answer ``name``; the stub's ``...`` is "not attempted"."""
    try:
        value = student[name]
    except BadReturn as exc:  # the stub's `name = ...` may arrive as an unsupported ellipsis
        if "ellipsis" in str(exc):
            raise NotAttempted(f"`{name}` is not attempted yet (it is still `...`)") from None
        raise
    if value is Ellipsis:
        raise NotAttempted(f"`{name}` is not attempted yet (it is still `...`)")
    return value


def _is(value: Any, expected: Any, symbols: dict[str, sympy.Symbol], **kwargs: Any) -> bool:
    try:
        assert_equivalent(value, expected, symbols, **kwargs)
    except CheckFailed:
        return False
    return True


def equivalent_or_diagnose(value: Any, expected: Any, symbols: dict[str, sympy.Symbol],
                           mistakes: Sequence[tuple[Any, str]], *, name: str,
                           **kwargs: Any) -> None:
    """assert_equivalent, with the words of the known mistake the answer matches added."""
    try:
        assert_equivalent(value, expected, symbols, name=name, **kwargs)
    except CheckFailed as exc:
        for wrong, words in mistakes:
            if _is(value, wrong, symbols, **kwargs):
                raise CheckFailed(f"{exc}\n{words}") from None
        raise
