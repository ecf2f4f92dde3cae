"""What the gd_mnist suite draws and reads: answers, quadratic cases, networks, MNIST images,
and the gradients that the known mistakes of backpropagation give (computed here from the
reference's forward pass, to name a wrong answer)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from autograder.errors import CheckFailed

SIZES = (784, 32, 32, 10)


# ------------------------------------------------------------------------------ part A
def curvatures(rng: np.random.Generator) -> tuple[float, float]:
    """Two different curvatures, log-uniform in [0.05, 20]."""
    a, b = np.exp(rng.uniform(np.log(0.05), np.log(20.0), size=2))
    return float(a), float(b)


def clean_curvatures(rng: np.random.Generator) -> tuple[float, float]:
    """Curvatures for which 1 - (2/c)*c is exactly -1 in floating point for both c: at the
    boundary step 2/max(a, b) the test |1 - eta*a| < 1 and the test 0 < eta < 2/max(a, b)
    then agree, so the boundary case grades the idea, not a rounding."""
    while True:
        a, b = curvatures(rng)
        top = max(a, b)
        eta = 2.0 / top
        if 1.0 - eta * top == -1.0 and abs(1.0 - eta * min(a, b)) < 1.0:
            return a, b


# ------------------------------------------------------------------------------ part B
@lru_cache(maxsize=1)
def mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The committed subset (10,000 training and 2,000 test images), pixels scaled to [0, 1]."""
    from mlhw_ref.datasets.mnist import as_float, load_mnist

    m = load_mnist()
    return (
        as_float(m.X_train),
        m.y_train.astype(np.int64),
        as_float(m.X_test),
        m.y_test.astype(np.int64),
    )


def images(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` real MNIST test images, (n, 784) floats in [0, 1]."""
    X_test = mnist()[2]
    return X_test[rng.choice(X_test.shape[0], size=n, replace=False)]


def network(rng: np.random.Generator, output_scale: float = 1.0) -> tuple[list, list]:
    """A random 784-32-32-10 network with non-zero biases, neither saturated nor degenerate:
    its softmax output is spread over several classes for an MNIST image."""
    weights = [
        rng.normal(0.0, 1.5 / np.sqrt(n_in), size=(n_in, n_out))
        for n_in, n_out in zip(SIZES[:-1], SIZES[1:])
    ]
    weights[-1] = weights[-1] * output_scale
    biases = [rng.normal(0.0, 0.3, size=n) for n in SIZES[1:]]
    return weights, biases


def as_params(value: Any, like: list, what: str, called: str) -> list[np.ndarray]:
    """A returned list of arrays, checked against the shapes of ``like``."""
    if not isinstance(value, list | tuple) or len(value) != len(like):
        raise CheckFailed(
            f"{what} must be a list of {len(like)} arrays, got "
            f"{type(value).__name__}{'' if not isinstance(value, list | tuple) else f' of length {len(value)}'}"
            f"\n  called: {called}"
        )
    out = []
    for l, (got, ref) in enumerate(zip(value, like), start=1):
        arr = np.asarray(got) if isinstance(got, np.ndarray | list | tuple | float | int) else None
        if arr is None or arr.dtype.kind not in "fiu" or arr.shape != np.shape(ref):
            shape = getattr(arr, "shape", type(got).__name__)
            raise CheckFailed(
                f"{what}[{l - 1}] (layer {l}) has shape {shape}; expected "
                f"{np.shape(ref)}\n  called: {called}"
            )
        out.append(arr if arr.dtype.kind == "f" else arr.astype(np.float64))  # float32 kept:
    return out  # the comparisons loosen their tolerance for it


def _forward(x: np.ndarray, weights: list, biases: list) -> tuple[list, np.ndarray]:
    """Activations h_0..h_{L-1} and the softmax output, for one example (the reference's)."""
    from mlhw_ref.mnist_mlp import forward_batch

    _, cache = forward_batch(x, 0, weights, biases)
    return [h[0] for h in cache.h], np.exp(cache.log_probs[0])


def backprop(
    x: np.ndarray,
    weights: list,
    biases: list,
    delta: np.ndarray,
    *,
    dsigma_of_activation: bool = False,
) -> tuple[list, list]:
    """Backpropagate an output error ``delta`` (10,) through the network at ``x``.

    With ``dsigma_of_activation`` the hidden errors use sigma'(h) = sigma(h)(1 - sigma(h))
    instead of sigma'(z) = h (1 - h): the mistake of applying sigma' to the activation.
    """
    h, _ = _forward(x, weights, biases)
    weight_grads: list = [None] * len(weights)
    bias_grads: list = [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        weight_grads[l] = np.outer(h[l], delta)
        bias_grads[l] = delta.copy()
        if l > 0:
            s = 1.0 / (1.0 + np.exp(-h[l])) if dsigma_of_activation else h[l]
            delta = (weights[l] @ delta) * s * (1.0 - s)
    return weight_grads, bias_grads


GUESS_MESSAGE = (
    "the output error uses your prediction instead of the label: delta3 = yhat - (the one-hot "
    "guess) where it must be yhat - y, with y the one-hot vector of the LABEL. With the guess "
    "the gradient only makes the network surer of what it already guesses and never looks at "
    "the labels, so training learns nothing: that is why the network stays near 10% accuracy "
    "(chance) while every shape is right"
)


def mistaken_gradients(
    x: np.ndarray, label: int, weights: list, biases: list
) -> list[tuple[str, tuple]]:
    """(message, (weight_grads, bias_grads)) for each known mistake of gradients_one_sample."""
    _, yhat = _forward(x, weights, biases)
    y = np.zeros_like(yhat)
    y[label] = 1.0
    guess = np.zeros_like(yhat)
    guess[np.argmax(yhat)] = 1.0
    return [
        (GUESS_MESSAGE, backprop(x, weights, biases, yhat - guess)),
        (GUESS_MESSAGE, backprop(x, weights, biases, guess - yhat)),
        (
            "the output error uses the one-hot guess in place of the softmax output: it is "
            "yhat - y, the probabilities minus the one-hot label, not guess - y",
            backprop(x, weights, biases, guess - y),
        ),
        (
            "the output error multiplies the softmax output by the label (yhat * y); for softmax "
            "with cross-entropy it is the difference yhat - y",
            backprop(x, weights, biases, yhat * y),
        ),
        (
            "the output error multiplies the softmax output by the label (yhat * y); for softmax "
            "with cross-entropy it is the difference yhat - y",
            backprop(x, weights, biases, -yhat * y),
        ),
        (
            "the gradient has the wrong sign: the output error is yhat - y, not y - yhat",
            backprop(x, weights, biases, y - yhat),
        ),
        (
            "sigma' is applied to the activation h instead of the pre-activation z: sigma'(z) = "
            "sigma(z) (1 - sigma(z)) = h (1 - h), not sigma(h) (1 - sigma(h))",
            backprop(x, weights, biases, yhat - y, dsigma_of_activation=True),
        ),
    ]
