"""Assignment 4, Part B: a 784-32-32-10 MLP on MNIST with per-sample SGD.

Sigmoid hidden layers, softmax output, cross-entropy loss ``-sum_c y_c log yhat_c``.
Parameters are two lists, ``weights = [W1 (784, 32), W2 (32, 32), W3 (32, 10)]`` and
``biases = [b1 (32,), b2 (32,), b3 (10,)]``; a layer computes ``z = h @ W + b``. Every
function accepts any layer sizes and any number of layers (all but the last are sigmoid),
so tests can use small networks.

Inputs are never modified: training works on copies and returns new lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.special import expit  # stable logistic sigmoid (no overflow for large |z|)

__all__ = [
    "BatchCache",
    "backward_batch",
    "feed_forward_dataset",
    "feed_forward_sample",
    "forward_batch",
    "gradients_one_sample",
    "init_weights",
    "log_softmax",
    "softmax",
    "train_epochs",
    "train_one_sample",
]

SIZES = (784, 32, 32, 10)
Params = list[np.ndarray]


def init_weights(rng: np.random.Generator, sizes: Sequence[int] = SIZES) -> tuple[Params, Params]:
    """Weights ``W_l ~ N(0, 1 / max(n_in, n_out))``, biases zero.

    Parameters
    ----------
    rng : numpy.random.Generator
    sizes : sequence of int
        Layer widths from input to output, default (784, 32, 32, 10).

    Returns
    -------
    weights : list of ndarray, shapes (sizes[l], sizes[l+1])
    biases : list of ndarray, shapes (sizes[l+1],)
    """
    weights = [rng.normal(0.0, 1.0 / np.sqrt(max(n_in, n_out)), size=(n_in, n_out))
               for n_in, n_out in pairwise(sizes)]
    biases = [np.zeros(n_out) for n_out in sizes[1:]]
    return weights, biases


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis, stable: the max is subtracted before exp."""
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (via the stable log-softmax)."""
    return np.exp(log_softmax(z))


@dataclass(frozen=True)
class BatchCache:
    """Activations saved by the forward pass for the backward pass.

    Attributes
    ----------
    h : list of ndarray
        ``h[0]`` is the input (n, n_0); ``h[l]`` (n, n_l) the sigmoid output of hidden
        layer l, for l = 1..L-1.
    log_probs : ndarray, shape (n, n_classes)
        Log-softmax of the output layer.
    """

    h: list[np.ndarray]
    log_probs: np.ndarray


def forward_batch(X: np.ndarray, labels: np.ndarray, weights: Params,
                  biases: Params) -> tuple[float, BatchCache]:
    """Forward pass over a batch; mean cross-entropy.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features) or (n_features,)
    labels : int array, shape (n_samples,) (or an int for one sample)
    weights, biases : lists of ndarray (see module docstring)

    Returns
    -------
    mean_loss : float
    cache : BatchCache
        For :func:`backward_batch`.
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    labels = np.atleast_1d(np.asarray(labels)).astype(np.intp)
    h = [X]
    for W, b in zip(weights[:-1], biases[:-1]):
        h.append(expit(h[-1] @ W + b))
    log_probs = log_softmax(h[-1] @ weights[-1] + biases[-1])
    loss = -log_probs[np.arange(X.shape[0]), labels].mean()
    return float(loss), BatchCache(h, log_probs)


def backward_batch(X: np.ndarray, labels: np.ndarray, weights: Params, biases: Params,
                   cache: BatchCache | None = None) -> tuple[Params, Params]:
    """Gradients of the mean cross-entropy over a batch.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
    labels : int array, shape (n_samples,)
    weights, biases : lists of ndarray
    cache : BatchCache, optional
        From :func:`forward_batch` on the same arguments; computed when omitted.

    Returns
    -------
    weight_grads, bias_grads : lists of ndarray shaped like ``weights`` and ``biases``
    """
    if cache is None:
        _, cache = forward_batch(X, labels, weights, biases)
    h = cache.h
    n = h[0].shape[0]
    labels = np.atleast_1d(np.asarray(labels)).astype(np.intp)
    # Output error of softmax + cross-entropy: (yhat - y) / n for the mean loss.
    delta = np.exp(cache.log_probs)
    delta[np.arange(n), labels] -= 1.0
    delta /= n
    weight_grads: Params = [None] * len(weights)  # type: ignore[list-item]
    bias_grads: Params = [None] * len(weights)  # type: ignore[list-item]
    for l in range(len(weights) - 1, -1, -1):
        # (delta.T @ h).T reads both operands row-major: faster in OpenBLAS than h.T @ delta
        # when n is large (see benchmarks/RESULTS_backprop.md).
        weight_grads[l] = (delta.T @ h[l]).T
        bias_grads[l] = delta.sum(axis=0)
        if l > 0:
            delta = (delta @ weights[l].T) * (h[l] * (1.0 - h[l]))  # sigma' at z = h(1-h)
    return weight_grads, bias_grads


