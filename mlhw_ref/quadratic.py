"""Gradient descent on a separable quadratic (assignment 4, ``gd_mnist`` Part A).

L(w1, w2) = 1/2 (a w1^2 + b w2^2) with a, b > 0. Gradient descent with step eta gives
w_t = (rho1^t w0_1, rho2^t w0_2), rho1 = 1 - eta a, rho2 = 1 - eta b: it converges for
every start iff |rho1| < 1 and |rho2| < 1, i.e. 0 < eta < 2 / max(a, b).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ETA_MAX",
    "ETA_OPT",
    "RATE_OPT",
    "RHO1",
    "RHO2",
    "W_STAR",
    "converges",
    "gd_quadratic",
    "grad_quadratic",
    "optimal_step",
    "steps_to_tolerance",
]

Array = NDArray[np.float64]

# Symbolic answers (sympy syntax, symbols a, b, eta; a >= b for RATE_OPT).
W_STAR: tuple[str, str] = ("0", "0")
RHO1: str = "1 - eta*a"
RHO2: str = "1 - eta*b"
ETA_MAX: str = "Min(2/a, 2/b)"
ETA_OPT: str = "2/(a + b)"
RATE_OPT: str = "(a - b)/(a + b)"


def _curvatures(a: float, b: float) -> tuple[float, float]:
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0):
        raise ValueError(f"a and b must be finite and > 0 (a strictly convex L), got a={a}, b={b}.")
    return a, b


def _point(name: str, w: ArrayLike) -> Array:
    arr = np.asarray(w, dtype=np.float64)
    if arr.shape != (2,):
        raise ValueError(
            f"{name} must have shape (2,) (the point (w1, w2)), got shape {arr.shape}."
        )
    return arr


def grad_quadratic(w: ArrayLike, a: float, b: float) -> Array:
    """Gradient of L at w.

    Parameters
    ----------
    w : (2,) the point (w1, w2).
    a, b : curvatures, > 0.

    Returns
    -------
    (2,) (a w1, b w2).
    """
    a, b = _curvatures(a, b)
    return np.array([a, b]) * _point("w", w)


def gd_quadratic(w0: ArrayLike, a: float, b: float, eta: float, steps: int) -> Array:
    """The gradient-descent trajectory w_{t+1} = w_t - eta grad L(w_t), t = 0..steps.

    Computed in closed form, w_t = (rho1^t w0_1, rho2^t w0_2), which is exact up to one
    rounding per entry (no error accumulates over steps) and gives +-inf, not NaN, once a
    diverging run overflows.

    Parameters
    ----------
    w0 : (2,) starting point.
    a, b : curvatures, > 0.
    eta : step size.
    steps : number of steps, >= 0.

    Returns
    -------
    (steps + 1, 2) the iterates, row 0 is w0.
    """
    a, b = _curvatures(a, b)
    w0 = _point("w0", w0)
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}.")
    rho = 1.0 - float(eta) * np.array([a, b])
    t = np.arange(int(steps) + 1, dtype=np.float64)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is the answer
        W = rho**t * w0
    return np.where(w0 == 0.0, 0.0, W)  # 0 * inf would be NaN; the iterate stays 0


def converges(a: float, b: float, eta: float) -> bool:
    """True iff gradient descent converges from every start: |1 - eta a| < 1 and |1 - eta b| < 1.

    Evaluated as 0 < eta < 2 / max(a, b) (the same condition for a, b > 0) so that the
    boundary step ``eta = 2 / max(a, b)`` is classified exactly (it does not converge),
    which 1 - eta * a can miss by one rounding.
    """
    a, b = _curvatures(a, b)
    eta = float(eta)
    return bool(0.0 < eta < 2.0 / max(a, b))


def _log_abs_rho(c: float, eta: float) -> float:
    """log|1 - eta c| for 0 < eta c < 2, accurate also when |1 - eta c| is within an ulp of 1."""
    # exact: the rounding of eta * c matters near the boundary and near rho = 0
    r = abs(1 - Fraction(eta) * Fraction(c))
    if r == 0:
        return -math.inf
    # log1p(|rho| - 1) stays accurate when |rho| is within an ulp of 1
    return math.log(float(r)) if r < Fraction(1, 2) else math.log1p(float(r - 1))


def steps_to_tolerance(w0: ArrayLike, a: float, b: float, eta: float, tol: float) -> int:
    """Smallest t with ||w_t||_2 <= tol along gradient descent from w0.

    Returns 0 if ||w0|| <= tol already (and the step is stable), and -1 whenever
    ``converges(a, b, eta)`` is False, whatever w0 (a diverging or oscillating run may dip
    below tol for a while, it does not converge). No iteration: the norm of the closed form
    w_t is monotone in t, so the answer is bracketed from the per-coordinate log formula
    t_i = log(tol / |w0_i|) / log|rho_i| and then bisected (O(log t) evaluations, in log
    space so that huge t do not underflow). Handles rho_i = 0 (the coordinate is 0 from t = 1)
    and w0_i = 0 (the coordinate never contributes).

    Parameters
    ----------
    w0 : (2,) starting point.
    a, b : curvatures, > 0.
    eta : step size.
    tol : tolerance, > 0.

    Returns
    -------
    int, t >= 0, or -1.
    """
    a, b = _curvatures(a, b)
    w0 = _point("w0", w0)
    tol = float(tol)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be finite and > 0, got {tol}.")
    if not np.all(np.isfinite(w0)):
        raise ValueError(f"w0 must be finite, got {w0}.")
    if not converges(a, b, eta):
        return -1
    if math.hypot(*w0) <= tol:
        return 0
    eta = float(eta)
    active = [(_log_abs_rho(c, eta), math.log(abs(w))) for c, w in zip((a, b), w0) if w != 0.0]

    def norm_at(t: int) -> float:
        terms = [0.0 if L == -math.inf else math.exp(t * L + lw) for L, lw in active]
        return math.hypot(*terms)

    # each coordinate below tol / sqrt(2) is enough: an upper bracket
    target = math.log(tol / math.sqrt(2.0))
    hi = max(1 if L == -math.inf else max(1, math.ceil((target - lw) / L)) for L, lw in active)
    while norm_at(hi) > tol:  # guards the rounding of the log formula; rarely runs
        hi *= 2
    lo = 0  # invariant: norm_at(lo) > tol >= norm_at(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if norm_at(mid) <= tol:
            hi = mid
        else:
            lo = mid
    return hi


def optimal_step(a: float, b: float) -> tuple[float, float]:
    """The step minimising the worst contraction max(|1 - eta a|, |1 - eta b|).

    Returns
    -------
    eta_opt : 2 / (a + b).
    rate_opt : |a - b| / (a + b), the contraction per step at eta_opt (equal for both
        coordinates; (a - b)/(a + b) when a >= b).
    """
    a, b = _curvatures(a, b)
    return 2.0 / (a + b), abs(a - b) / (a + b)
