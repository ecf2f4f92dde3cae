"""Inputs the sigmoid_mlp suite draws, and the known mistakes of backprop it recognises."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.checks import Mistake
from autograder.errors import CheckFailed
from mlhw_ref.activations import dsigmoid, sigmoid

KEYS = ("W1", "b1", "W2", "b2", "w3", "b3")


def equivalent(value: Any, expected: str, symbols: dict) -> bool:
    """Whether a symbolic answer equals ``expected`` (for naming a known wrong answer)."""
    from autograder.checks import assert_equivalent

    try:
        assert_equivalent(value, expected, symbols)
    except CheckFailed:
        return False
    return True


def sizes_for(rng: np.random.Generator, depth: int) -> list[int]:
    """Small layer widths: input D differs from the hidden width H (so a transposed W1
    gradient has the wrong shape); depth 2 keeps the contract's H-H; depth 3 uses three
    different widths."""
    D = int(rng.integers(3, 8))
    if depth == 2:
        H = int(rng.choice([h for h in range(2, 7) if h != D]))
        return [D, H, H, 1]
    widths = [int(w) for w in rng.choice([h for h in range(2, 8) if h != D], size=depth, replace=False)]
    return [D, *widths, 1]


def network(rng: np.random.Generator, sizes: list[int], *, scale: float = 1.0) -> dict[str, Any]:
    """Random parameters with unequal weights and non-zero biases (output bias a float)."""
    d = len(sizes) - 2
    params: dict[str, Any] = {}
    for l in range(1, d + 1):
        params[f"W{l}"] = scale * rng.normal(0.0, 1.2, size=(sizes[l - 1], sizes[l])) / np.sqrt(sizes[l - 1])
        params[f"b{l}"] = rng.normal(0.0, 0.5, size=sizes[l])
    params[f"w{d + 1}"] = scale * rng.normal(0.0, 1.5, size=sizes[-2]) / np.sqrt(sizes[-2])
    params[f"b{d + 1}"] = float(rng.normal(0.0, 0.5))
    return params


def problem(rng: np.random.Generator, depth: int = 2) -> dict[str, Any]:
    """A random network of ``depth`` hidden layers, inputs X (n, D) and labels with both classes."""
    sizes = sizes_for(rng, depth)
    n = int(rng.integers(4, 10))
    y = rng.integers(0, 2, size=n).astype(float)
    y[:2] = (0.0, 1.0)
    return {"params": network(rng, sizes), "X": rng.normal(0.0, 1.0, size=(n, sizes[0])), "y": y}


def extreme_problem(rng: np.random.Generator, depth: int = 2, magnitude: float = 1e4) -> dict[str, Any]:
    """A network whose pre-activations, in every layer, reach +-``magnitude`` (centred per
    unit over the examples, so both signs occur), and labels that disagree with the sign of
    the output logit: every example's loss is about |z|, through log f or log(1 - f)."""
    D, n = int(rng.integers(3, 8)), int(rng.integers(6, 10))
    sizes = [D] + [4] * depth + [1]
    params = network(rng, sizes)
    X = rng.normal(0.0, 1.0, size=(n, D))
    h = X
    for l in range(1, depth + 2):
        wkey, bkey = (f"W{l}", f"b{l}") if l <= depth else (f"w{l}", f"b{l}")
        a = h @ params[wkey] + params[bkey]
        centre = a.mean(axis=0)
        scale = magnitude / max(float(np.abs(a - centre).max()), 1e-12)
        params[wkey] = params[wkey] * scale
        params[bkey] = (params[bkey] - centre) * scale
        h = sigmoid((a - centre) * scale)
    params[f"b{depth + 1}"] = float(params[f"b{depth + 1}"])
    z = X
    for l in range(1, depth + 1):
        z = sigmoid(z @ params[f"W{l}"] + params[f"b{l}"])
    z = z @ params[f"w{depth + 1}"] + params[f"b{depth + 1}"]
    return {"params": params, "X": X, "y": (z < 0).astype(float), "max_a": magnitude}


def backprop_problem(rng: np.random.Generator) -> dict[str, Any]:
    """A network with many inputs (P > 1,000 parameters) and few examples, on which finite
    differences need over P calls of the loss and backpropagation a handful."""
    D, H, n = int(rng.integers(120, 140)), int(rng.integers(6, 9)), 3
    params = network(rng, [D, H, H, 1])
    y = np.array([0.0, 1.0, float(rng.integers(0, 2))])
    return {"params": params, "X": rng.normal(0.0, 1.0, size=(n, D)), "y": y,
            "size": sum(int(np.size(v)) for v in params.values()), "D": D, "H": H}


