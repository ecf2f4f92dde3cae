"""Whether a function changed its arguments in place: one walk over two values, used by the
grader's proxy (on the arguments the worker sent back), by `assert_not_mutated` in suites and
by the student's ``check()`` (on a snapshot taken before the call)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import CheckFailed


def snapshot(value: Any) -> Any:
    """A copy of the arrays (inside tuples, lists and dicts) among a call's arguments."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) in (tuple, list):
        return type(value)(snapshot(v) for v in value)
    if type(value) is dict:
        return {k: snapshot(v) for k, v in value.items()}
    return value


Step = tuple[str, Any]  # ("entry", a dict key) or ("element", a list or tuple index)


def differences(
    old: Any, new: Any, path: tuple[Step, ...] = ()
) -> Iterator[tuple[tuple[Step, ...], str]]:
    """``(path, what changed)`` for each place where ``new`` differs from ``old``.

    Arrays compare by shape, dtype and values (NaN equals NaN); dicts by their keys, then
    entry by entry; lists and tuples by type and length, then element by element; anything
    else by type and value. A Generator or a function is never compared: a function is
    expected to draw from its ``rng``. The very same object is unchanged, as far as this
    can tell.
    """
    if old is new or isinstance(old, np.random.Generator) or callable(old):
        return
    if isinstance(old, np.ndarray):
        if not (
            isinstance(new, np.ndarray) and new.shape == old.shape and new.dtype == old.dtype
        ):
            yield path, "its shape or type changed"
        elif not np.array_equal(old, new, equal_nan=old.dtype.kind in "fc"):
            if old.dtype.kind in "fc":
                diff = ~((old == new) | (np.isnan(old) & np.isnan(new)))
            else:
                diff = old != new
            yield path, f"{int(diff.sum())} of {old.size} entries changed"
        return
    if isinstance(old, Mapping):
        if not isinstance(new, Mapping) or set(old) != set(new):
            yield path, "keys were added or removed"
            return
        for key in old:
            yield from differences(old[key], new[key], (*path, ("entry", key)))
        return
    if isinstance(old, list | tuple):
        if type(new) is not type(old) or len(new) != len(old):
            yield path, "elements were added or removed"
            return
        for i, (o, n) in enumerate(zip(old, new)):
            yield from differences(o, n, (*path, ("element", i)))
        return
    if isinstance(old, float) and isinstance(new, float) and old != old and new != new:
        return  # NaN stays NaN
    try:
        same = type(new) is type(old) and bool(new == old)
    except Exception:  # noqa: BLE001 - a value that cannot say whether it is equal
        return
    if not same:
        yield path, "its value changed"


def path_text(where: str, path: tuple[Step, ...]) -> str:
    """``where['W1'][0]``: a path of `differences` written as Python indexing."""
    return where + "".join(f"[{key!r}]" for _, key in path)


def assert_not_mutated(
    before: Sequence[Any] | Mapping[str, Any],
    after: Sequence[Any] | Mapping[str, Any],
    names: Sequence[str] | None = None,
    *,
    called: str | None = None,
) -> None:
    """Raise CheckFailed if a function changed an argument in place.

    ``before``/``after`` are the arguments before and after the call, as sequences (named by
    ``names``) or as mappings from names to values.
    """
    if isinstance(before, Mapping):
        pairs = [(k, before[k], after[k]) for k in before]  # type: ignore[index]
    else:
        labels = list(names) if names is not None else [f"#{i + 1}" for i in range(len(before))]
        pairs = list(zip(labels, before, after, strict=True))
    who = called or "your function"
    for label, old, new in pairs:
        found = next(differences(old, new), None)
        if found is not None:
            path, what = found
            inside = "".join(f"{kind} {key!r}: " for kind, key in path)
            how = (
                f"work on a copy (e.g. {label} = {label}.copy())"
                if isinstance(old, np.ndarray)
                else "build new arrays instead of updating these (e.g. W = W - lr * dW, "
                "not W -= lr * dW)"
            )
            raise CheckFailed(
                f"{who} changed its argument {label!r} in place ({inside}{what}). "
                f"Functions must not modify their inputs: {how}."
            )
