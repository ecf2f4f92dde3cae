"""The deep scalar chain (assignment 3, ``deep_chain``).

A chain of ``l`` tanh units, one scalar weight (and optional bias) per layer, applied to
``m`` examples at once::

    h_0 = x,   u_k = h_{k-1} w_k + 1 b_k,   h_k = tanh(u_k),   k = 1..l,
    J = 1/(2m) ||y - h_l||^2,   g_k = dJ/du_k.

Arrays are 0-based: ``u[k-1]`` is u_k, ``h[k]`` is h_k (``h[0] = x``), ``g[k-1]`` is g_k and
``w[k-1]`` is w_k. Also the two-layer matrix network of question 6 and the plots of
question 8.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:  # matplotlib is imported only when a plot is made
    from matplotlib.figure import Figure

__all__ = [
    "SHRINK_FACTOR",
    "SHRINK_FACTOR_SYMBOLIC",
    "chain_backward",
    "chain_cost",
    "chain_forward",
    "chain_gradients",
    "dtanh",
    "first_iteration_trace",
    "plot_costs",
    "plot_trace",
    "shrink_factor",
    "train_chain",
    "two_layer_cost",
    "two_layer_grads",
]

Array = NDArray[np.float64]


# --------------------------------------------------------------------------- helpers
def _vector(name: str, value: ArrayLike) -> Array:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array, got shape {arr.shape}; pass one value per "
            f"{'example' if name in ('x', 'y') else 'layer'}."
        )
    return arr


def _weights(w: ArrayLike, b: ArrayLike | None) -> tuple[Array, Array | None]:
    w = _vector("w", w)
    if w.size == 0:
        raise ValueError("w is empty: the chain needs at least one layer (one weight per layer).")
    if b is None:
        return w, None
    b = _vector("b", b)
    if b.shape != w.shape:
        raise ValueError(
            f"b has shape {b.shape} but w has shape {w.shape}; give one bias per layer or b=None."
        )
    return w, b


def dtanh(u: ArrayLike) -> Array:
    """tanh'(u) = 1 - tanh(u)^2 = sech(u)^2, accurate to full relative precision.

    Uses sech^2(u) = 4 e^{-2|u|} / (1 + e^{-2|u|})^2: ``1 - tanh(u)**2`` cancels
    catastrophically for |u| >~ 5 and is exactly 0 beyond |u| ~ 19, which would hide
    the vanishing-gradient magnitudes this assignment is about.
    """
    e = np.exp(-2.0 * np.abs(np.asarray(u, dtype=np.float64)))
    return 4.0 * e / (1.0 + e) ** 2


def shrink_factor(w: float = 5.0) -> float:
    """Per-layer factor |g_{k-1}| / |g_k| = w sech^2(w) of a saturated chain (h ~ +-1).

    At w = 5 it is 5 sech^2(5) ~ 9.1e-4, so over 99 layers g shrinks by ~1e-301.
    """
    return float(w * dtanh(w))


SHRINK_FACTOR: float = shrink_factor(5.0)
"""5 sech^2(5), numerically."""

SHRINK_FACTOR_SYMBOLIC: str = "5*sech(5)**2"
"""The symbolic answer of question 5 (sympy syntax)."""


# --------------------------------------------------------------------------- the chain
def chain_forward(x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None) -> tuple[Array, Array]:
    """Forward pass through the chain.

    Parameters
    ----------
    x : (m,) inputs, one per example.
    w : (l,) one weight per layer.
    b : (l,) one bias per layer, or None for no bias.

    Returns
    -------
    u : (l, m) pre-activations, ``u[k-1]`` = u_k.
    h : (l+1, m) activations, ``h[0] = x``, ``h[k]`` = tanh(u_k).
    """
    x = _vector("x", x)
    w, b = _weights(w, b)
    l, m = w.size, x.size
    u = np.empty((l, m))
    h = np.empty((l + 1, m))
    h[0] = x
    for k in range(l):  # layers are sequential; each step is vectorised over examples
        u[k] = h[k] * w[k] if b is None else h[k] * w[k] + b[k]
        h[k + 1] = np.tanh(u[k])
    return u, h


def chain_cost(x: ArrayLike, y: ArrayLike, w: ArrayLike, b: ArrayLike | None = None) -> float:
    """J = 1/(2m) ||y - h_l||^2 for inputs x (m,), targets y (m,), w (l,), b (l,) or None."""
    y = _vector("y", y)
    _, h = chain_forward(x, w, b)
    if y.shape != h[-1].shape:
        raise ValueError(f"y has shape {y.shape} but x has shape {h[0].shape}; they must match.")
    r = y - h[-1]
    return float(r @ r / (2.0 * y.size))


def chain_backward(u: ArrayLike, h: ArrayLike, y: ArrayLike, w: ArrayLike) -> Array:
    """Backward pass: g_k = dJ/du_k for every layer.

    g_l = (1/m) tanh'(u_l) * (h_l - y),  g_{k-1} = tanh'(u_{k-1}) * g_k w_k.

    Parameters
    ----------
    u : (l, m) pre-activations from :func:`chain_forward`.
    h : (l+1, m) activations from :func:`chain_forward`.
    y : (m,) targets.
    w : (l,) weights.

    Returns
    -------
    g : (l, m), ``g[k-1]`` = g_k. In 0-based terms g[k-1] = tanh'(u[k-1]) * g[k] * w[k].
    """
    u = np.asarray(u, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    y = _vector("y", y)
    w = _vector("w", w)
    if u.ndim != 2 or h.shape != (u.shape[0] + 1, u.shape[1]) or w.shape != (u.shape[0],):
        raise ValueError(
            f"inconsistent shapes: u {u.shape}, h {h.shape}, w {w.shape}; expected "
            "u (l, m), h (l+1, m), w (l,) as returned by chain_forward."
        )
    if y.shape != (u.shape[1],):
        raise ValueError(f"y has shape {y.shape}, expected ({u.shape[1]},) (one per example).")
    l, m = u.shape
    d = dtanh(u)
    g = np.empty((l, m))
    g[-1] = d[-1] * (h[-1] - y) / m
    for k in range(l - 1, 0, -1):
        g[k - 1] = d[k - 1] * g[k] * w[k]
    return g


def chain_gradients(h: ArrayLike, g: ArrayLike) -> tuple[Array, Array]:
    """Weight and bias gradients from the forward activations and backward signals.

    Parameters
    ----------
    h : (l+1, m) activations.
    g : (l, m) backward signals g_k = dJ/du_k.

    Returns
    -------
    dw : (l,) dJ/dw_k = h_{k-1}^T g_k.
    db : (l,) dJ/db_k = 1^T g_k.
    """
    h = np.asarray(h, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or h.shape != (g.shape[0] + 1, g.shape[1]):
        raise ValueError(f"h has shape {h.shape} and g {g.shape}; expected h (l+1, m), g (l, m).")
    dw = np.einsum("km,km->k", h[:-1], g)
    db = g.sum(axis=1)
    return dw, db


def train_chain(
    x: ArrayLike,
    y: ArrayLike,
    w0: ArrayLike,
    b0: ArrayLike | None = None,
    alpha: float = 0.1,
    max_iter: int = 1000,
) -> tuple[Array, Array | None, Array]:
    """Plain gradient descent on w (and b when ``b0`` is given).

    Parameters
    ----------
    x, y : (m,) inputs and targets.
    w0 : (l,) initial weights (not modified).
    b0 : (l,) initial biases (not modified), or None to train without bias.
    alpha : learning rate.
    max_iter : number of updates.

    Returns
    -------
    w : (l,) final weights.
    b : (l,) final biases, or None when ``b0`` is None.
    costs : (max_iter + 1,) J before the first update and after each update.
    """
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}.")
    y = _vector("y", y)
    w, b = _weights(w0, b0)
    w = w.copy()
    b = None if b is None else b.copy()
    costs = np.empty(int(max_iter) + 1)
    for t in range(int(max_iter) + 1):
        u, h = chain_forward(x, w, b)
        if t == 0 and y.shape != h[0].shape:
            raise ValueError(
                f"y has shape {y.shape} but x has shape {h[0].shape}; they must match."
            )
        r = h[-1] - y
        costs[t] = r @ r / (2.0 * y.size)
        if t == max_iter:
            break
        dw, db = chain_gradients(h, chain_backward(u, h, y, w))
        w -= alpha * dw
        if b is not None:
            b -= alpha * db
    return w, b, costs


def first_iteration_trace(x: ArrayLike, y: ArrayLike, w0: ArrayLike) -> tuple[Array, Array]:
    """The forward activations and backward signals of the first training iteration.

    These are the values that the first gradient-descent update of :func:`train_chain`
    (no bias) uses: the forward pass and backward pass at the initial weights ``w0``,
    before any update.

    Parameters
    ----------
    x, y : (m,) inputs and targets.
    w0 : (l,) initial weights.

    Returns
    -------
    h : (l+1, m) activations, ``h[0] = x``.
    g : (l, m) backward signals, ``g[k-1]`` = dJ/du_k.
    """
    u, h = chain_forward(x, w0)
    return h, chain_backward(u, h, y, w0)


# --------------------------------------------------------------------------- two-layer network
def _two_layer_check(X: Array, W1: Array, b: Array, W2: Array, Y: Array) -> None:
    m, d = X.shape if X.ndim == 2 else (None, None)
    ok = (
        X.ndim == 2
        and W1.ndim == 2
        and W1.shape[0] == d
        and b.shape == (W1.shape[1],)
        and W2.ndim == 2
        and W2.shape[0] == W1.shape[1]
        and Y.shape == (W2.shape[1], m)
    )
    if not ok:
        raise ValueError(
            f"inconsistent shapes: X {X.shape}, W1 {W1.shape}, b {b.shape}, W2 {W2.shape}, "
            f"Y {Y.shape}; expected X (m, d), W1 (d, h), b (h,), W2 (h, c), Y (c, m)."
        )


def two_layer_cost(
    X: ArrayLike,
    W1: ArrayLike,
    b: ArrayLike,
    W2: ArrayLike,
    Y: ArrayLike,
    phi: Callable[[Array], Array],
) -> float:
    """J = -(1/m) tr(U2 Y) with U1 = X W1 + 1 b^T, H = phi(U1), U2 = H W2.

    Shapes as in :func:`two_layer_grads`.
    """
    X, W1, b, W2, Y = (np.asarray(a, dtype=np.float64) for a in (X, W1, b, W2, Y))
    _two_layer_check(X, W1, b, W2, Y)
    U2 = np.asarray(phi(X @ W1 + b), dtype=np.float64) @ W2
    # tr(U2 Y) = sum_ij U2_ij Y_ji, without forming the (m, m) product
    return float(-np.sum(U2 * Y.T) / X.shape[0])


def two_layer_grads(
    X: ArrayLike,
    W1: ArrayLike,
    b: ArrayLike,
    W2: ArrayLike,
    Y: ArrayLike,
    phi: Callable[[Array], Array],
    dphi: Callable[[Array], Array],
) -> tuple[Array, Array, Array, Array]:
    """Backward signals and first-layer gradients of the two-layer network.

    U1 = X W1 + 1 b^T, H = phi(U1), U2 = H W2, J = -(1/m) tr(U2 Y).

    Parameters
    ----------
    X : (m, d) inputs, one row per example.
    W1 : (d, h) first-layer weights.
    b : (h,) first-layer bias.
    W2 : (h, c) second-layer weights.
    Y : (c, m) targets, one column per example (so that U2 Y is (m, m)).
    phi, dphi : elementwise activation and its derivative.

    Returns
    -------
    G2 : (m, c) dJ/dU2 = -(1/m) Y^T.
    G1 : (m, h) dJ/dU1 = phi'(U1) * (G2 W2^T).
    dW1 : (d, h) dJ/dW1 = X^T G1.
    db : (h,) dJ/db = 1^T G1.
    """
    X, W1, b, W2, Y = (np.asarray(a, dtype=np.float64) for a in (X, W1, b, W2, Y))
    _two_layer_check(X, W1, b, W2, Y)
    m = X.shape[0]
    U1 = X @ W1 + b
    G2 = -Y.T / m
    G1 = np.asarray(dphi(U1), dtype=np.float64) * (G2 @ W2.T)
    return G2, G1, X.T @ G1, G1.sum(axis=0)


# --------------------------------------------------------------------------- plots
def plot_costs(costs_by_init: Mapping[str, ArrayLike]) -> Figure:
    """J against iteration on a log y-axis, one line per initialisation (labelled by key)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for label, costs in costs_by_init.items():
        c = np.asarray(costs, dtype=np.float64)
        ax.plot(np.arange(c.size), c, label=str(label))
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost J")
    ax.set_title("Training cost of the deep chain")
    if costs_by_init:
        ax.legend()
    return fig


def plot_trace(h: ArrayLike, g: ArrayLike) -> Figure:
    """Per-layer magnitudes of the forward and backward signals on a log y-axis.

    Plots ||h_k||_2 over examples against k = 0..l (l+1 points) and ||g_k||_2 against
    k = 1..l (l points), for h (l+1, m) and g (l, m).
    """
    h = np.asarray(h, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or h.shape != (g.shape[0] + 1, g.shape[1]):
        raise ValueError(f"h has shape {h.shape} and g {g.shape}; expected h (l+1, m), g (l, m).")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    l = g.shape[0]
    ax.plot(np.arange(l + 1), np.linalg.norm(h, axis=1), marker=".", label="|h_k|")
    ax.plot(np.arange(1, l + 1), np.linalg.norm(g, axis=1), marker=".", label="|g_k|")
    ax.set_yscale("log")
    ax.set_xlabel("layer k")
    ax.set_ylabel("magnitude (2-norm over examples)")
    ax.set_title("Forward and backward signals at the first iteration")
    ax.legend()
    return fig
