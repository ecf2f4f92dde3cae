"""Tests for mlhw_ref.quadratic: GD on L(w) = 1/2 (a w1^2 + b w2^2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlhw_ref.quadratic import (
    ETA_MAX,
    ETA_OPT,
    RATE_OPT,
    RHO1,
    RHO2,
    W_STAR,
    converges,
    gd_quadratic,
    grad_quadratic,
    optimal_step,
    steps_to_tolerance,
)

curv = st.floats(0.1, 10.0)
coord = st.floats(-10.0, 10.0)
point = st.tuples(coord, coord).map(np.array)


def loss(w, a, b):
    return 0.5 * (a * w[0] ** 2 + b * w[1] ** 2)


def iterate_gd(w0, a, b, eta, steps):
    """Independent plain GD loop."""
    w = np.array(w0, dtype=float)
    out = [w.copy()]
    for _ in range(steps):
        w = w - eta * np.array([a * w[0], b * w[1]])
        out.append(w.copy())
    return np.array(out)


@given(point, curv, curv)
def test_grad_matches_finite_differences(w, a, b):
    eps = 1e-6
    num = [(loss(w + eps * e, a, b) - loss(w - eps * e, a, b)) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(grad_quadratic(w, a, b), num, rtol=1e-6, atol=1e-6)


@settings(deadline=None)
@given(point, curv, curv, st.floats(0.0, 0.4), st.integers(0, 60))
def test_gd_matches_plain_loop(w0, a, b, eta, steps):
    W = gd_quadratic(w0, a, b, eta, steps)
    assert W.shape == (steps + 1, 2)
    np.testing.assert_array_equal(W[0], w0)
    np.testing.assert_allclose(W, iterate_gd(w0, a, b, eta, steps), rtol=1e-9, atol=1e-300)


def test_gd_diverging_run_overflows_to_inf_not_nan():
    W = gd_quadratic([1.0, 0.0], 1.0, 1.0, 10.0, 400)
    assert np.isinf(W[-1, 0]) and W[-1, 1] == 0.0
    assert not np.isnan(W).any()


@given(curv, curv)
def test_converges_boundaries(a, b):
    eta_max = 2 / max(a, b)
    assert not converges(a, b, eta_max)
    assert not converges(a, b, 0.0)
    assert not converges(a, b, -0.1)
    assert converges(a, b, np.nextafter(eta_max, 0))
    assert converges(a, b, 0.5 * eta_max)
    assert not converges(a, b, 1.01 * eta_max)


@given(curv, curv, st.floats(-1.0, 25.0))
def test_converges_iff_both_contractions_below_one(a, b, eta):
    rho = np.abs(1 - eta * np.array([a, b]))
    assume(np.all(np.abs(rho - 1) > 1e-9))  # away from the rounding-sensitive boundary
    assert converges(a, b, eta) == bool(np.all(rho < 1))
    # and the iterates from (1, 1) shrink exactly when it converges
    W = gd_quadratic([1.0, 1.0], a, b, eta, 2000)
    assert (np.abs(W[-1]).max() < 1) == converges(a, b, eta)


@settings(deadline=None, max_examples=200)
@given(point, curv, curv, st.floats(0.02, 0.98), st.floats(1e-6, 5.0))
def test_steps_to_tolerance_is_minimal(w0, a, b, frac, tol):
    eta = frac * 2 / max(a, b)
    t = steps_to_tolerance(w0, a, b, eta, tol)
    assert isinstance(t, int) and t >= 0
    W = gd_quadratic(w0, a, b, eta, t)
    norms = np.linalg.norm(W, axis=1)
    assert norms[t] <= tol * (1 + 1e-12)
    if t > 0:
        assert norms[t - 1] > tol * (1 - 1e-12)
    else:
        assert np.linalg.norm(w0) <= tol


@given(point, curv, curv, st.floats(1.0, 3.0), st.floats(1e-6, 1.0))
def test_unstable_step_gives_minus_one(w0, a, b, factor, tol):
    assert steps_to_tolerance(w0, a, b, factor * 2 / max(a, b), tol) == -1
    assert steps_to_tolerance(w0, a, b, -factor, tol) == -1


def test_steps_to_tolerance_special_cases():
    # already within tolerance
    assert steps_to_tolerance([1e-4, 0.0], 1.0, 2.0, 0.1, 1e-3) == 0
    # rho1 = 0: the first coordinate vanishes after one step
    assert steps_to_tolerance([5.0, 0.0], 2.0, 1.0, 0.5, 1e-3) == 1
    # a zero coordinate never contributes: only rho2 = 0.5 matters, 0.5^t <= 1e-3 at t = 10
    assert steps_to_tolerance([0.0, 1.0], 3.0, 1.0, 0.5, 1e-3) == 10
    # the step just below the boundary converges, so extremely slowly: no infinite loop
    t = steps_to_tolerance([1.0, 1.0], 1.0, 1.0, np.nextafter(2.0, 0), 1e-3)
    assert t > 10**15
    assert t == pytest.approx(math.log(1e-3 / math.sqrt(2)) / math.log1p(-(2.0**-52)), rel=1e-6)
    # oscillating (rho < 0) coordinate: |rho| = 0.5
    assert steps_to_tolerance([1.0, 0.0], 1.0, 1.0, 1.5, 1e-3) == 10


def test_steps_to_tolerance_rejects_bad_tol_and_curvature():
    with pytest.raises(ValueError, match="tol"):
        steps_to_tolerance([1.0, 1.0], 1.0, 1.0, 0.1, 0.0)
    with pytest.raises(ValueError, match="> 0"):
        converges(0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        gd_quadratic([1.0, 2.0, 3.0], 1.0, 1.0, 0.1, 3)


@given(curv, curv)
def test_optimal_step_minimises_worst_contraction(a, b):
    eta_opt, rate_opt = optimal_step(a, b)
    worst = lambda eta: np.max(np.abs(1 - np.multiply.outer(eta, [a, b])), axis=-1)
    assert worst(eta_opt) == pytest.approx(rate_opt, rel=1e-12, abs=1e-15)
    grid = np.linspace(1e-3, 2 / max(a, b), 500)
    assert np.all(worst(grid) >= rate_opt - 1e-12)
    assert converges(a, b, eta_opt)


def test_symbolic_answers_follow_from_the_update_rule():
    a, b, eta = sympy.symbols("a b eta", positive=True)
    w1, w2 = sympy.symbols("w1 w2", real=True)
    L = (a * w1**2 + b * w2**2) / 2
    ns = {"a": a, "b": b, "eta": eta}
    # one GD step multiplies each coordinate by rho
    assert sympy.simplify((w1 - eta * sympy.diff(L, w1)) / w1 - sympy.sympify(RHO1, ns)) == 0
    assert sympy.simplify((w2 - eta * sympy.diff(L, w2)) / w2 - sympy.sympify(RHO2, ns)) == 0
    (stationary,) = sympy.solve([sympy.diff(L, w1), sympy.diff(L, w2)], [w1, w2], dict=True)
    assert tuple(sympy.sympify(s) for s in W_STAR) == (stationary[w1], stationary[w2])
    # eta_max: largest step with |rho| < 1 in both coordinates
    eta_max = sympy.sympify(ETA_MAX, ns)
    assert eta_max.subs({a: 3, b: 1}) == sympy.Rational(2, 3)
    assert eta_max.subs({a: 1, b: 4}) == sympy.Rational(1, 2)
    # eta_opt balances rho1 = -rho2; the rate is then rho2
    eta_opt = sympy.sympify(ETA_OPT, ns)
    (sol,) = sympy.solve(sympy.Eq(1 - eta * b, -(1 - eta * a)), eta)
    assert sympy.simplify(eta_opt - sol) == 0
    assert sympy.simplify(sympy.sympify(RATE_OPT, ns) - (1 - eta_opt * b)) == 0


def test_inputs_not_modified():
    w0 = np.array([1.0, -2.0])
    w0.flags.writeable = False
    grad_quadratic(w0, 1.0, 2.0)
    W = gd_quadratic(w0, 1.0, 2.0, 0.1, 5)
    steps_to_tolerance(w0, 1.0, 2.0, 0.1, 1e-3)
    assert not np.shares_memory(W, w0)