def backward_variant(params: dict[str, Any], X: np.ndarray, y: np.ndarray, *, mean: bool = False,
                     dsigma: bool = True, transpose: bool = False, w1_from: str = "x") -> dict[str, Any]:
    """backward with one deliberate deviation (for the mistakes' predicted answers).

    ``w1_from``: "x" (correct), "h1" (the first layer's own output instead of its input) or
    "delta2" (the input with the next layer's error signal, when there is one).
    """
    d = sum(1 for k in params if k[0] == "W")
    hs, acts = [X], []
    for l in range(1, d + 1):
        acts.append(hs[-1] @ params[f"W{l}"] + params[f"b{l}"])
        hs.append(sigmoid(acts[-1]))
    z = hs[-1] @ params[f"w{d + 1}"] + params[f"b{d + 1}"]
    scale = 1.0 / X.shape[0] if mean else 1.0
    delta = (sigmoid(z) - y) * scale
    grads: dict[str, Any] = {f"w{d + 1}": hs[-1].T @ delta, f"b{d + 1}": float(delta.sum())}
    back = np.outer(delta, params[f"w{d + 1}"])
    deltas: dict[int, np.ndarray] = {}
    for l in range(d, 0, -1):
        deltas[l] = back * dsigmoid(acts[l - 1]) if dsigma else back
        source = hs[l - 1]
        if l == 1 and w1_from == "h1":
            source = hs[1]
        grads[f"W{l}"] = deltas[l].T @ source if transpose else source.T @ deltas[l]
        grads[f"b{l}"] = deltas[l].sum(axis=0)
        back = deltas[l] @ params[f"W{l}"].T
    if w1_from == "delta2" and d >= 2:
        grads["W1"] = X.T @ deltas[2]  # shaped like W1 only when n_1 == n_2
    return {k: grads[k] for k in params}


def backward_mistakes(params: dict[str, Any], X: np.ndarray, y: np.ndarray, key: str
                      ) -> list[tuple[Mistake, Any]]:
    """The realistic wrong answers for ``grads[key]``, with the values they produce here."""
    n = X.shape[0]
    out = [
        (Mistake("mean instead of sum",
                 f"your dL/d{key} is 1/n of the expected gradient (n = {n} examples): the loss is a "
                 "SUM over the examples, not a mean, so do not divide by n"),
         backward_variant(params, X, y, mean=True)[key]),
        (Mistake("missing sigma'",
                 f"your dL/d{key} is missing the factor sigma'(a) = h (1 - h) when the error goes back "
                 "through a hidden layer: delta_l = (delta_(l+1) W_(l+1)^T) * h_l * (1 - h_l)"),
         backward_variant(params, X, y, dsigma=False)[key]),
    ]
    if key.startswith("W"):
        out.append((Mistake("transposed weight gradient",
                            f"your dL/d{key} is transposed: dL/dW_l = h_(l-1)^T delta_l has the shape "
                            f"of W_l, (n_(l-1), n_l) = {tuple(np.shape(params[key]))}"),
                    backward_variant(params, X, y, transpose=True)[key]))
    if key == "W1":
        out.append((Mistake("W1 from h1",
                            "your dL/dW1 uses the activations h1 of the first hidden layer; the weights "
                            "W1 multiply the INPUT, so dL/dW1 = X^T delta_1 (the activations of the layer "
                            "below, here the input X)"),
                    backward_variant(params, X, y, w1_from="h1")["W1"]))
        if "W2" in params and np.shape(params["W2"])[1] == np.shape(params["W1"])[1]:
            out.append((Mistake("W1 with delta_2",
                                "your dL/dW1 pairs the input with the error of layer 2; it needs the "
                                "error of layer 1: dL/dW1 = X^T delta_1"),
                        backward_variant(params, X, y, w1_from="delta2")["W1"]))
    return out


def hidden_keys(params: dict[str, Any], key: str) -> list[str]:
    """The keys of a network of any depth that play the role of ``key`` of the 784-H-H-1 net:
    W1/b1 the first layer, W2/b2 every later hidden layer, w3/b3 the output unit."""
    d = sum(1 for k in params if k[0] == "W")
    if key in ("W1", "b1"):
        return [key]
    if key in ("W2", "b2"):
        return [f"{key[0]}{l}" for l in range(2, d + 1)]
    return [f"{key[0]}{d + 1}"]
