"""What a callback from the worker may ask of the grader.

Student code calls the grader's functions (an activation it was given, a reference function
lent by a fair-grades retry); the arguments come from the worker, so they are bounded before
the grader computes anything: no array dimension larger than twice the largest of the call
the function was handed to in (derived arrays such as the l + 1 activations of l layers
stay within that), nor more elements in all than four times that call's; and keyword
arguments only where a Python function names them — never to a NumPy function, where
``where=`` or ``out=`` could make the grader allocate at will.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_DIM = 64  # small calls may still use small helpers of their own sizes
MIN_ELEMENTS = 4096


@dataclass(frozen=True)
class ArrayBounds:
    """The sizes of one call's arguments: the largest dimension and the total elements."""

    max_dim: int
    elements: int


def _arrays(value: Any, depth: int = 0):
    if depth > 20:
        return
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item, depth + 1)


def array_bounds(value: Any) -> ArrayBounds:
    """The bounds a call with arguments ``value`` sets for the callbacks it makes."""
    arrays = list(_arrays(value))
    return ArrayBounds(max((max(a.shape, default=1) for a in arrays), default=0),
                       sum(a.size for a in arrays))


def callback_arguments(fn: Callable[..., Any], args: tuple, kwargs: dict,
                       bounds: ArrayBounds) -> tuple[tuple, dict]:
    """``(args, kwargs)`` to call ``fn`` with, or TypeError/ValueError saying why not (the
    student's code sees it as an exception raised by the grader's function)."""
    name = getattr(fn, "__name__", "the grader's function")
    if kwargs:
        if not inspect.isfunction(fn):
            raise TypeError(f"{name}() takes positional arguments only (got "
                            f"{', '.join(sorted(kwargs))}=)")
        bound = inspect.signature(fn).bind(*args, **kwargs)  # TypeError for unknown names
        args, kwargs = bound.args, bound.kwargs
    max_dim = max(2 * bounds.max_dim, MIN_DIM)
    total = 0
    for array in _arrays((args, kwargs)):
        if array.ndim and max(array.shape) > max_dim:
            raise ValueError(f"{name}() was called with an array of shape {array.shape}; "
                             f"here it accepts no dimension above {max_dim} (twice the "
                             "largest in the call that handed it to your code)")
        total += array.size
    if total > 4 * bounds.elements + MIN_ELEMENTS:
        raise ValueError(f"{name}() was called with {total} array elements; here it accepts "
                         f"at most {4 * bounds.elements + MIN_ELEMENTS}")
    return args, kwargs
