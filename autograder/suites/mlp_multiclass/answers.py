"""Reading module-level answers (symbolic and derivations) and naming known wrong ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from autograder.checks import assert_equivalent
from autograder.errors import CheckFailed


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
