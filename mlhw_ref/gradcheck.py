"""Gradient checking by central finite differences (assignment 5, q6).

``numerical_gradient`` estimates ``df/dtheta`` coordinate by coordinate with
``(f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps)``; the truncation error is
O(eps^2 |f'''|) and the rounding error O(u |f| / eps) (u ~ 1e-16), so eps = 1e-5 balances
them at roughly 1e-10 relative to the scale of f for smooth float64 functions.

``relative_error`` measures the disagreement of two gradients. By default it is the largest
absolute difference divided by the largest entry of either gradient (the infinity-norm
relative error): it is scale free, is 0 for identical arrays, is at most 1 unless the
gradients have opposite signs, and is not fooled by entries that are nearly zero, where
an entrywise ratio would compare finite-difference noise with noise.
``elementwise=True`` gives the classic entrywise ``max |a - b| / max(|a|, |b|)`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["max_relative_error", "numerical_gradient", "relative_error"]

Array = NDArray[np.float64]


def _select(
    size: int,
    coords: Sequence[int] | ArrayLike | None,
    n_samples: int | None,
    rng: np.random.Generator | None,
) -> NDArray[np.intp] | None:
    """Flat indices to check, or None for all of them."""
    if coords is not None and n_samples is not None:
        raise ValueError("give either coords or n_samples, not both.")
    if coords is not None:
        idx = np.asarray(coords, dtype=np.intp).ravel()
        if idx.size and (idx.min() < -size or idx.max() >= size):
            raise IndexError(
                f"coords must be flat indices into theta (size {size}); got values from "
                f"{idx.min()} to {idx.max()}."
            )
        return idx % size if size else idx
    if n_samples is not None:
        if rng is None:
            raise ValueError("n_samples needs rng (a numpy Generator) to draw the coordinates.")
        if n_samples < 1:
            raise ValueError(f"n_samples must be at least 1, got {n_samples}.")
        return np.sort(rng.choice(size, size=min(n_samples, size), replace=False))
    return None


def _numerical_array(
    f: Callable[[Array], float], theta: Array, eps: float, idx: NDArray[np.intp] | None
) -> Array:
    work = np.array(theta, dtype=np.float64, copy=True)  # never perturb the caller's array
    flat = work.reshape(-1)
    indices = range(flat.size) if idx is None else idx
    out = np.empty(flat.size if idx is None else len(idx))
    for k, i in enumerate(indices):
        old = flat[i]
        flat[i] = old + eps
        f_plus = float(f(work))
        flat[i] = old - eps
        f_minus = float(f(work))
        flat[i] = old
        out[k] = (f_plus - f_minus) / (2 * eps)
    return out.reshape(theta.shape) if idx is None else out


def numerical_gradient(
    f: Callable[[Any], float],
    theta: ArrayLike | Mapping[str, ArrayLike],
    eps: float = 1e-5,
    *,
    coords: Sequence[int] | ArrayLike | None = None,
    n_samples: int | None = None,
    rng: np.random.Generator | None = None,
) -> Array | dict[str, Array]:
    """Central finite-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``. It receives a float64 copy of ``theta`` (a dict of copies
        when ``theta`` is a dict), never the caller's arrays.
    theta : array_like of any shape, or dict of str -> array_like / float
        Point at which to differentiate; not modified.
    eps : float, default 1e-5
        Step of the central difference.
    coords : sequence of int, optional
        Flat indices (into ``theta.ravel()``) to differentiate along; only for arrays.
    n_samples : int, optional
        Differentiate along this many distinct random coordinates drawn with ``rng``
        (all coordinates when ``n_samples >= theta.size``); only for arrays.
    rng : numpy.random.Generator, optional
        Needed with ``n_samples``.

    Returns
    -------
    grad : ndarray or dict
        Shape of ``theta`` when all coordinates are used; shape (k,) with the partial
        derivatives at the selected flat indices (in the order given, sorted when drawn)
        when ``coords`` or ``n_samples`` is given; a dict with the same keys and shapes
        when ``theta`` is a dict (scalar entries give 0-d arrays).
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}.")
    if isinstance(theta, Mapping):
        if coords is not None or n_samples is not None:
            raise ValueError("coords and n_samples apply to array theta, not to a dict.")
        base = {k: np.array(v, dtype=np.float64, copy=True) for k, v in theta.items()}
        grads: dict[str, Array] = {}
        for key, start in base.items():

            def f_key(value: Array, key: str = key) -> float:
                point = {k: (value if k == key else v.copy()) for k, v in base.items()}
                return f(point)

            grads[key] = _numerical_array(f_key, start, eps, None)
        return grads
    arr = np.asarray(theta, dtype=np.float64)
    idx = _select(arr.size, coords, n_samples, rng)
    return _numerical_array(f, arr, eps, idx)


def relative_error(a: ArrayLike, b: ArrayLike, *, elementwise: bool = False) -> float:
    """Relative disagreement of two arrays of the same shape.

    Parameters
    ----------
    a, b : array_like, same shape
    elementwise : bool, default False
        False: ``max|a - b| / max(max|a|, max|b|)`` (the error relative to the gradient's
        scale). True: ``max over i of |a_i - b_i| / max(|a_i|, |b_i|)``, entries where both
        are 0 counting as 0.

    Returns
    -------
    err : float
        0.0 when the arrays are equal (including both all-zero); ``inf`` if either holds a
        NaN or infinity.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"cannot compare arrays of shapes {a.shape} and {b.shape}; the gradient must "
            "have the shape of the parameter."
        )
    if a.size == 0:
        return 0.0
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    diff = np.abs(a - b)
    if elementwise:
        scale = np.maximum(np.abs(a), np.abs(b))
        ratio = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
        return float(ratio.max())
    scale = max(np.abs(a).max(), np.abs(b).max())
    return float(diff.max() / scale) if scale > 0 else 0.0


def max_relative_error(
    f: Callable[[Array], float],
    grad_f: Callable[[Array], ArrayLike],
    theta: ArrayLike,
    eps: float = 1e-5,
    *,
    coords: Sequence[int] | ArrayLike | None = None,
    n_samples: int | None = None,
    rng: np.random.Generator | None = None,
    elementwise: bool = False,
) -> float:
    """Check an analytic gradient against central finite differences.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    grad_f : callable
        ``grad_f(theta) -> ndarray`` of ``theta``'s shape, the gradient to check.
    theta : array_like, any shape
        Point of the check; not modified.
    eps, coords, n_samples, rng
        As in :func:`numerical_gradient` (check all or only some coordinates).
    elementwise : bool, default False
        Which relative error to report, see :func:`relative_error`.

    Returns
    -------
    err : float
        Relative error between ``grad_f(theta)`` and the finite differences; below about
        1e-7 for a correct gradient of a smooth float64 function, of order 1 for a wrong one.
    """
    theta = np.asarray(theta, dtype=np.float64)
    analytic = np.asarray(grad_f(theta.copy()), dtype=np.float64)
    if analytic.shape != theta.shape:
        raise ValueError(
            f"grad_f returned shape {analytic.shape} for theta of shape {theta.shape}; "
            "it must return one partial derivative per entry of theta."
        )
    idx = _select(theta.size, coords, n_samples, rng)
    numeric = numerical_gradient(f, theta, eps, coords=idx)
    selected = analytic if idx is None else analytic.reshape(-1)[idx]
    return relative_error(selected, numeric, elementwise=elementwise)
