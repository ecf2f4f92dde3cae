"""Values in messages to students: shapes, never whole arrays; numbers to 7 digits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MAX_MESSAGE = 2_000


def format_value(x: Any) -> str:
    """A number as a student reads it (7 significant digits); anything else its short repr."""
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, complex | np.complexfloating):
        return f"{complex(x):.6g}"
    try:
        return f"{float(x):.7g}"
    except (TypeError, ValueError):
        return short(repr(x))


def short(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters with "..."."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_index(idx: tuple[int, ...]) -> str:
    """``[2, 0]``: an array index as written in Python."""
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def describe_value(value: Any) -> str:
    """A short description of a value: shape for arrays, the value for small scalars."""
    if isinstance(value, np.ndarray):
        dtype = "" if value.dtype == np.float64 else f" {value.dtype}"
        return f"{tuple(value.shape)}{dtype}"
    if value is None or isinstance(value, bool | int | float | complex | np.number | np.bool_):
        return format_value(value) if value is not None else "None"
    if isinstance(value, str):
        return repr(short(value, 20))
    if isinstance(value, Mapping):
        keys = list(value)
        inner = ", ".join(f"{k} {describe_value(value[k])}" for k in keys[:4])
        return "{" + inner + (", ..." if len(keys) > 4 else "") + "}"
    if isinstance(value, list | tuple):
        if len(value) <= 4:
            inner = ", ".join(describe_value(v) for v in value)
            return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' * (len(value) == 1)})"
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, np.random.Generator):
        return "rng"
    if callable(value):
        return f"<function {getattr(value, '__name__', type(value).__name__)}>"
    return f"<{type(value).__name__}>"


def describe_call(
    name: str, args: Mapping[str, Any] | Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
) -> str:
    """``"chain_backward(u (100, 5), h (101, 5), y (5,), w (100,))"``: a call by its shapes.

    ``args`` is either a mapping from parameter names to values or a sequence of positional
    values; ``kwargs`` are shown as ``key=value``. Arrays appear as their shapes.
    """
    parts: list[str] = []
    named = list(args.items()) if isinstance(args, Mapping) else [(None, a) for a in args]
    named += list((kwargs or {}).items())
    for key, value in named:
        desc = describe_value(value)
        if key is None:
            parts.append(desc)
        elif isinstance(value, np.ndarray):
            parts.append(f"{key} {desc}")
        else:
            parts.append(f"{key}={desc}")
    return short(f"{name}({', '.join(parts)})", 300)


def what_is(value: Any) -> str:
    """``"an array of shape (3, 4) (float32)"``: what a value is, for "got ..." in messages."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)} ({value.dtype})"
    if isinstance(value, bool | np.bool_):
        return f"{value} (bool)"
    if isinstance(value, int | float | complex | np.number):
        return f"{format_value(value)} ({type(value).__name__})"
    if isinstance(value, str):
        return f"the string {short(repr(value))}"
    if isinstance(value, list | tuple):
        n = len(value)
        return f"a {type(value).__name__} of {n} element{'s' if n != 1 else ''}"
    if isinstance(value, Mapping):
        return f"a dict with keys {short(str(sorted(map(str, value))), 60)}"
    return f"a {type(value).__name__}"


def with_call(message: str, called: str | None) -> str:
    """``message`` with a ``called: ...`` line after its first line, capped in length."""
    if called:
        first, _, rest = message.partition("\n")
        message = f"{first}\n  called: {called}" + (f"\n{rest}" if rest else "")
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 20] + "\n  ... (message cut)"
    return message
