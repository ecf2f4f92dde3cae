"""Activation functions, their derivatives and two penalty gradients (assignment 5, q2-q3).

Every function is elementwise (``softmax`` works over the last axis), accepts anything
array-like, returns a new floating array of the input's shape (``float32`` stays ``float32``,
integers become ``float64``) and never changes its input.

Numerical stability: no function overflows, divides by zero or produces NaN for finite
inputs of any magnitude (tested up to ``|x| = 1e4``). Exponentials are only ever taken of
non-positive numbers, ``exp(-|x|)``; these may *underflow* to 0 for ``|x| > 745``, which is the
correctly rounded result, so underflow is silenced locally even under
``np.errstate(all="raise")``.

Derivatives take the pre-activation ``x``: ``dsigmoid(x) = sigmoid'(x)``, not a function of
``sigmoid(x)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "dabs",
    "drelu",
    "dsigmoid",
    "dtanh",
    "grad_l1",
    "grad_sq_norm",
    "log_sigmoid",
    "log_softmax",
    "relu",
    "sigmoid",
    "sign",
    "softmax",
    "softplus",
    "tanh",
]

Array = NDArray[np.floating]


def _as_float(x: ArrayLike) -> Array:
    """``x`` as a floating array (float32/float64 kept, everything else to float64)."""
    arr = np.asarray(x)
    if arr.dtype.kind == "c" or arr.dtype == object:
        raise TypeError(
            f"expected real numbers, got an array of dtype {arr.dtype}; pass a float array."
        )
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def _exp_neg_abs(x: Array) -> Array:
    """``exp(-|x|)`` in (0, 1]: never overflows; underflow to 0 is exact enough and silenced."""
    with np.errstate(under="ignore"):
        return np.exp(-np.abs(x))


def sigmoid(x: ArrayLike) -> Array:
    """Logistic function ``1 / (1 + exp(-x))``.

    Stable: uses ``e = exp(-|x|)`` and ``1/(1+e)`` for x >= 0, ``e/(1+e)`` for x < 0.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    s : ndarray, same shape as ``x``, values in [0, 1]
    """
    x = _as_float(x)
    e = _exp_neg_abs(x)
    with np.errstate(under="ignore"):
        return np.where(x >= 0, 1.0, e) / (1.0 + e)


def dsigmoid(x: ArrayLike) -> Array:
    """Derivative of the sigmoid at the pre-activation ``x``: ``s (1 - s)``.

    Computed as ``e / (1 + e)^2`` with ``e = exp(-|x|)`` (the derivative is even), which keeps
    full relative accuracy in the saturated tails where ``1 - s`` would round to 0.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ds : ndarray, same shape as ``x``, values in [0, 1/4]
    """
    x = _as_float(x)
    e = _exp_neg_abs(x)
    with np.errstate(under="ignore"):
        return e / (1.0 + e) ** 2


def tanh(x: ArrayLike) -> Array:
    """Hyperbolic tangent (NumPy's, which is stable for any finite input).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    t : ndarray, same shape as ``x``, values in [-1, 1]
    """
    return np.tanh(_as_float(x))


def dtanh(x: ArrayLike) -> Array:
    """Derivative of tanh at the pre-activation ``x``: ``1 - tanh(x)^2 = sech(x)^2``.

    Computed as ``4e / (1 + e)^2`` with ``e = exp(-2|x|)``, accurate in the tails where
    ``1 - tanh^2`` cancels to 0.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    dt : ndarray, same shape as ``x``, values in [0, 1]
    """
    x = _as_float(x)
    e = _exp_neg_abs(2 * x)
    with np.errstate(under="ignore"):
        return 4.0 * e / (1.0 + e) ** 2


def relu(x: ArrayLike) -> Array:
    """Rectified linear unit ``max(x, 0)``.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    r : ndarray, same shape as ``x``
    """
    x = _as_float(x)
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def drelu(x: ArrayLike) -> Array:
    """Derivative of ReLU: 1 where ``x > 0``, else 0 (the convention at 0 is 0).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    d : ndarray, same shape as ``x``, values in {0, 1}
    """
    x = _as_float(x)
    return (x > 0).astype(x.dtype)


def softplus(x: ArrayLike) -> Array:
    """Softplus ``log(1 + exp(x))``, computed as ``max(x, 0) + log1p(exp(-|x|))`` (stable).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    sp : ndarray, same shape as ``x``, values >= 0
    """
    x = _as_float(x)
    return np.maximum(x, 0) + np.log1p(_exp_neg_abs(x))


def log_sigmoid(x: ArrayLike) -> Array:
    """``log(sigmoid(x)) = -softplus(-x)``, computed as ``min(x, 0) - log1p(exp(-|x|))``.

    Finite for every finite ``x`` (``log(sigmoid(-1e4))`` is ``-1e4``, not ``-inf``).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ls : ndarray, same shape as ``x``, values <= 0
    """
    x = _as_float(x)
    return np.minimum(x, 0) - np.log1p(_exp_neg_abs(x))


def log_softmax(A: ArrayLike) -> Array:
    """Log of the softmax over the last axis: ``A - logsumexp(A)`` (max-shifted, stable).

    Parameters
    ----------
    A : array_like, shape (..., m)

    Returns
    -------
    log_S : ndarray, shape (..., m), values <= 0
    """
    A = _as_float(A)
    if A.ndim == 0 or A.shape[-1] == 0:
        raise ValueError(f"log_softmax needs at least one entry on the last axis, got {A.shape}.")
    shifted = A - A.max(axis=-1, keepdims=True)
    with np.errstate(under="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(A: ArrayLike) -> Array:
    """Softmax over the last axis: ``exp(A) / sum(exp(A))`` per row.

    Stable: the row maximum is subtracted first, so every exponent is <= 0 and the largest
    is exactly 0 (the denominator is in [1, m]). Entries more than ~745 below their row's
    maximum underflow to exactly 0.

    Parameters
    ----------
    A : array_like, shape (..., m)
        Logits; a 1-D input is treated as a single row.

    Returns
    -------
    S : ndarray, shape (..., m)
        Non-negative, each row sums to 1.
    """
    A = _as_float(A)
    if A.ndim == 0 or A.shape[-1] == 0:
        raise ValueError(f"softmax needs at least one entry on the last axis, got {A.shape}.")
    with np.errstate(under="ignore"):
        E = np.exp(A - A.max(axis=-1, keepdims=True))
        return E / E.sum(axis=-1, keepdims=True)


def sign(x: ArrayLike) -> Array:
    """Sign of ``x``: -1, 0 or 1 (0 at 0).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    s : ndarray, same shape as ``x``
    """
    return np.sign(_as_float(x))


def dabs(x: ArrayLike) -> Array:
    """Derivative of ``|x|``: ``sign(x)`` (the subgradient 0 is used at 0).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    d : ndarray, same shape as ``x``, values in {-1, 0, 1}
    """
    return sign(x)


def grad_sq_norm(x: ArrayLike) -> Array:
    """Gradient of ``sum(x**2)`` with respect to ``x``: ``2 x``.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    g : ndarray, same shape as ``x``
    """
    return 2 * _as_float(x)


def grad_l1(x: ArrayLike) -> Array:
    """Gradient of ``sum(|x|)`` with respect to ``x``: ``sign(x)`` (0 at 0).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    g : ndarray, same shape as ``x``, values in {-1, 0, 1}
    """
    return sign(x)
