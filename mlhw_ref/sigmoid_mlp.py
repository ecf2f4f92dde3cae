"""Sigmoid MLP for binary classification (assignment 2, ``sigmoid_mlp``).

A network with ``d >= 0`` sigmoid hidden layers and one sigmoid output unit::

    h_0 = x,   a_l = W_l^T h_{l-1} + b_l,   h_l = sigmoid(a_l),   l = 1..d,
    z = w_{d+1}^T h_d + b_{d+1},   f = sigmoid(z),
    L = -sum_n [ y_n log f_n + (1 - y_n) log(1 - f_n) ]      (a SUM over examples).

``params`` keys: ``W1, b1, ..., Wd, bd`` (``Wl`` of shape (n_{l-1}, n_l), ``bl`` (n_l,)) and
``w{d+1}`` (n_d,), ``b{d+1}`` (a float) for the output unit; for the assignment's 784-H-H-1
network these are W1, b1, W2, b2, w3, b3. ``sizes`` lists the widths from the input to the
output, e.g. ``[784, H, H, 1]``.

Also here: the He initialisation check (``relu_stack_variances``) and the vanishing-gradient
experiment (``grad_w1_norm``, ``grad_norms_by_depth``, ``log10_slope``, ``plot_grad_norms``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .activations import dsigmoid, log_sigmoid, relu, sigmoid

if TYPE_CHECKING:  # matplotlib is imported only when a plot is made
    from matplotlib.figure import Figure

__all__ = [
    "accuracy",
    "backward",
    "depth",
    "forward",
    "grad_norms_by_depth",
    "grad_w1_norm",
    "he_std",
    "init_params",
    "log10_slope",
    "loss",
    "plot_grad_norms",
    "predict",
    "relu_stack_variances",
    "train",
]

Array = NDArray[np.float64]
Params = dict[str, Array | float]
Scheme = Literal["he", "normal"]

_HIDDEN_KEY = re.compile(r"W(\d+)$")


# --------------------------------------------------------------------------- validation
def depth(params: Mapping[str, ArrayLike | float]) -> int:
    """Number of hidden layers ``d`` of a parameter dict (checks keys and shapes).

    Raises
    ------
    KeyError, ValueError
        With the missing key or the mismatched shape named.
    """
    hidden = sorted(int(m.group(1)) for k in params if (m := _HIDDEN_KEY.match(k)))
    d = len(hidden)
    if hidden != list(range(1, d + 1)):
        raise KeyError(
            f"hidden-layer weights must be W1..Wd without gaps, got {[f'W{i}' for i in hidden]}."
        )
    expected = [f"{p}{l}" for l in range(1, d + 1) for p in "Wb"] + [f"w{d + 1}", f"b{d + 1}"]
    missing = [k for k in expected if k not in params]
    if missing:
        raise KeyError(
            f"params for a network with {d} hidden layer(s) need keys {expected}; "
            f"missing {missing}."
        )
    n_prev = None
    for l in range(1, d + 1):
        W, b = np.shape(params[f"W{l}"]), np.shape(params[f"b{l}"])
        if len(W) != 2 or b != (W[1],) or (n_prev is not None and W[0] != n_prev):
            raise ValueError(
                f"W{l} has shape {W} and b{l} {b}: expected W{l} (n_{l - 1}, n_{l}) with "
                f"n_{l - 1} = {n_prev if n_prev is not None else 'input size'} and b{l} (n_{l},)."
            )
        n_prev = W[1]
    w, b = np.shape(params[f"w{d + 1}"]), np.shape(params[f"b{d + 1}"])
    if len(w) != 1 or (n_prev is not None and w[0] != n_prev) or b not in ((), (1,)):
        raise ValueError(
            f"output weights w{d + 1} {w} and bias b{d + 1} {b}: expected a vector of length "
            f"{n_prev if n_prev is not None else 'input size'} and a scalar."
        )
    return d


def _data(params: Mapping[str, ArrayLike | float], X: ArrayLike) -> tuple[int, Array]:
    d = depth(params)
    X = np.asarray(X, dtype=np.float64)
    n_in = np.shape(params["W1"])[0] if d else np.shape(params["w1"])[0]
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(
            f"X has shape {X.shape}, expected (n_samples, {n_in}) for these params "
            "(one row per example)."
        )
    return d, X


def _labels(y: ArrayLike, n: int) -> Array:
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"y has shape {y.shape}, expected ({n},): one 0/1 label per row of X.")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y must hold 0/1 labels, got values {np.unique(y)[:5]}...")
    return y


# --------------------------------------------------------------------------- forward/backward
def _forward(params: Mapping[str, ArrayLike | float], X: Array, d: int) -> tuple[Array, list]:
    """Output logits z (n,) and the cache [(h_{l-1}, a_l) for l = 1..d] + [h_d]."""
    h = X
    cache = []
    for l in range(1, d + 1):
        a = h @ np.asarray(params[f"W{l}"], dtype=np.float64) + np.asarray(params[f"b{l}"])
        cache.append((h, a))
        h = sigmoid(a)
    cache.append(h)
    z = h @ np.asarray(params[f"w{d + 1}"], dtype=np.float64) + float(params[f"b{d + 1}"])
    return z, cache


def forward(params: Mapping[str, ArrayLike | float], X: ArrayLike) -> Array:
    """Network output ``f = sigmoid(z)`` for every row of ``X``.

    Parameters
    ----------
    params : dict
        W1, b1, ..., w{d+1}, b{d+1} as in the module docstring.
    X : array_like, shape (n_samples, n_inputs)

    Returns
    -------
    f : ndarray, shape (n_samples,), values in [0, 1]
    """
    d, X = _data(params, X)
    z, _ = _forward(params, X, d)
    return sigmoid(z)


def loss(params: Mapping[str, ArrayLike | float], X: ArrayLike, y: ArrayLike) -> float:
    """Summed binary cross-entropy ``-sum_n [y log f + (1 - y) log(1 - f)]``.

    Stable: computed from the logit as ``-[y log_sigmoid(z) + (1 - y) log_sigmoid(-z)]``
    (``log(1 - sigmoid(z)) = log_sigmoid(-z)``), so it stays finite for any finite z.

    Parameters
    ----------
    params : dict
    X : array_like, shape (n_samples, n_inputs)
    y : array_like, shape (n_samples,), values in {0, 1}

    Returns
    -------
    L : float, >= 0
    """
    d, X = _data(params, X)
    y = _labels(y, X.shape[0])
    z, _ = _forward(params, X, d)
    return float(-np.sum(y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z)))


def backward(
    params: Mapping[str, ArrayLike | float], X: ArrayLike, y: ArrayLike
) -> dict[str, Array | float]:
    """Gradient of the summed loss with respect to every parameter.

    Backpropagation: ``dL/dz = f - y``, then through layer l
    ``delta_l = (delta_{l+1} W_{l+1}^T) * sigmoid'(a_l)``,
    ``dL/dW_l = h_{l-1}^T delta_l``, ``dL/db_l = sum_n delta_l``.

    Parameters
    ----------
    params : dict
    X : array_like, shape (n_samples, n_inputs)
    y : array_like, shape (n_samples,), values in {0, 1}

    Returns
    -------
    grads : dict
        Same keys and shapes as ``params``; ``grads["b{d+1}"]`` is a float.
    """
    d, X = _data(params, X)
    y = _labels(y, X.shape[0])
    z, cache = _forward(params, X, d)
    delta = sigmoid(z) - y  # (n,)
    h = cache[-1]
    w = np.asarray(params[f"w{d + 1}"], dtype=np.float64)
    grads: dict[str, Array | float] = {f"w{d + 1}": h.T @ delta, f"b{d + 1}": float(delta.sum())}
    back = np.outer(delta, w)  # dL/dh_d, (n, n_d)
    for l in range(d, 0, -1):
        h_prev, a = cache[l - 1]
        delta_l = back * dsigmoid(a)  # dL/da_l, (n, n_l)
        grads[f"W{l}"] = h_prev.T @ delta_l
        grads[f"b{l}"] = delta_l.sum(axis=0)
        if l > 1:
            back = delta_l @ np.asarray(params[f"W{l}"], dtype=np.float64).T
    return {k: grads[k] for k in params if k in grads}


# --------------------------------------------------------------------------- initialisation
def he_std(n_in: int) -> float:
    """He standard deviation ``sqrt(2 / n_in)`` (variance 2/n_in keeps ReLU layers' scale)."""
    if n_in < 1:
        raise ValueError(f"n_in must be a positive layer width, got {n_in}.")
    return float(np.sqrt(2.0 / n_in))


def init_params(sizes: Sequence[int], rng: np.random.Generator, scheme: Scheme = "he") -> Params:
    """Random weights, zero biases, for the layer widths ``sizes``.

    Parameters
    ----------
    sizes : sequence of int
        Widths from the input to the output, e.g. ``[784, H, H, 1]``; the last must be 1.
    rng : numpy.random.Generator
    scheme : {"he", "normal"}
        "he": each weight ~ N(0, 2 / n_in) with n_in the width of the layer below;
        "normal": each weight ~ N(0, 1).

    Returns
    -------
    params : dict
        W1 (sizes[0], sizes[1]), b1 (sizes[1],), ..., w{d+1} (sizes[-2],), b{d+1} = 0.0,
        with d = len(sizes) - 2 hidden layers.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or sizes[-1] != 1 or min(sizes) < 1:
        raise ValueError(
            f"sizes must list positive widths from input to a single output unit, e.g. "
            f"[784, 32, 32, 1]; got {sizes}."
        )
    if scheme not in ("he", "normal"):
        raise ValueError(f"scheme must be 'he' or 'normal', got {scheme!r}.")
    d = len(sizes) - 2
    params: Params = {}
    for l in range(1, d + 2):
        n_in, n_out = sizes[l - 1], sizes[l]
        std = he_std(n_in) if scheme == "he" else 1.0
        if l <= d:
            params[f"W{l}"] = rng.normal(0.0, std, size=(n_in, n_out))
            params[f"b{l}"] = np.zeros(n_out)
        else:
            params[f"w{l}"] = rng.normal(0.0, std, size=n_in)
            params[f"b{l}"] = 0.0
    return params


# --------------------------------------------------------------------------- training
def predict(params: Mapping[str, ArrayLike | float], X: ArrayLike) -> NDArray[np.int64]:
    """Predicted labels ``1[z >= 0]`` (i.e. ``f >= 1/2``), shape (n_samples,)."""
    d, X = _data(params, X)
    z, _ = _forward(params, X, d)
    return (z >= 0).astype(np.int64)


def accuracy(params: Mapping[str, ArrayLike | float], X: ArrayLike, y: ArrayLike) -> float:
    """Fraction of rows of ``X`` whose predicted label equals ``y``."""
    return float(np.mean(predict(params, X) == np.asarray(y)))


def train(
    X: ArrayLike,
    y: ArrayLike,
    sizes: Sequence[int] = (784, 32, 32, 1),
    lr: float = 0.5,
    batch_size: int = 32,
    epochs: int = 3,
    rng: np.random.Generator | int | None = None,
    *,
    scheme: Scheme = "he",
) -> Params:
    """Mini-batch SGD on the summed cross-entropy, starting from :func:`init_params`.

    Each epoch visits the examples in a fresh random order (drawn with ``rng``) in batches
    of ``batch_size`` (the last may be smaller); each step is
    ``theta <- theta - lr * grad / batch_len``, i.e. ``lr`` multiplies the batch-MEAN
    gradient, so its value does not depend on the batch size.

    Documented call (MNIST 0 vs 1, pixels scaled to [0, 1]): the defaults,
    ``train(X_train / 255, y_train, [784, 32, 32, 1], lr=0.5, batch_size=32, epochs=3,
    rng=np.random.default_rng(0))``, reach over 99.5% test accuracy in about a second.

    Parameters
    ----------
    X : array_like, shape (n_samples, sizes[0])
        Inputs, best scaled to [0, 1] (sigmoid units saturate on raw 0-255 pixels).
    y : array_like, shape (n_samples,), values in {0, 1}
    sizes : sequence of int
        Layer widths from input to output (last 1); any number of hidden layers.
    lr : float
        Step size applied to the batch-mean gradient.
    batch_size : int
    epochs : int
    rng : numpy.random.Generator, int or None
        Initialisation and shuffling; an int seeds a new Generator, None draws fresh entropy.
    scheme : {"he", "normal"}
        Initialisation passed to :func:`init_params`.

    Returns
    -------
    params : dict
        Trained parameters (keys as in :func:`init_params`).
    """
    rng = np.random.default_rng(rng)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != sizes[0]:
        raise ValueError(
            f"X has shape {X.shape}; expected (n_samples, {sizes[0]}) for sizes {list(sizes)}."
        )
    y = _labels(y, X.shape[0])
    if batch_size < 1 or epochs < 0 or not lr > 0:
        raise ValueError(
            f"need batch_size >= 1, epochs >= 0, lr > 0; got {batch_size}, {epochs}, {lr}."
        )
    params = init_params(sizes, rng, scheme)
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            grads = backward(params, X[batch], y[batch])
            step = lr / len(batch)
            for key, g in grads.items():
                params[key] = params[key] - step * g
    return params


# --------------------------------------------------------------------------- experiments
def relu_stack_variances(
    n_layers: int,
    width: int,
    rng: np.random.Generator,
    *,
    scheme: Scheme = "he",
    n_samples: int = 32,
    n_stacks: int = 1,
) -> Array:
    """Variance of the pre-activations z_l through deep ReLU stacks (the He check).

    ``h_0 ~ N(0, I)`` (``n_samples`` rows), ``z_l = h_{l-1} W_l``, ``h_l = relu(z_l)`` with
    ``W_1..W_{n_layers}`` (width x width) from :func:`init_params` with ``scheme`` (biases 0).
    With "he", ``E[Var z_l]`` is exactly constant in l (``2/n * n * E[relu(z)^2] = Var z``);
    with "normal" it grows by ``width / 2`` per layer.

    One stack is a noisy estimate: its log-variance drifts like a random walk with step
    variance of order 1/width (measured at width 256, depth 30: the standard deviation of
    ``log(Var z_30 / Var z_1)`` across stacks is about 0.66, so a correct He stack leaves
    [0.7, 1.4] in most draws). Averaging ``n_stacks`` independent stacks gives the
    expectation: with 40 stacks of width 256 the ratio stays in [0.7, 1.4] in over 99% of
    draws.

    Parameters
    ----------
    n_layers, width : int
    rng : numpy.random.Generator
    scheme : {"he", "normal"}
    n_samples : int
        Number of random inputs pushed through each stack.
    n_stacks : int
        Number of independent stacks (weights and inputs) to average over.

    Returns
    -------
    var_z : ndarray, shape (n_layers,)
        Sample variance of all entries of z_l, averaged over the stacks, for l = 1..n_layers.
    """
    if n_layers < 1 or width < 1 or n_samples < 2 or n_stacks < 1:
        raise ValueError(
            f"need n_layers, width, n_stacks >= 1 and n_samples >= 2; got {n_layers}, "
            f"{width}, {n_stacks}, {n_samples}."
        )
    var_z = np.zeros(n_layers)
    for _ in range(n_stacks):
        params = init_params([width] * (n_layers + 1) + [1], rng, scheme)
        h = rng.standard_normal((n_samples, width))
        for l in range(1, n_layers + 1):
            z = h @ params[f"W{l}"]
            var_z[l - 1] += z.var()
            h = relu(z)
    return var_z / n_stacks


def grad_w1_norm(params: Mapping[str, ArrayLike | float], X: ArrayLike, y: ArrayLike) -> float:
    """Frobenius norm ``||dL/dW1||_F`` of the summed loss's gradient (any depth >= 1)."""
    if "W1" not in params:
        raise KeyError("grad_w1_norm needs a network with at least one hidden layer (key W1).")
    return float(np.linalg.norm(backward(params, X, y)["W1"]))


def grad_norms_by_depth(
    depths: Sequence[int],
    X: ArrayLike,
    y: ArrayLike,
    width: int,
    rng: np.random.Generator,
    weight_scale: float = 1.0,
    n_seeds: int = 5,
) -> Array:
    """``||dL/dW1||_F`` against depth, averaged over random networks (vanishing gradients).

    For each depth d and each of ``n_seeds`` draws, a network with d sigmoid hidden layers
    of ``width`` units gets weights ``weight_scale * N(0, 1)`` (``init_params`` scheme
    "normal", scaled) and zero biases; the norm is :func:`grad_w1_norm` on ``(X, y)``.

    Measured on 100 random [0, 1]^784 inputs with 20 units: with ``weight_scale=1`` the
    norm falls only about 0.2 decades per layer and a single draw is far from monotone;
    with 0.01 it falls about 2 decades per layer.

    Parameters
    ----------
    depths : sequence of int, each >= 1
    X : array_like, shape (n_samples, n_inputs)
    y : array_like, shape (n_samples,), values in {0, 1}
    width : int
    rng : numpy.random.Generator
    weight_scale : float
    n_seeds : int

    Returns
    -------
    norms : ndarray, shape (len(depths),)
        Arithmetic mean over the draws, for each depth in order.
    """
    X = np.asarray(X, dtype=np.float64)
    if min(depths, default=1) < 1 or n_seeds < 1:
        raise ValueError(f"depths must be >= 1 and n_seeds >= 1; got {list(depths)}, {n_seeds}.")
    norms = np.zeros(len(depths))
    for i, d in enumerate(depths):
        for _ in range(n_seeds):
            params = init_params([X.shape[1]] + [width] * d + [1], rng, "normal")
            params = {k: v * weight_scale if k[0] in "Ww" else v for k, v in params.items()}
            norms[i] += grad_w1_norm(params, X, y)
    return norms / n_seeds


def log10_slope(depths: ArrayLike, norms: ArrayLike) -> float:
    """Least-squares slope of ``log10(norms)`` against ``depths`` (decades per layer)."""
    depths = np.asarray(depths, dtype=np.float64)
    norms = np.asarray(norms, dtype=np.float64)
    if depths.shape != norms.shape or depths.ndim != 1 or depths.size < 2:
        raise ValueError(
            f"need two 1-D arrays of equal length >= 2, got {depths.shape} and {norms.shape}."
        )
    if np.any(norms <= 0):
        raise ValueError("norms must be positive to take log10.")
    return float(np.polyfit(depths, np.log10(norms), 1)[0])


def plot_grad_norms(depths: ArrayLike, norms: ArrayLike) -> Figure:
    """Figure of ``||dL/dW1||_F`` against depth, on a log y-axis.

    Parameters
    ----------
    depths : array_like, shape (k,)
    norms : array_like, shape (k,), positive

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with one line (depths, norms) and log-scaled y.
    """
    depths = np.asarray(depths, dtype=np.float64)
    norms = np.asarray(norms, dtype=np.float64)
    if depths.shape != norms.shape or depths.ndim != 1:
        raise ValueError(
            f"depths and norms must be 1-D of the same length, got {depths.shape} and {norms.shape}."
        )
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    ax.plot(depths, norms, marker="o")
    ax.set_yscale("log")
    ax.set_xlabel("number of hidden layers")
    ax.set_ylabel(r"$\|\partial L / \partial W_1\|_F$")
    ax.set_title("Gradient norm of the first layer against depth")
    fig.tight_layout()
    return fig
