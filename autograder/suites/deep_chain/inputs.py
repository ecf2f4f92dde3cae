"""Inputs the deep_chain suite draws, and the known mistakes it recognises."""

from __future__ import annotations

import numpy as np

from autograder.checks import Mistake
from mlhw_ref import chain as ref

PUBLISHED_X = np.array([-0.5, 0.5])
PUBLISHED_L = 100


def chain_problem(
    rng: np.random.Generator, l: int | None = None, m: int | None = None, bias: bool = False
) -> dict[str, np.ndarray | None]:
    """A random chain whose weights all differ (so w_k and w_{k-1} are distinguishable)."""
    l = int(rng.integers(3, 30)) if l is None else l
    m = int(rng.integers(2, 7)) if m is None else m
    w = rng.uniform(0.6, 1.6, size=l) * rng.choice([-1.0, 1.0], size=l)
    return {
        "x": rng.uniform(-1.0, 1.0, size=m),
        "y": rng.uniform(-0.9, 0.9, size=m),
        "w": w,
        "b": rng.normal(0.0, 0.3, size=l) if bias else None,
    }


def backward_variant(u, h, y, w, *, scale_m=True, dtanh="sech2", weight_shift=0, reduce=False):
    """chain_backward with one deliberate deviation from the correct recursion."""
    m = u.shape[1]
    dt = (1.0 - u**2) if dtanh == "u" else ref.dtanh(u)
    g = np.empty_like(u)
    g[-1] = dt[-1] * (h[-1] - y) / (m if scale_m else 1)
    l = u.shape[0]
    for k in range(l - 1, 0, -1):  # g[k-1] from g[k]
        weight = w[k - weight_shift]
        g[k - 1] = (dt[k - 1] @ g[k] if reduce else dt[k - 1] * g[k]) * weight
    return g


def backward_mistakes(u, h, y, w) -> list[tuple[Mistake, np.ndarray]]:
    """The realistic wrong answers of question 2, with the values they produce here."""
    m = u.shape[1]
    return [
        (
            Mistake(
                "forgot 1/m",
                f"your g is {m} (= m) times too large: did you forget the 1/m "
                "in g_l = (1/m) tanh'(u_l) (h_l - y)?",
                None,
            ),
            backward_variant(u, h, y, w, scale_m=False),
        ),
        (
            Mistake(
                "tanh' of u",
                "you used tanh'(u) = 1 - u^2; the derivative is 1 - tanh(u)^2 = 1 - h^2",
                None,
            ),
            backward_variant(u, h, y, w, dtanh="u"),
        ),
        (
            Mistake(
                "off by one",
                "your recursion multiplies g_k by w_{k-1}; it must use the weight "
                "of the layer above: g_{k-1} = tanh'(u_{k-1}) * g_k * w_k",
                None,
            ),
            backward_variant(u, h, y, w, weight_shift=1),
        ),
        (
            Mistake(
                "sum instead of product",
                "you summed tanh'(u_{k-1}) * g_k over the examples; "
                "the recursion is an elementwise product, one value per example",
                None,
            ),
            backward_variant(u, h, y, w, reduce=True),
        ),
    ]


def zigzag_chain(rng: np.random.Generator, l: int = 12, m: int = 3) -> dict[str, np.ndarray | None]:
    """A chain whose weights alternate between large and small magnitudes, so that |h_k| and
    |g_k| go up and down from layer to layer: a made-up monotone curve cannot pass for them."""
    big = rng.uniform(2.0, 3.0, size=l)
    small = rng.uniform(0.2, 0.4, size=l)
    w = np.where(np.arange(l) % 2 == 0, big, small) * rng.choice([-1.0, 1.0], size=l)
    return {
        "x": rng.uniform(0.2, 1.0, size=m) * rng.choice([-1.0, 1.0], size=m),
        "y": rng.uniform(-0.9, 0.9, size=m),
        "w": w,
        "b": None,
    }
