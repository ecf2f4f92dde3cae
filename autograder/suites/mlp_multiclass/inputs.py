"""Inputs the mlp_multiclass suite draws, and the known mistakes it recognises."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.checks import Mistake
from mlhw_ref import activations as act
from mlhw_ref import multiclass as mc


def activation_input(rng: np.random.Generator) -> np.ndarray:
    """A random array of a random shape (1-D, 2-D or 3-D), entries in [-30, 30] away from 0,
    with extreme entries (up to |x| = 1e4) and entries inside (-1, 1) of both signs mixed in
    (a threshold misplaced at 1 instead of 0 shows there)."""
    shape = [(int(rng.integers(5, 12)),), (int(rng.integers(2, 5)), int(rng.integers(5, 8))),
             (2, int(rng.integers(2, 4)), int(rng.integers(3, 6)))][int(rng.integers(3))]
    x = rng.uniform(0.05, 30.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    flat = x.reshape(-1)
    extremes = np.array([1e4, -1e4, 800.0, -800.0, 50.0, -50.0])[: max(2, flat.size - 4)]
    small = rng.uniform(0.05, 0.95, size=2) * np.array([1.0, -1.0])
    spots = rng.choice(flat.size, size=len(extremes) + 2, replace=False)
    flat[spots] = np.concatenate([extremes, small])
    return x


def network_problem(rng: np.random.Generator, *, d: int | None = None, d_h: int | None = None,
                    m: int | None = None, n: int | None = None) -> dict[str, Any]:
    """A random network whose sizes all differ (so a transposed gradient has the wrong
    shape), no hidden pre-activation within 0.05 of the ReLU's kink (finite differences stay
    exact), some hidden units inactive on some examples."""
    d = int(rng.integers(2, 6)) if d is None else d
    d_h = int(rng.choice([k for k in range(3, 9) if k != d])) if d_h is None else d_h
    m = int(rng.choice([k for k in range(2, 6) if k not in (d, d_h)])) if m is None else m
    n = int(rng.integers(3, 9)) if n is None else n
    while True:
        params = {
            "W1": rng.normal(0.0, 1.0, size=(d_h, d)),
            "b1": rng.normal(0.0, 0.5, size=d_h),
            "W2": rng.normal(0.0, 1.0, size=(m, d_h)),
            "b2": rng.normal(0.0, 0.5, size=m),
        }
        X = rng.normal(0.0, 1.0, size=(n, d))
        ha = X @ params["W1"].T + params["b1"]
        if np.all(np.abs(ha) > 0.05) and 0 < np.mean(ha > 0) < 1:
            break
    y = rng.integers(0, m, size=n)
    y[: min(n, m)] = np.arange(min(n, m))  # every class present when n >= m
    return {"params": params, "X": X, "y": y, "d": d, "d_h": d_h, "m": m, "n": n}


def _softmax_axis0(A: np.ndarray) -> np.ndarray:
    E = np.exp(A - A.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def softmax_mistakes(A: np.ndarray) -> list[tuple[Mistake, np.ndarray]]:
    """The wrong softmaxes of question 3, with the values they give for A (n, m)."""
    E = np.exp(A - A.max())
    return [
        (Mistake("wrong axis", "your softmax normalises each COLUMN (over the examples, axis 0); it "
                 "must normalise each row, over the classes: the last axis (axis=-1, keepdims=True)"),
         _softmax_axis0(A)),
        (Mistake("whole array", "your softmax divides by the sum over the WHOLE array; each row must "
                 "be normalised on its own (sum over axis=-1 with keepdims=True)"), E / E.sum()),
    ]


def _forward(params: dict[str, np.ndarray], X: np.ndarray):
    ha = X @ params["W1"].T + params["b1"]
    hs = np.maximum(ha, 0.0)
    return ha, hs, hs @ params["W2"].T + params["b2"]


def fprop_mistakes(params: dict[str, np.ndarray], X: np.ndarray) -> list[tuple[Mistake, np.ndarray]]:
    oa = _forward(params, X)[2]
    return [(Mistake("wrong axis", "your probabilities are normalised over the examples (axis 0): "
                     "each row (one example) must sum to 1 over the classes; apply the softmax over "
                     "the last axis"), _softmax_axis0(oa))]


def bprop_mistakes(p: dict[str, Any], key: str) -> list[tuple[Mistake, Any]]:
    """The realistic wrong values of bprop(...)[key] (no penalty) for problem ``p``."""
    params, X, y = p["params"], p["X"], p["y"]
    n = X.shape[0]
    ha, hs, oa = _forward(params, X)
    G = act.softmax(oa)
    G[np.arange(n), y] -= 1.0
    G /= n
    right = mc.bprop(params, X, y)
    out: list[tuple[Mistake, Any]] = [
        (Mistake("sum", f"your gradient is n = {n} times too large: the loss is the MEAN "
                 "negative log-likelihood, so every gradient is a mean over the examples"),
         right[key] * n),
    ]
    if key == "b1":
        out.append((Mistake("ones", "your dL/db1 is a vector of ones: that is dh^a/db1 = 1 only. By the "
                            "chain rule dL/db1 = dL/dh^a * dh^a/db1 = (W2^T (o^s - e_y)) * 1[h^a > 0], "
                            "averaged over the examples"), np.ones_like(params["b1"])))
        out.append((Mistake("no relu'", "your dL/db1 lacks the ReLU derivative 1[h^a > 0]"),
                    (G @ params["W2"]).sum(axis=0)))
    if key == "W2":
        out.append((Mistake("pre-activation", "your dL/dW2 uses the hidden PRE-activation h^a; W2 "
                            "multiplies the ReLU OUTPUT h^s = relu(h^a), so dL/dW2 = (o^s - e_y) (h^s)^T"),
                    G.T @ ha))
    if key == "W1":
        out.append((Mistake("no relu'", "your dL/dW1 lacks the ReLU derivative 1[h^a > 0]"),
                    (G @ params["W2"]).T @ X))
    return out


def penalty_mistakes(params: dict[str, np.ndarray], key: str,
                     lambdas: tuple[float, float, float, float]) -> list[tuple[Mistake, np.ndarray]]:
    """The wrong values of the penalty's part of bprop(...)[key] (W1 or W2): what adding
    l11, l12, l21, l22 changes in the gradient."""
    l11, l12, l21, l22 = lambdas
    W = params[key]
    l1, l2 = (l11, l12) if key == "W1" else (l21, l22)
    other = (l21, l22) if key == "W1" else (l11, l12)
    return [
        (Mistake("|W|", f"the L1 part of your penalty gradient is l1 |{key}|; the derivative of "
                 f"|w| is sign(w), so it adds l1 sign({key})"), l1 * np.abs(W) + 2 * l2 * W),
        (Mistake("no 2", "the L2 part of your penalty gradient misses the 2: d(w^2)/dw = 2w"),
         l1 * np.sign(W) + l2 * W),
        (Mistake("swapped", "your penalty uses the other layer's weights: l11, l12 are the L1 and "
                 "L2 weights on W1 and l21, l22 those on W2"), other[0] * np.sign(W) + 2 * other[1] * W),
    ]
