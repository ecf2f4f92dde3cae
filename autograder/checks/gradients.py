"""Gradient checks against central finite differences of a loss.

``f`` may be the student's own loss called through the proxy (it returns a float), so a
gradient can be checked for consistency with the student's loss as well as against the
reference. Central differences have truncation error O(eps²·f''') and round-off error about
``machine_eps·|f|/eps``; ``check_gradient`` sets its absolute tolerance from the latter, so
a large summed loss does not make a correct gradient fail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import CheckFailed
from .describe import with_call
from .mistakes import ratio_diagnosis

_MACHINE_EPS = float(np.finfo(np.float64).eps)
_ROUNDOFF_SAFETY = 16.0

Coords = Sequence[int] | Sequence[tuple[int, ...]] | np.ndarray


def _loss_value(value: Any, what: str = "the loss") -> float:
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise CheckFailed(
                f"{what} returned an array of shape {value.shape} where a single "
                "number was expected"
            )
        value = value.reshape(())[()]
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise CheckFailed(f"{what} returned {type(value).__name__} where a number was expected")
    out = float(value)
    if not np.isfinite(out):
        raise CheckFailed(f"{what} returned {out} during a finite-difference check")
    return out


def _flat_coords(coords: Coords | None, shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape, dtype=np.int64))
    if coords is None:
        return np.arange(size)
    arr = np.asarray(coords)
    if arr.ndim == 2:  # index tuples
        return np.ravel_multi_index(tuple(arr.T), shape)
    return arr.astype(np.int64).ravel()


def numerical_gradient(
    f: Callable[[Any], Any], x: Any, eps: float = 1e-6, *, coords: Coords | None = None
) -> np.ndarray:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``.

    Parameters
    ----------
    f : callable taking an array shaped like ``x`` (a float when ``x`` is a scalar), returning
        a number.
    x : the point, any shape; it is never modified (``f`` gets fresh copies).
    coords : None for every coordinate, else flat indices or index tuples to differentiate.

    Returns
    -------
    The gradient, shaped like ``x`` when ``coords`` is None, else shape ``(len(coords),)`` in
    the order of ``coords``.
    """
    x0 = np.array(x, dtype=np.float64)
    flat = _flat_coords(coords, x0.shape)
    values = _values(f, _points(x0, flat, eps))
    out = (values[0::2] - values[1::2]) / (2 * eps)
    return out.reshape(x0.shape) if coords is None else out


def _points(x0: np.ndarray, flat: np.ndarray, eps: float) -> list[Any]:
    """x0 + eps e_i and x0 - eps e_i for each i in ``flat``, in that order (fresh copies)."""
    points = []
    for i in flat:
        for step in (eps, -eps):
            xp = x0.copy()
            xp.flat[i] += step
            points.append(float(xp) if x0.ndim == 0 else xp)
    return points


def _values(f: Callable[[Any], Any], points: list[Any]) -> np.ndarray:
    """``f`` at each point, as numbers: in one round trip when ``f`` offers ``f.each(calls)``
    (a student's loss, `autograder.proxy.RemoteFunction.each`); stops at the first error."""
    each = getattr(f, "each", None)
    values = each([(p,) for p in points]) if callable(each) else (f(p) for p in points)
    return np.array([_loss_value(v) for v in values], dtype=np.float64)


def relative_error(a: Any, b: Any, *, floor: float = 1e-8) -> float:
    """Max over entries of ``|a - b| / max(|a| + |b|, floor)`` (0 for identical inputs).

    The floor keeps entries where both gradients are ~0 from dominating; a correct analytic
    gradient typically gives < 1e-7 against central differences with eps = 1e-5.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs equal shapes, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


def check_gradient(
    f: Callable[[Any], Any],
    grad: Any,
    x: Any,
    *,
    rtol: float = 1e-5,
    atol: float | None = None,
    eps: float = 1e-6,
    name: str = "gradient",
    sample: int | None = None,
    rng: np.random.Generator | None = None,
    called: str | None = None,
    m: int | None = None,
) -> None:
    """Raise CheckFailed unless ``grad`` agrees with central differences of ``f`` at ``x``.

    ``grad`` is the analytic gradient (an array shaped like ``x``) or a callable returning it.
    ``sample`` checks that many coordinates drawn with ``rng`` (all when None). An entry passes
    when ``|g - g_fd| <= atol + rtol * max(|g|, |g_fd|)``; ``atol`` defaults to
    ``16 * machine_eps * max(1, |f(x)|) / eps``, the round-off of the differences. ``m``,
    the number of examples ``f`` averages over, lets a factor of m be named as the 1/m.
    """
    x0 = np.array(x, dtype=np.float64)
    g = grad(x0.copy()) if callable(grad) else grad
    if isinstance(g, list | tuple) or np.isscalar(g):
        g = np.asarray(g, dtype=np.float64) if _numeric(g) else g
    if not isinstance(g, np.ndarray) or g.dtype.kind not in "biuf":
        raise CheckFailed(
            with_call(
                f"{name} should be an array of shape {x0.shape}, got {type(g).__name__}", called
            )
        )
    if g.shape != x0.shape:
        raise CheckFailed(
            with_call(
                f"{name}: expected shape {x0.shape} (the shape of the parameter), got {g.shape}",
                called,
            )
        )
    g = g.astype(np.float64)
    if not np.all(np.isfinite(g)):
        raise CheckFailed(
            with_call(
                f"{name} contains NaN or inf entries ({int((~np.isfinite(g)).sum())} of {g.size})",
                called,
            )
        )
    size = x0.size
    if sample is not None and sample < size:
        rng = rng if rng is not None else np.random.default_rng(0)
        flat = np.sort(rng.choice(size, size=sample, replace=False))
    else:
        flat = np.arange(size)
    points = _points(x0, flat, eps)
    if atol is None:  # f(x0) too, in the same round trip
        values = _values(f, [float(x0) if x0.ndim == 0 else x0.copy(), *points])
        atol = _ROUNDOFF_SAFETY * _MACHINE_EPS * max(1.0, abs(values[0])) / eps
        values = values[1:]
    else:
        values = _values(f, points)
    g_fd = (values[0::2] - values[1::2]) / (2 * eps)
    g_an = g.ravel()[flat]
    err = np.abs(g_an - g_fd)
    allowed = atol + rtol * np.maximum(np.abs(g_an), np.abs(g_fd))
    bad = err > allowed
    if not bad.any():
        return
    worst = int(np.argmax(err / allowed))
    index = np.unravel_index(int(flat[worst]), x0.shape) if x0.ndim else ()
    where = f" at [{', '.join(str(int(i)) for i in index)}]" if index else ""
    denom = max(abs(g_an[worst]), abs(g_fd[worst]))
    rel = f"{err[worst] / denom:.2e}" if denom > 0 else "inf"
    lines = [
        (
            f"{name} does not match central finite differences of the loss at {int(bad.sum())} "
            f"of {flat.size} checked coordinates."
        ),
        (
            f"  worst{where}: yours {g_an[worst]:.7g}, finite differences {g_fd[worst]:.7g} "
            f"(abs error {err[worst]:.2e}, rel error {rel})"
        ),
        f"  step {eps:g}; tolerance rtol {rtol:g}, atol {atol:.1e}",
    ]
    if flat.size == size:
        relation = ratio_diagnosis(g, g_fd.reshape(x0.shape), m=m)
    else:
        relation = ratio_diagnosis(g_an, g_fd, m=m)
    if relation:
        lines.insert(1, f"  your {name} {relation}")
    raise CheckFailed(with_call("\n".join(lines), called))


def _numeric(value: Any) -> bool:
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False