def feed_forward_sample(x: np.ndarray, label: int, weights: Params,
                        biases: Params) -> tuple[float, np.ndarray]:
    """Loss and one-hot prediction for one sample.

    Parameters
    ----------
    x : ndarray, shape (n_features,)
        One flattened image in [0, 1].
    label : int
    weights, biases : lists of ndarray

    Returns
    -------
    loss : float
        ``-log yhat_label``.
    one_hot_guess : ndarray, shape (n_classes,)
        1.0 at the arg-max of the softmax output, 0 elsewhere.
    """
    loss, cache = forward_batch(x, label, weights, biases)
    guess = np.zeros(cache.log_probs.shape[1])
    guess[np.argmax(cache.log_probs[0])] = 1.0
    return loss, guess


def feed_forward_dataset(X: np.ndarray, labels: np.ndarray, weights: Params,
                         biases: Params) -> tuple[float, float]:
    """Mean loss and accuracy over a data set (vectorised over samples).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
    labels : int array, shape (n_samples,)

    Returns
    -------
    mean_loss : float
    accuracy : float
        Fraction of samples whose arg-max output equals the label.
    """
    loss, cache = forward_batch(X, labels, weights, biases)
    accuracy = np.mean(np.argmax(cache.log_probs, axis=1) == np.asarray(labels))
    return loss, float(accuracy)


def gradients_one_sample(x: np.ndarray, label: int, weights: Params,
                         biases: Params) -> tuple[Params, Params]:
    """Gradients of one sample's loss ``-log yhat_label``.

    Parameters
    ----------
    x : ndarray, shape (n_features,)
    label : int

    Returns
    -------
    weight_grads, bias_grads : lists of ndarray shaped like ``weights`` and ``biases``
    """
    return backward_batch(np.asarray(x, dtype=np.float64)[None, :], np.array([label]),
                          weights, biases)


def train_one_sample(x: np.ndarray, label: int, weights: Params, biases: Params,
                     learning_rate: float = 0.003) -> tuple[Params, Params]:
    """One SGD step on one sample; returns new lists, the inputs are left as they were.

    Returns
    -------
    weights, biases : lists of ndarray
        ``W - learning_rate * dW`` and ``b - learning_rate * db`` per layer.
    """
    dW, db = gradients_one_sample(x, label, weights, biases)
    return ([W - learning_rate * g for W, g in zip(weights, dW)],
            [b - learning_rate * g for b, g in zip(biases, db)])


def train_epochs(X: np.ndarray, labels: np.ndarray, weights: Params, biases: Params,
                 epochs: int = 3, learning_rate: float = 0.003,
                 rng: np.random.Generator | None = None) -> tuple[Params, Params]:
    """Per-sample SGD: ``epochs`` passes, one :func:`train_one_sample` step per sample.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        Images scaled to [0, 1] (use ``mlhw_ref.datasets.mnist.as_float`` on uint8 pixels).
    labels : int array, shape (n_samples,)
    weights, biases : lists of ndarray
        The starting point; not modified.
    epochs : int
    learning_rate : float
    rng : numpy.random.Generator, optional
        When given, the samples are visited in a fresh random order each epoch; otherwise
        in the order given.

    Returns
    -------
    weights, biases : new lists of ndarray

    Notes
    -----
    Runs a compiled (numba) kernel when numba is installed and a NumPy loop otherwise;
    both apply exactly the updates of :func:`train_one_sample` (tested to agree).
    """
    X, labels = _check_training_data(X, labels, weights)
    order = np.empty((epochs, len(X)), dtype=np.intp)
    for e in range(epochs):
        order[e] = rng.permutation(len(X)) if rng is not None else np.arange(len(X))
    weights = [np.array(W, dtype=np.float64, order="C") for W in weights]  # private copies
    biases = [np.array(b, dtype=np.float64) for b in biases]
    kernel = _compiled_sgd() if len(weights) == 3 else None
    if kernel is not None:
        kernel(X, labels, order, *weights, *biases, float(learning_rate))
    else:
        _sgd_numpy(X, labels, order, weights, biases, float(learning_rate))
    return weights, biases


