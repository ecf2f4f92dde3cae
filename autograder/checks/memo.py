"""Work done once per grading process for inputs that repeat from one submission to the next.

A class is graded by a few long-lived grading processes, one submission after another. Two
kinds of work there depend only on inputs that many submissions share, so they are done once
and remembered for the process's later submissions:

- the reference's result on a fixed, published input (`reference_once`), e.g. the published
  training runs of deep_chain, which are the same for every student (inputs drawn from a
  student's own seed never repeat, and stay secret);
- a symbolic check's verdict on an answer (`verdict_once`): the same answer text against the
  same expected expression always gets the same verdict (the checks draw their test points
  from a fixed seed), and most students write the right answer the same way.

Only plain data makes a key (numbers, strings, the text of a sympy answer from the worker,
tuples, lists, dicts, sympy expressions and NumPy arrays, the latter by a digest of their
bytes); anything else (a random Generator, a
callable) is not remembered. Cached values are copied on the way in and out, so a suite that
modifies what it got cannot change what the next submission gets. The memory is bounded.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

MAX_ENTRIES = 256
MAX_VALUE_BYTES = 64 * 2**20  # a larger reference result is recomputed, not kept

_memory: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()  # the reference may run in a helper thread (`alongside`)


class _Unkeyable(Exception):
    pass


def plain_key(value: Any) -> Hashable | None:
    """A hashable key that equals another's exactly when the two values are the same plain
    data; None when ``value`` holds anything that is not plain data."""
    try:
        return _key(value, 0)
    except (_Unkeyable, RecursionError):
        return None


def _key(value: Any, depth: int) -> Hashable:
    if depth > 20:
        raise _Unkeyable
    if value is None or type(value) in (bool, int, float, complex, str, bytes):
        return (type(value).__name__, value if type(value) is not float else value.hex())
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise _Unkeyable
        digest = hashlib.blake2b(np.ascontiguousarray(array).view(np.uint8).data, digest_size=20)
        return ("ndarray" if isinstance(value, np.ndarray) else "scalar", array.dtype.str,
                array.shape, digest.digest())
    if isinstance(value, str) and type(value).__name__ == "SymbolicText":  # a sympy answer
        return ("SymbolicText", str(value))
    if type(value) in (tuple, list):
        return (type(value).__name__, *(_key(v, depth + 1) for v in value))
    if type(value) is dict:
        return ("dict", *sorted((_key(k, depth + 1), _key(v, depth + 1)) for k, v in value.items()))
    if _is_sympy(value):
        import sympy

        return ("sympy", sympy.srepr(value))
    raise _Unkeyable


def _is_sympy(value: Any) -> bool:
    return type(value).__module__.startswith("sympy.") and hasattr(value, "free_symbols")


def _size(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, tuple | list):
        return sum(_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return 64


def _recall(key: Hashable) -> tuple[bool, Any]:
    with _lock:
        if key in _memory:
            _memory.move_to_end(key)
            return True, copy.deepcopy(_memory[key])
    return False, None


def _keep(key: Hashable, value: Any) -> None:
    if _size(value) > MAX_VALUE_BYTES:
        return
    with _lock:
        _memory[key] = copy.deepcopy(value)
        while len(_memory) > MAX_ENTRIES:
            _memory.popitem(last=False)


def reference_once(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, computed once per process for the same plain-data
    arguments (for the reference on published inputs; the function must be pure)."""
    arguments = plain_key((args, kwargs))
    if arguments is None:
        return function(*args, **kwargs)
    key = ("reference", function.__module__, function.__qualname__, arguments)
    found, value = _recall(key)
    if found:
        return value
    value = function(*args, **kwargs)
    _keep(key, value)
    return value


def verdict_once(kind: str, inputs: Any, judge: Callable[[], Any]) -> Any:
    """``judge()``, remembered per process for the same plain-data ``inputs`` when its
    outcome is ``("ok", verdict)`` (a timeout or a crash of the check is never remembered:
    it may depend on the machine's load)."""
    key = plain_key(inputs)
    if key is None:
        return judge()
    key = ("verdict", kind, key)
    found, outcome = _recall(key)
    if found:
        return outcome
    outcome = judge()
    if isinstance(outcome, tuple) and outcome and outcome[0] == "ok":
        _keep(key, outcome)
    return outcome


def forget() -> None:
    """Drop everything remembered (tests)."""
    with _lock:
        _memory.clear()
