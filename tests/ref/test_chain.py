"""Tests for mlhw_ref.chain: the published facts, finite differences, an independent loop
implementation, shapes and input immutability."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import expit

from mlhw_ref.chain import (
    SHRINK_FACTOR,
    SHRINK_FACTOR_SYMBOLIC,
    chain_backward,
    chain_cost,
    chain_forward,
    chain_gradients,
    dtanh,
    first_iteration_trace,
    plot_costs,
    plot_trace,
    shrink_factor,
    train_chain,
    two_layer_cost,
    two_layer_grads,
)

X_PUB = np.array([-0.5, 0.5])
L_PUB = 100


# --------------------------------------------------------------------------- helpers
def numerical_grad(f, theta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central differences of the scalar f at theta (any shape)."""
    theta = np.array(theta, dtype=np.float64)
    grad = np.empty_like(theta)
    for idx in np.ndindex(theta.shape):
        old = theta[idx]
        theta[idx] = old + eps
        fp = f(theta.copy())
        theta[idx] = old - eps
        fm = f(theta.copy())
        theta[idx] = old
        grad[idx] = (fp - fm) / (2 * eps)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| relative to the largest entry of either (a vector-wise relative error)."""
    a, b = np.asarray(a), np.asarray(b)
    scale = max(np.abs(a).max(), np.abs(b).max())
    return float(np.abs(a - b).max() / scale) if scale > 0 else 0.0


def loop_chain(x, y, w, b=None):
    """Independent per-layer, per-example implementation with math.tanh."""
    l, m = len(w), len(x)
    bb = [0.0] * l if b is None else list(b)
    u = [[0.0] * m for _ in range(l)]
    h = [[float(v) for v in x]] + [[0.0] * m for _ in range(l)]
    for k in range(1, l + 1):
        for i in range(m):
            u[k - 1][i] = h[k - 1][i] * w[k - 1] + bb[k - 1]
            h[k][i] = math.tanh(u[k - 1][i])
    g = [[0.0] * m for _ in range(l)]
    for i in range(m):
        g[l - 1][i] = (1 - h[l][i] ** 2) * (h[l][i] - y[i]) / m
    for k in range(l, 1, -1):  # 1-based: g_{k-1} = tanh'(u_{k-1}) g_k w_k
        for i in range(m):
            g[k - 2][i] = (1 - h[k - 1][i] ** 2) * g[k - 1][i] * w[k - 1]
    dw = [sum(h[k - 1][i] * g[k - 1][i] for i in range(m)) for k in range(1, l + 1)]
    db = [sum(g[k - 1][i] for i in range(m)) for k in range(1, l + 1)]
    return (np.array(a) for a in (u, h, g, dw, db))


def readonly(*arrays_):
    out = []
    for a in arrays_:
        a = np.array(a, dtype=np.float64)
        a.flags.writeable = False
        out.append(a)
    return out


floats = st.floats(-1.0, 1.0, allow_nan=False)


@st.composite
def chain_problem(draw, max_l: int = 8, max_m: int = 5, w_bound: float = 1.5):
    l = draw(st.integers(1, max_l))
    m = draw(st.integers(1, max_m))
    x = draw(arrays(np.float64, m, elements=floats))
    y = draw(arrays(np.float64, m, elements=floats))
    w = draw(arrays(np.float64, l, elements=st.floats(-w_bound, w_bound)))
    b = draw(arrays(np.float64, l, elements=st.floats(-0.5, 0.5)))
    # weights all equal would hide off-by-one indexing (g_k using w_k instead of w_{k+1})
    assume(l == 1 or np.ptp(w) > 0.1)
    return x, y, w, b


# --------------------------------------------------------------------------- published runs
@pytest.fixture(scope="module")
def published_runs():
    return {
        w0: train_chain(X_PUB, X_PUB, np.full(L_PUB, w0), alpha=0.1, max_iter=1000)
        for w0 in (1.0, 5.0, 0.9)
    }


def test_all_ones_chain_trains_to_zero_cost(published_runs):
    _, b, costs = published_runs[1.0]
    assert b is None
    assert costs.shape == (1001,)
    assert f"{costs[0]:.3g}" == "0.0727"
    assert costs[-1] < 1e-20


@pytest.mark.parametrize("w0", [5.0, 0.9])
def test_saturated_and_shrinking_chains_do_not_train(published_runs, w0):
    _, _, costs = published_runs[w0]
    assert costs.shape == (1001,)
    assert np.all(np.abs(costs - 0.125) < 0.01)


def test_first_iteration_at_w5_vanishes_at_layer_one():
    h, g = first_iteration_trace(X_PUB, X_PUB, np.full(L_PUB, 5.0))
    assert h.shape == (L_PUB + 1, 2) and g.shape == (L_PUB, 2)
    assert np.all(np.abs(g[0]) < 1e-250)
    assert np.all(g[0] != 0), "g at layer 1 must underflow gracefully, not to exactly 0"
    np.testing.assert_allclose(np.abs(g[-1]), 4.5e-5, rtol=0.05)


def test_first_iteration_at_w09_forward_signal_dies():
    h, _ = first_iteration_trace(X_PUB, X_PUB, np.full(L_PUB, 0.9))
    assert np.all(np.abs(h[L_PUB]) < 1e-3)


def test_first_iteration_trace_is_the_first_update():
    rng = np.random.default_rng(0)
    x, y, w0 = rng.normal(size=3), rng.normal(size=3), rng.normal(size=6)
    h, g = first_iteration_trace(x, y, w0)
    dw, _ = chain_gradients(h, g)
    w1, _, _ = train_chain(x, y, w0, alpha=0.3, max_iter=1)
    np.testing.assert_allclose(w1, w0 - 0.3 * dw, rtol=1e-12)


def test_shrink_factor_matches_sympy_and_trace():
    expected = float(sympy.sympify(SHRINK_FACTOR_SYMBOLIC).evalf(30))
    assert SHRINK_FACTOR == pytest.approx(expected, rel=1e-12)
    assert shrink_factor(5.0) == pytest.approx(5 / math.cosh(5) ** 2, rel=1e-12)
    # deep in the saturated chain g shrinks by about this factor per layer
    _, g = first_iteration_trace(X_PUB, X_PUB, np.full(L_PUB, 5.0))
    np.testing.assert_allclose(g[10:50, 1] / g[11:51, 1], SHRINK_FACTOR, rtol=1e-2)


@given(st.floats(-350, 350))  # beyond, sech^2 is subnormal and relative accuracy is moot
def test_dtanh_is_accurate_where_one_minus_tanh_squared_cancels(u):
    exact = mpmath_sech2(u)
    assert abs(float(dtanh(u)) - exact) <= 1e-13 * exact


def mpmath_sech2(u: float) -> float:
    import mpmath

    with mpmath.workdps(50):
        return float(mpmath.sech(mpmath.mpf(u)) ** 2)


# --------------------------------------------------------------------------- finite differences
@settings(max_examples=40, deadline=None)
@given(chain_problem())
def test_weight_and_bias_gradients_match_finite_differences(problem):
    x, y, w, b = problem
    u, h = chain_forward(x, w, b)
    dw, db = chain_gradients(h, chain_backward(u, h, y, w))
    num_w = numerical_grad(lambda w_: chain_cost(x, y, w_, b), w)
    num_b = numerical_grad(lambda b_: chain_cost(x, y, w, b_), b)
    assume(np.abs(num_w).max() > 1e-3 and np.abs(num_b).max() > 1e-3)
    assert rel_error(dw, num_w) < 1e-6
    assert rel_error(db, num_b) < 1e-6


@settings(max_examples=40, deadline=None)
@given(chain_problem(max_l=12, w_bound=3.0), st.booleans())
def test_vectorised_chain_matches_loop_implementation(problem, with_bias):
    x, y, w, b = problem
    b = b if with_bias else None
    u, h = chain_forward(x, w, b)
    g = chain_backward(u, h, y, w)
    dw, db = chain_gradients(h, g)
    lu, lh, lg, ldw, ldb = loop_chain(x, y, w, b)
    for got, want in ((u, lu), (h, lh), (g, lg), (dw, ldw), (db, ldb)):
        assert got.shape == want.shape
        # the loop uses 1 - tanh^2, which loses a few digits when |u| is large
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-14)


def test_train_chain_first_step_follows_numerical_gradient():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 4)
    w0, b0 = rng.normal(size=5), rng.normal(size=5) * 0.3
    w1, b1, costs = train_chain(x, y, w0, b0, alpha=0.5, max_iter=1)
    num_w = numerical_grad(lambda w_: chain_cost(x, y, w_, b0), w0)
    num_b = numerical_grad(lambda b_: chain_cost(x, y, w0, b_), b0)
    np.testing.assert_allclose(w1, w0 - 0.5 * num_w, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(b1, b0 - 0.5 * num_b, rtol=1e-8, atol=1e-12)
    assert costs[0] == pytest.approx(chain_cost(x, y, w0, b0), rel=1e-14)
    assert costs[1] == pytest.approx(chain_cost(x, y, w1, b1), rel=1e-14)


@settings(max_examples=20, deadline=None)
@given(chain_problem(max_l=6), st.integers(0, 30))
def test_train_chain_costs_length_and_small_steps_never_increase_cost(problem, n_iter):
    x, y, w, b = problem
    w_end, b_end, costs = train_chain(x, y, w, b, alpha=0.05, max_iter=n_iter)
    assert costs.shape == (n_iter + 1,)
    assert costs[-1] == pytest.approx(chain_cost(x, y, w_end, b_end), rel=1e-12, abs=1e-300)
    # J is smooth with a small Lipschitz gradient here, so small GD steps cannot go uphill
    assert np.all(np.diff(costs) <= 1e-15)
    _, b_none, _ = train_chain(x, y, w, None, alpha=0.05, max_iter=2)
    assert b_none is None


# --------------------------------------------------------------------------- two-layer network
def _softplus(z):
    return np.logaddexp(0.0, z)


ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (expit, lambda z: expit(z) * (1 - expit(z))),
    "softplus": (_softplus, expit),
}


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from(sorted(ACTIVATIONS)),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_two_layer_grads_match_finite_differences(name, m, d, hdim, c, seed):
    phi, dphi = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    X, W1, b = rng.normal(size=(m, d)), rng.normal(size=(d, hdim)), rng.normal(size=hdim)
    W2, Y = rng.normal(size=(hdim, c)), rng.normal(size=(c, m))
    G2, G1, dW1, db = two_layer_grads(X, W1, b, W2, Y, phi, dphi)
    assert G2.shape == (m, c) and G1.shape == (m, hdim)
    assert dW1.shape == (d, hdim) and db.shape == (hdim,)

    def cost_of_U1(U1):  # J as a function of U1, written with an explicit trace
        return -np.trace(phi(U1) @ W2 @ Y) / m

    U1 = X @ W1 + b
    assert rel_error(G1, numerical_grad(cost_of_U1, U1)) < 1e-6
    assert rel_error(G2, numerical_grad(lambda U2: -np.trace(U2 @ Y) / m, phi(U1) @ W2)) < 1e-6
    assert two_layer_cost(X, W1, b, W2, Y, phi) == pytest.approx(cost_of_U1(U1), rel=1e-10)
    num_W1 = numerical_grad(lambda W: two_layer_cost(X, W, b, W2, Y, phi), W1)
    num_b = numerical_grad(lambda b_: two_layer_cost(X, W1, b_, W2, Y, phi), b)
    assert rel_error(dW1, num_W1) < 1e-6
    assert rel_error(db, num_b) < 1e-6


def test_two_layer_rejects_inconsistent_shapes():
    X, W1, b, W2 = np.ones((3, 2)), np.ones((2, 4)), np.ones(4), np.ones((4, 5))
    with pytest.raises(ValueError, match=r"Y \(c, m\)"):
        two_layer_grads(X, W1, b, W2, np.ones((3, 5)), np.tanh, np.tanh)


# --------------------------------------------------------------------------- shapes, inputs
@settings(max_examples=20, deadline=None)
@given(chain_problem(max_l=10))
def test_functions_do_not_modify_inputs(problem):
    x, y, w, b = readonly(*problem)  # writing into a read-only array raises
    u, h = chain_forward(x, w, b)
    u, h = readonly(u, h)
    g = readonly(chain_backward(u, h, y, w))[0]
    chain_gradients(h, g)
    chain_cost(x, y, w, b)
    train_chain(x, y, w, b, max_iter=3)
    first_iteration_trace(x, y, w)
    assert not np.shares_memory(train_chain(x, y, w, b, max_iter=0)[0], w)


@pytest.mark.parametrize("l", [1, 2, 200])
def test_shapes(l):
    x = np.linspace(-1, 1, 3)
    u, h = chain_forward(x, np.full(l, 0.7))
    assert u.shape == (l, 3) and h.shape == (l + 1, 3)
    np.testing.assert_array_equal(h[0], x)
    g = chain_backward(u, h, x, np.full(l, 0.7))
    dw, db = chain_gradients(h, g)
    assert g.shape == (l, 3) and dw.shape == (l,) and db.shape == (l,)


def test_helpful_errors():
    with pytest.raises(ValueError, match="one bias per layer"):
        chain_forward([0.1, 0.2], [1.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="1-D"):
        chain_forward([[0.1, 0.2]], [1.0])
    with pytest.raises(ValueError, match="must match"):
        chain_cost([0.1, 0.2], [0.1], [1.0])
    with pytest.raises(ValueError, match="at least one layer"):
        chain_forward([0.1], [])


# --------------------------------------------------------------------------- plots
def test_plot_costs_has_one_log_line_per_init(published_runs):
    fig = plot_costs({f"w0={k}": v[2] for k, v in published_runs.items()})
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 3
    assert all(len(line.get_ydata()) == 1001 for line in ax.lines)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["w0=1.0", "w0=5.0", "w0=0.9"]


def test_plot_trace_lengths_and_log_axis():
    h, g = first_iteration_trace(X_PUB, X_PUB, np.full(L_PUB, 5.0))
    (ax,) = plot_trace(h, g).axes
    assert ax.get_yscale() == "log"
    h_line, g_line = ax.lines
    assert len(h_line.get_xdata()) == L_PUB + 1 and len(g_line.get_xdata()) == L_PUB
    np.testing.assert_allclose(g_line.get_ydata(), np.linalg.norm(g, axis=1))
