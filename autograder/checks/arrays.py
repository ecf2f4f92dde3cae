"""Tolerant comparison of a student's values with the reference, with a diff worth reading.

Messages go to students: they say what was called (shapes, never whole arrays), the shapes,
how many entries differ, the worst entry (expected vs got) and the max abs/rel errors.

float32: a float32 (or complex64) result is accepted when it matches within
``FLOAT32_RTOL`` relative to each entry plus ``FLOAT32_RTOL * max|expected|`` absolute: about
80 float32 ulps, room for a few dozen roundings in a sum. The tolerances a check asks for are
only ever loosened to these, never tightened; pass ``allow_float32=False`` where a question
needs double precision (the message then says so). float16 is never accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import CheckFailed
from .describe import format_index, format_value, what_is, with_call

FLOAT32_RTOL = 1e-5
_MAX_BLOCKS = 3


def _is_scalar(value: Any) -> bool:
    return isinstance(value, int | float | complex | np.number) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    )


def _shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    if len(got) == len(want) == 2 and got == want[::-1]:
        return " — transposed?"
    if tuple(d for d in got if d != 1) == tuple(d for d in want if d != 1):
        return " — an extra or missing axis of length 1 (reshape or squeeze?)"
    if math.prod(got) == math.prod(want):
        return " — same number of entries in another shape (reshape?)"
    if sorted(got) == sorted(want):
        return " — axes in another order?"
    return ""


def mismatch(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    name: str = "result",
    allow_float32: bool = True,
    allow_list: bool = False,
) -> str | None:
    """Why ``actual`` does not match ``expected`` (a message), or None when it does."""
    blocks = _compare(actual, expected, name, (rtol, atol, allow_float32, allow_list))
    if not blocks:
        return None
    shown = blocks[:_MAX_BLOCKS]
    if len(blocks) > _MAX_BLOCKS:
        shown.append(f"(and {len(blocks) - _MAX_BLOCKS} more parts differ)")
    return "\n".join(shown)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    name: str = "result",
    called: str | None = None,
    allow_float32: bool = True,
    allow_list: bool = False,
) -> None:
    """Raise CheckFailed unless ``actual`` matches ``expected`` within the tolerances.

    ``expected`` decides the structure: arrays compare element-wise
    (``|a - e| <= atol + rtol*|e|``, NaN/inf must match exactly), scalars as numbers,
    bools/strings/None exactly, tuples and lists element by element (either kind is accepted
    for either), dicts key by key (extra keys are ignored). ``allow_list`` accepts a list where
    an array is expected.
    """
    problem = mismatch(
        actual,
        expected,
        rtol=rtol,
        atol=atol,
        name=name,
        allow_float32=allow_float32,
        allow_list=allow_list,
    )
    if problem is not None:
        raise CheckFailed(with_call(problem, called))


Tol = tuple[float, float, bool, bool]


def _compare(actual: Any, expected: Any, name: str, tol: Tol) -> list[str]:
    if expected is None or isinstance(expected, str | bool | np.bool_):
        same = type(actual) is type(expected) or (
            isinstance(expected, bool | np.bool_) and isinstance(actual, bool | np.bool_)
        )
        if same and actual == expected:
            return []
        return [
            (
                f"{name}: expected {format_value(expected) if expected is not None else 'None'}, "
                f"got {what_is(actual)}"
            )
        ]
    if isinstance(expected, Mapping):
        return _compare_dict(actual, expected, name, tol)
    if isinstance(expected, list | tuple):
        return _compare_seq(actual, expected, name, tol)
    if _is_scalar(expected):
        return _compare_scalar(actual, expected, name, tol)
    if isinstance(expected, np.ndarray):
        return _compare_array(actual, expected, name, tol)
    raise TypeError(f"assert_close cannot compare with a reference of type {type(expected)}")


def _compare_dict(actual: Any, expected: Mapping[Any, Any], name: str, tol: Tol) -> list[str]:
    if not isinstance(actual, Mapping):
        return [
            f"{name} should be a dict with keys {sorted(map(str, expected))}, got {what_is(actual)}"
        ]
    missing = [k for k in expected if k not in actual]
    if missing:
        return [
            (
                f"{name} is missing the key(s) {', '.join(map(repr, missing))} "
                f"(it has {', '.join(map(repr, list(actual)[:8])) or 'no keys'})"
            )
        ]
    out: list[str] = []
    for key in expected:
        out += _compare(actual[key], expected[key], f"{name}[{key!r}]", tol)
    return out


def _compare_seq(actual: Any, expected: Sequence[Any], name: str, tol: Tol) -> list[str]:
    kind = "tuple" if isinstance(expected, tuple) else "list"
    if not isinstance(actual, list | tuple):
        hint = " — return all of them, e.g. `return a, b`" if isinstance(actual, np.ndarray) else ""
        return [f"{name} should be a {kind} of {len(expected)} elements, got {what_is(actual)}{hint}"]
    if len(actual) != len(expected):
        return [f"{name} should have {len(expected)} elements, got {len(actual)}"]
    out: list[str] = []
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        out += _compare(a, e, f"{name}[{i}]", tol)
    return out


def _compare_scalar(actual: Any, expected: Any, name: str, tol: Tol) -> list[str]:
    if isinstance(actual, np.ndarray) and actual.ndim > 0:
        hint = " — return a number, e.g. float(x)" if actual.size == 1 else ""
        return [f"{name} should be a single number, got {what_is(actual)}{hint}"]
    if isinstance(actual, bool | np.bool_) or not _is_scalar(actual):
        return [f"{name} should be a number, got {what_is(actual)}"]
    rtol, atol = tol[0], tol[1]
    a, e = np.asarray(actual)[()], np.asarray(expected)[()]
    if np.iscomplexobj(a) and not np.iscomplexobj(e):
        return [f"{name} should be a real number, got the complex number {format_value(a)}"]
    if np.asarray(a).dtype in (np.float32, np.complex64) and tol[2]:
        rtol, atol = max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_RTOL * abs(e))
    a, e = (
        complex(a) if np.iscomplexobj(a) else float(a),
        (complex(e) if np.iscomplexobj(e) else float(e)),
    )
    if a == e or (_isnan(a) and _isnan(e)):
        return []
    err = abs(a - e)
    if _finite(a) and _finite(e) and err <= atol + rtol * abs(e):
        return []
    extra = ""
    if _finite(a) and _finite(e):
        rel = f"{err / abs(e):.2e}" if e != 0 else "inf"
        extra = f" (abs error {err:.2e}, rel error {rel})"
    return [f"{name}: expected {format_value(e)}, got {format_value(a)}{extra}"]


def _isnan(x: complex) -> bool:
    return bool(np.isnan(x))


def _finite(x: complex) -> bool:
    return bool(np.isfinite(x))


def _compare_array(actual: Any, expected: np.ndarray, name: str, tol: Tol) -> list[str]:
    if isinstance(actual, list | tuple) and tol[3]:
        try:
            actual = np.asarray(actual)
        except (ValueError, TypeError):
            return [f"{name}: could not read your list as an array of shape {expected.shape}"]
    if not isinstance(actual, np.ndarray):
        hint = " — return np.asarray(...)" if isinstance(actual, list | tuple) else ""
        return [
            (
                f"{name} should be an array of shape {tuple(expected.shape)}, "
                f"got {what_is(actual)}{hint}"
            )
        ]
    kind = actual.dtype.kind
    if kind not in "biufc" or (kind == "c" and expected.dtype.kind != "c"):
        what = "complex" if kind == "c" else "non-numeric"
        return [f"{name} has {what} dtype {actual.dtype}; expected real numbers ({expected.dtype})"]
    if actual.shape != expected.shape:
        return [
            (
                f"{name}: expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
                f"{_shape_hint(actual.shape, expected.shape)}"
            )
        ]
    if expected.dtype.kind == "b":
        return _compare_exact(actual, expected, name)
    rtol, atol = tol[0], tol[1]
    note = ""
    if actual.dtype == np.float16:
        return [f"{name} is float16, which is too imprecise here; compute in float64"]
    if actual.dtype in (np.float32, np.complex64):
        if not tol[2]:
            return [
                (
                    f"{name} is {actual.dtype}; this check needs float64 — compute in float64 "
                    "(e.g. np.asarray(x, dtype=float))"
                )
            ]
        finite_e = np.abs(expected[np.isfinite(expected)])
        scale = float(finite_e.max()) if finite_e.size else 0.0
        rtol, atol = max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_RTOL * scale)
        note = f" ({actual.dtype} result: tolerance loosened to rtol {FLOAT32_RTOL:g})"
    return _compare_values(actual, expected, name, rtol, atol, note)


def _compare_exact(actual: np.ndarray, expected: np.ndarray, name: str) -> list[str]:
    bad = actual != expected
    if not bad.any():
        return []
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return [
        (
            f"{name}: {int(bad.sum())} of {bad.size} entries differ; first at {format_index(first)}: "
            f"expected {format_value(expected[first])}, got {format_value(actual[first])}"
        )
    ]


def _compare_values(
    actual: np.ndarray, expected: np.ndarray, name: str, rtol: float, atol: float, note: str
) -> list[str]:
    cplx = np.complex128 if expected.dtype.kind == "c" or actual.dtype.kind == "c" else np.float64
    a = actual.astype(cplx, copy=False)
    e = expected.astype(cplx, copy=False)
    fin_a, fin_e = np.isfinite(a), np.isfinite(e)
    both = fin_a & fin_e
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(both, np.abs(a - e), 0.0)
        allowed = atol + rtol * np.where(fin_e, np.abs(e), 0.0)
        # non-finite entries must agree exactly (NaN with NaN, +inf with +inf)
        same_nonfinite = ~fin_a & ~fin_e & ((a == e) | (np.isnan(a) & np.isnan(e)))
        bad = (both & (err > allowed)) | (~both & ~same_nonfinite)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return []
    lines = [f"{name} does not match the expected values{note}."]
    nan_a = np.isnan(a) & fin_e
    inf_a = np.isinf(a) & fin_e
    if nan_a.any() or inf_a.any():
        first = tuple(int(i) for i in np.argwhere(nan_a | inf_a)[0])
        lines.append(
            f"  {int(nan_a.sum())} NaN and {int(inf_a.sum())} inf entries where the "
            f"expected values are finite (first at {format_index(first)})"
        )
    lines.append(
        f"  {n_bad} of {bad.size} entries differ (rtol {rtol:.0e}, atol {atol:.0e}); "
        f"shape {tuple(actual.shape)}, dtype {actual.dtype}"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bad, np.where(both, err / allowed, np.inf), -1.0)
    worst = np.unravel_index(int(np.argmax(ratio)), bad.shape) if bad.ndim else ()
    worst = tuple(int(i) for i in worst)
    where = f"at {format_index(worst)}" if worst else "value"
    lines.append(f"  worst {where}: expected {format_value(e[worst])}, got {format_value(a[worst])}")
    finite_bad = bad & both
    if finite_bad.any():
        abs_err = float(err[finite_bad].max())
        nz = both & (e != 0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf: shown as such
            rel = float((err[nz] / np.abs(e[nz])).max()) if nz.any() else math.nan
        rel_text = "n/a (expected all zero)" if math.isnan(rel) else f"{rel:.2e}"
        lines.append(f"  max abs error {abs_err:.2e}, max rel error {rel_text}")
    return ["\n".join(lines)]


def assert_shape(
    actual: Any, shape: Sequence[int | None], *, name: str = "result", called: str | None = None
) -> None:
    """Raise CheckFailed unless ``actual`` is an array of ``shape`` (None matches any length)."""
    want = tuple(shape)
    if not isinstance(actual, np.ndarray):
        raise CheckFailed(
            with_call(
                f"{name} should be an array of shape {_shape_text(want)}, got {what_is(actual)}",
                called,
            )
        )
    got = tuple(actual.shape)
    if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
        concrete = (
            tuple(g if w is None else w for g, w in zip(got, want))
            if len(got) == len(want)
            else want
        )
        hint = _shape_hint(got, concrete) if None not in concrete else ""
        raise CheckFailed(
            with_call(f"{name}: expected shape {_shape_text(want)}, got {got}{hint}", called)
        )


def _shape_text(shape: tuple[int | None, ...]) -> str:
    inner = ", ".join("any" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def assert_finite(actual: Any, *, name: str = "result", called: str | None = None) -> None:
    """Raise CheckFailed if ``actual`` (array, number or container of them) has NaN or inf."""
    problems = _nonfinite(actual, name)
    if problems:
        raise CheckFailed(with_call("; ".join(problems[:_MAX_BLOCKS]), called))


def _nonfinite(value: Any, name: str) -> list[str]:
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _nonfinite(v, f"{name}[{k!r}]")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _nonfinite(v, f"{name}[{i}]")]
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        bad = ~np.isfinite(value)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0]) if value.ndim else ()
            where = f" (first at {format_index(first)})" if first else ""
            return [
                (
                    f"{name} has {int(np.isnan(value).sum())} NaN and "
                    f"{int(np.isinf(value).sum())} inf entries of {value.size}{where}"
                )
            ]
    elif isinstance(value, float | complex | np.inexact) and not np.isfinite(value):
        return [f"{name} is {format_value(value)}"]
    return []