def _sgd_numpy(X: np.ndarray, labels: np.ndarray, order: np.ndarray, weights: Params,
               biases: Params, lr: float) -> None:
    """Per-sample SGD in place on ``weights``/``biases`` (NumPy; any depth).

    Only the non-zero pixels of a sample touch W1 (most MNIST pixels are 0), which changes
    no value: the skipped terms are exact zeros.
    """
    last = len(weights) - 1
    for i in order.ravel():
        x = X[i]
        nz = np.flatnonzero(x)
        h = [x[nz]]
        W0 = weights[0][nz]
        for l in range(last):
            h.append(expit(h[-1] @ (W0 if l == 0 else weights[l]) + biases[l]))
        z = h[-1] @ (W0 if last == 0 else weights[last]) + biases[last]
        delta = np.exp(z - z.max())
        delta /= delta.sum()
        delta[labels[i]] -= 1.0
        for l in range(last, -1, -1):
            W = W0 if l == 0 else weights[l]
            grad_in = (W @ delta) * h[l] * (1.0 - h[l]) if l > 0 else None
            if l == 0:
                weights[0][nz] -= lr * np.outer(h[0], delta)
            else:
                weights[l] -= lr * np.outer(h[l], delta)
            biases[l] -= lr * delta
            delta = grad_in


_KERNEL: object = None


def _compiled_sgd():
    """The numba kernel for three layers, compiled on first use; None without numba."""
    global _KERNEL
    if _KERNEL is None:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba is a dependency
            _KERNEL = False
        else:
            try:
                _KERNEL = numba.njit(cache=True, nogil=True)(_sgd3_loops)
            except RuntimeError:  # no writable cache directory (read-only install)
                _KERNEL = numba.njit(nogil=True)(_sgd3_loops)
    return _KERNEL or None


def _sgd3_loops(X, labels, order, W1, W2, W3, b1, b2, b3, lr):
    """Per-sample SGD for a 3-layer net, as explicit loops for numba (in place).

    The same arithmetic as ``train_one_sample``: deltas from the current weights, then
    ``W -= lr * outer(h, delta)``; only non-zero pixels touch W1.
    """
    D, H1 = W1.shape
    H2, C = W3.shape
    nz = np.empty(D, np.intp)
    h1, d1 = np.empty(H1), np.empty(H1)
    h2, d2 = np.empty(H2), np.empty(H2)
    d3 = np.empty(C)
    for e in range(order.shape[0]):
        for t in range(order.shape[1]):
            i = order[e, t]
            k = 0
            for p in range(D):
                if X[i, p] != 0.0:
                    nz[k] = p
                    k += 1
            h1[:] = b1
            for q in range(k):
                p = nz[q]
                xp = X[i, p]
                for j in range(H1):
                    h1[j] += xp * W1[p, j]
            for j in range(H1):
                h1[j] = 1.0 / (1.0 + np.exp(-h1[j]))  # exp overflow gives 1/inf = 0: fine
            h2[:] = b2
            for m in range(H1):
                for j in range(H2):
                    h2[j] += h1[m] * W2[m, j]
            for j in range(H2):
                h2[j] = 1.0 / (1.0 + np.exp(-h2[j]))
            d3[:] = b3
            for m in range(H2):
                for c in range(C):
                    d3[c] += h2[m] * W3[m, c]
            zmax = d3.max()  # stable softmax
            s = 0.0
            for c in range(C):
                d3[c] = np.exp(d3[c] - zmax)
                s += d3[c]
            for c in range(C):
                d3[c] /= s
            d3[labels[i]] -= 1.0
            for m in range(H2):
                acc = 0.0
                for c in range(C):
                    acc += W3[m, c] * d3[c]
                d2[m] = acc * h2[m] * (1.0 - h2[m])
            for m in range(H1):
                acc = 0.0
                for j in range(H2):
                    acc += W2[m, j] * d2[j]
                d1[m] = acc * h1[m] * (1.0 - h1[m])
            for m in range(H2):
                for c in range(C):
                    W3[m, c] -= lr * h2[m] * d3[c]
            for c in range(C):
                b3[c] -= lr * d3[c]
            for m in range(H1):
                for j in range(H2):
                    W2[m, j] -= lr * h1[m] * d2[j]
            for j in range(H2):
                b2[j] -= lr * d2[j]
            for q in range(k):
                p = nz[q]
                xp = X[i, p]
                for j in range(H1):
                    W1[p, j] -= lr * xp * d1[j]
            for j in range(H1):
                b1[j] -= lr * d1[j]


def _check_training_data(X: np.ndarray, labels: np.ndarray,
                         weights: Params) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    if X.dtype == np.uint8:
        raise TypeError("train_epochs expects pixels scaled to [0, 1], got uint8 0..255; "
                        "use mlhw_ref.datasets.mnist.as_float(X)")
    X = np.ascontiguousarray(X, dtype=np.float64)
    labels = np.asarray(labels).astype(np.intp)
    n_in, n_out = weights[0].shape[0], weights[-1].shape[1]
    if X.ndim != 2 or X.shape[1] != n_in or labels.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, {n_in}) and labels (n,); got X {X.shape}, "
                         f"labels {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_out):
        raise ValueError(f"labels must be in 0..{n_out - 1}; got {labels.min()}..{labels.max()}")
    return X, labels
