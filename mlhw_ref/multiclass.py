"""One-hidden-layer ReLU network with a softmax output (assignment 5, ``mlp_multiclass``).

For an example x (d,) with label y in [0, m)::

    h^a = W1 x + b1,   h^s = relu(h^a),   o^a = W2 h^s + b2,   o^s = softmax(o^a),
    NLL = -log o^s_y.

``params``: W1 (d_h, d), b1 (d_h,), W2 (m, d_h), b2 (m,). Batches are rows: X (n, d),
y (n,) ints. ``loss`` is the MEAN NLL over the batch (no penalty); the elastic-net penalty
``l11 sum|W1| + l12 sum W1^2 + l21 sum|W2| + l22 sum W2^2`` is added to it, so the objective
whose gradient ``bprop`` returns is ``penalized_loss = loss + penalty``. Biases are not
penalised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .activations import drelu, log_softmax, relu, sign, softmax
from .gradcheck import max_relative_error

if TYPE_CHECKING:  # matplotlib is imported only when a plot is made
    from matplotlib.figure import Figure

__all__ = [
    "accuracy",
    "bprop",
    "fprop",
    "grad_check",
    "grad_input",
    "init_params",
    "loss",
    "n_params",
    "penalized_loss",
    "penalty",
    "plot_decision_boundary",
    "predict",
    "train",
]

Array = NDArray[np.float64]
Params = dict[str, Array]
_KEYS = ("W1", "b1", "W2", "b2")


# --------------------------------------------------------------------------- validation
def _unpack(params: Mapping[str, ArrayLike]) -> tuple[Array, Array, Array, Array]:
    missing = [k for k in _KEYS if k not in params]
    if missing:
        raise KeyError(f"params need keys {list(_KEYS)}; missing {missing}.")
    W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float64) for k in _KEYS)
    if (
        W1.ndim != 2
        or W2.ndim != 2
        or b1.shape != (W1.shape[0],)
        or W2.shape[1] != W1.shape[0]
        or b2.shape != (W2.shape[0],)
    ):
        raise ValueError(
            f"inconsistent shapes W1 {W1.shape}, b1 {b1.shape}, W2 {W2.shape}, b2 {b2.shape}; "
            "expected W1 (d_h, d), b1 (d_h,), W2 (m, d_h), b2 (m,)."
        )
    return W1, b1, W2, b2


def _inputs(W1: Array, X: ArrayLike) -> Array:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != W1.shape[1]:
        raise ValueError(
            f"X has shape {X.shape}, expected (n_samples, {W1.shape[1]}) to match W1 {W1.shape}."
        )
    return X


def _targets(y: ArrayLike, n: int, m: int) -> NDArray[np.intp]:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y has shape {y.shape}, expected ({n},): one label per row of X.")
    if y.size and (y.dtype.kind not in "iu" and not np.all(y == np.round(y))):
        raise ValueError("y must hold integer class labels.")
    y = y.astype(np.intp)
    if y.size and (y.min() < 0 or y.max() >= m):
        raise ValueError(
            f"labels must be in [0, {m}) for W2 with {m} rows; got {y.min()}..{y.max()}."
        )
    return y


def _forward(W1: Array, b1: Array, W2: Array, b2: Array, X: Array) -> tuple[Array, Array, Array]:
    """Pre-activations h^a (n, d_h), hidden outputs h^s (n, d_h), logits o^a (n, m)."""
    ha = X @ W1.T + b1
    hs = relu(ha)
    return ha, hs, hs @ W2.T + b2


# --------------------------------------------------------------------------- model
def n_params(d: int, d_h: int, m: int) -> int:
    """Number of parameters ``d_h (d + 1) + m (d_h + 1)`` (weights and biases)."""
    return int(d_h * (d + 1) + m * (d_h + 1))


def fprop(params: Mapping[str, ArrayLike], X: ArrayLike) -> Array:
    """Class probabilities ``o^s`` for every row of ``X``.

    Parameters
    ----------
    params : dict with W1 (d_h, d), b1 (d_h,), W2 (m, d_h), b2 (m,)
    X : array_like, shape (n, d)

    Returns
    -------
    P : ndarray, shape (n, m)
        Rows are positive (up to underflow) and sum to 1.
    """
    W1, b1, W2, b2 = _unpack(params)
    return softmax(_forward(W1, b1, W2, b2, _inputs(W1, X))[2])


def loss(params: Mapping[str, ArrayLike], X: ArrayLike, y: ArrayLike) -> float:
    """Mean negative log-likelihood ``-(1/n) sum_i log o^s_{y_i}(x_i)`` (no penalty).

    Stable: uses ``log_softmax`` of the logits, never ``log`` of a probability.

    Parameters
    ----------
    params : dict
    X : array_like, shape (n, d)
    y : array_like of int, shape (n,), values in [0, m)

    Returns
    -------
    L : float
    """
    W1, b1, W2, b2 = _unpack(params)
    X = _inputs(W1, X)
    y = _targets(y, X.shape[0], W2.shape[0])
    oa = _forward(W1, b1, W2, b2, X)[2]
    return float(-np.mean(log_softmax(oa)[np.arange(len(y)), y]))


def penalty(
    params: Mapping[str, ArrayLike],
    l11: float = 0.0,
    l12: float = 0.0,
    l21: float = 0.0,
    l22: float = 0.0,
) -> float:
    """Elastic-net penalty ``l11 sum|W1| + l12 sum W1^2 + l21 sum|W2| + l22 sum W2^2``."""
    W1, _, W2, _ = _unpack(params)
    return float(
        l11 * np.abs(W1).sum()
        + l12 * np.square(W1).sum()
        + l21 * np.abs(W2).sum()
        + l22 * np.square(W2).sum()
    )


def penalized_loss(
    params: Mapping[str, ArrayLike],
    X: ArrayLike,
    y: ArrayLike,
    l11: float = 0.0,
    l12: float = 0.0,
    l21: float = 0.0,
    l22: float = 0.0,
) -> float:
    """``loss(params, X, y) + penalty(params, l11, l12, l21, l22)``: what ``bprop`` differentiates."""
    return loss(params, X, y) + penalty(params, l11, l12, l21, l22)


def bprop(
    params: Mapping[str, ArrayLike],
    X: ArrayLike,
    y: ArrayLike,
    l11: float = 0.0,
    l12: float = 0.0,
    l21: float = 0.0,
    l22: float = 0.0,
) -> Params:
    """Gradient of :func:`penalized_loss` with respect to W1, b1, W2, b2.

    ``dL/do^a = (o^s - onehot(y)) / n``; ``dW2 = (dL/do^a)^T h^s``; back through the ReLU
    ``dL/dh^a = (dL/do^a W2) * 1[h^a > 0]``; ``dW1 = (dL/dh^a)^T X``; plus the penalty terms
    ``l11 sign(W1) + 2 l12 W1`` and ``l21 sign(W2) + 2 l22 W2`` (sign(0) = 0).

    Parameters
    ----------
    params : dict with W1 (d_h, d), b1 (d_h,), W2 (m, d_h), b2 (m,)
    X : array_like, shape (n, d)
    y : array_like of int, shape (n,), values in [0, m)
    l11, l12, l21, l22 : float
        Penalty weights (L1 and squared L2, for W1 and W2).

    Returns
    -------
    grads : dict
        W1 (d_h, d), b1 (d_h,), W2 (m, d_h), b2 (m,).
    """
    W1, b1, W2, b2 = _unpack(params)
    X = _inputs(W1, X)
    y = _targets(y, X.shape[0], W2.shape[0])
    n = X.shape[0]
    ha, hs, oa = _forward(W1, b1, W2, b2, X)
    g_oa = softmax(oa)
    g_oa[np.arange(n), y] -= 1.0
    g_oa /= n  # (n, m)
    g_ha = (g_oa @ W2) * drelu(ha)  # (n, d_h)
    return {
        "W1": g_ha.T @ X + l11 * sign(W1) + 2 * l12 * W1,
        "b1": g_ha.sum(axis=0),
        "W2": g_oa.T @ hs + l21 * sign(W2) + 2 * l22 * W2,
        "b2": g_oa.sum(axis=0),
    }


def grad_input(params: Mapping[str, ArrayLike], x: ArrayLike, y: ArrayLike) -> Array:
    """Gradient of the NLL of an example with respect to its input.

    Parameters
    ----------
    params : dict
    x : array_like, shape (d,) for one example, or (n, d) for a batch
    y : int for one example, or array_like of int, shape (n,)

    Returns
    -------
    g : ndarray, shape of ``x``
        One example: ``d(-log o^s_y(x))/dx``. A batch: row i is the gradient of example i's
        own NLL with respect to x_i (NOT divided by n, unlike the mean ``loss``).
    """
    W1, b1, W2, b2 = _unpack(params)
    x_arr = np.asarray(x, dtype=np.float64)
    single = x_arr.ndim == 1
    X = _inputs(W1, x_arr[None, :] if single else x_arr)
    y = _targets(np.atleast_1d(y) if single else y, X.shape[0], W2.shape[0])
    ha, _, oa = _forward(W1, b1, W2, b2, X)
    g_oa = softmax(oa)
    g_oa[np.arange(len(y)), y] -= 1.0
    g = ((g_oa @ W2) * drelu(ha)) @ W1  # (n, d)
    return g[0] if single else g


def predict(params: Mapping[str, ArrayLike], X: ArrayLike) -> NDArray[np.int64]:
    """Most probable class for every row of ``X``, shape (n,)."""
    W1, b1, W2, b2 = _unpack(params)
    return np.argmax(_forward(W1, b1, W2, b2, _inputs(W1, X))[2], axis=1).astype(np.int64)


def accuracy(params: Mapping[str, ArrayLike], X: ArrayLike, y: ArrayLike) -> float:
    """Fraction of rows of ``X`` classified as ``y``."""
    return float(np.mean(predict(params, X) == np.asarray(y)))


# --------------------------------------------------------------------------- gradient check
def grad_check(
    f: Callable[[Array], float],
    grad_f: Callable[[Array], ArrayLike],
    theta: ArrayLike,
    eps: float = 1e-5,
) -> float:
    """Max relative error between ``grad_f(theta)`` and central differences of ``f``.

    The error is ``max|g - g_num| / max(max|g|, max|g_num|)`` over all coordinates (see
    :func:`mlhw_ref.gradcheck.relative_error`): about 1e-9 for a correct float64 gradient,
    of order 1 for a wrong one.
    """
    return max_relative_error(f, grad_f, theta, eps)


# --------------------------------------------------------------------------- training
def init_params(d: int, d_h: int, m: int, rng: np.random.Generator) -> Params:
    """He-normal weights (W1 ~ N(0, 2/d), W2 ~ N(0, 2/d_h)) and zero biases."""
    return {
        "W1": rng.normal(0.0, np.sqrt(2.0 / d), size=(d_h, d)),
        "b1": np.zeros(d_h),
        "W2": rng.normal(0.0, np.sqrt(2.0 / d_h), size=(m, d_h)),
        "b2": np.zeros(m),
    }


def train(
    X: ArrayLike,
    y: ArrayLike,
    d_h: int,
    lr: float,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator | int | None,
    *,
    valid_fraction: float = 0.2,
    n_classes: int | None = None,
    l11: float = 0.0,
    l12: float = 0.0,
    l21: float = 0.0,
    l22: float = 0.0,
) -> tuple[Params, dict[str, list[float]]]:
    """Mini-batch SGD on the penalised mean NLL, with a held-out validation split.

    A random ``valid_fraction`` of the rows (``round(valid_fraction * n)``, at least one),
    chosen with ``rng``, is held out for validation; the rest is shuffled afresh each epoch
    and visited in batches of ``batch_size``; each step is ``theta <- theta - lr * bprop``
    (``bprop`` is already a batch mean). Weights start from :func:`init_params`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    d_h : int
        Hidden units.
    lr : float
    epochs : int
    batch_size : int
    rng : numpy.random.Generator, int or None
        Split, initialisation and shuffling (an int seeds a new Generator).
    valid_fraction : float in (0, 1)
    n_classes : int, optional
        Number of classes m; default ``max(y) + 1``.
    l11, l12, l21, l22 : float
        Penalty weights, as in :func:`bprop`.

    Returns
    -------
    params : dict
        W1 (d_h, d), b1 (d_h,), W2 (m, d_h), b2 (m,).
    history : dict of lists of float, each of length ``epochs``
        ``train_loss``, ``valid_loss`` (mean NLL without penalty) and ``train_acc``,
        ``valid_acc``, measured after each epoch on the training and validation splits.
    """
    rng = np.random.default_rng(rng)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be (n_samples, n_features), got shape {X.shape}.")
    m = int(n_classes) if n_classes is not None else int(np.max(y)) + 1
    y = _targets(y, X.shape[0], m)
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}.")
    n = X.shape[0]
    n_valid = max(1, round(valid_fraction * n))
    if n - n_valid < 1 or d_h < 1 or batch_size < 1 or epochs < 0 or not lr > 0:
        raise ValueError(
            f"need at least 2 examples (got {n}), d_h >= 1, batch_size >= 1, epochs >= 0 and "
            f"lr > 0; got d_h={d_h}, batch_size={batch_size}, epochs={epochs}, lr={lr}."
        )
    order = rng.permutation(n)
    X_va, y_va = X[order[:n_valid]], y[order[:n_valid]]
    X_tr, y_tr = X[order[n_valid:]], y[order[n_valid:]]
    params = init_params(X.shape[1], d_h, m, rng)
    history: dict[str, list[float]] = {
        k: [] for k in ("train_loss", "valid_loss", "train_acc", "valid_acc")
    }
    for _ in range(epochs):
        perm = rng.permutation(len(y_tr))
        for start in range(0, len(perm), batch_size):
            batch = perm[start : start + batch_size]
            grads = bprop(params, X_tr[batch], y_tr[batch], l11, l12, l21, l22)
            params = {k: params[k] - lr * grads[k] for k in _KEYS}
        history["train_loss"].append(loss(params, X_tr, y_tr))
        history["valid_loss"].append(loss(params, X_va, y_va))
        history["train_acc"].append(accuracy(params, X_tr, y_tr))
        history["valid_acc"].append(accuracy(params, X_va, y_va))
    return params, history


def plot_decision_boundary(
    params: Mapping[str, ArrayLike], X: ArrayLike, y: ArrayLike, *, resolution: int = 200
) -> Figure:
    """Predicted class over the plane (filled contour) with the data on top (scatter).

    Parameters
    ----------
    params : dict, for inputs of dimension d = 2
    X : array_like, shape (n, 2)
    y : array_like of int, shape (n,)
    resolution : int
        Grid points per axis.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with one contour set and one scatter collection of n points.
    """
    W1 = _unpack(params)[0]
    X = _inputs(W1, X)
    if X.shape[1] != 2:
        raise ValueError(f"a decision boundary can be drawn for 2-D inputs only; X is {X.shape}.")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-12)
    g0, g1 = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution),
    )
    Z = predict(params, np.column_stack([g0.ravel(), g1.ravel()])).reshape(g0.shape)
    m = np.asarray(params["W2"]).shape[0]
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.contourf(g0, g1, Z, levels=np.arange(m + 1) - 0.5, cmap="coolwarm", alpha=0.35)
    ax.scatter(
        X[:, 0], X[:, 1], c=np.asarray(y), cmap="coolwarm", s=12, edgecolors="k", linewidths=0.3
    )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("Predicted class and data")
    ax.set_aspect("equal")
    return fig
