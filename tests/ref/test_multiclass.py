"""mlhw_ref.multiclass and make_circles: fprop/loss, bprop with elastic-net penalties and
grad_input vs finite differences, n_params, training on two circles, the boundary plot."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlhw_ref import multiclass as mc
from mlhw_ref.datasets.circles import make_circles
from mlhw_ref.gradcheck import numerical_gradient, relative_error


def random_problem(seed: int):
    rng = np.random.default_rng(seed)
    d, d_h, m, n = (int(v) for v in rng.integers([1, 1, 2, 1], [6, 6, 5, 8]))

    # |W| >= 0.1 so that the L1 term's kink at 0 is far from every finite-difference step.
    def weights(shape):
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 1.5, size=shape)

    params = {
        "W1": weights((d_h, d)),
        "b1": rng.normal(0, 0.5, d_h),
        "W2": weights((m, d_h)),
        "b2": rng.normal(0, 0.5, m),
    }
    X = rng.normal(size=(n, d))
    y = rng.integers(0, m, size=n)
    return params, X, y


def relu_margin(params, X):
    """Distance of the hidden pre-activations from the ReLU kink."""
    return np.min(np.abs(X @ params["W1"].T + params["b1"]))


def assert_gradient_close(analytic, numeric, f_value, what):
    """Relative error < 1e-6, or an absolute error within the finite differences' rounding
    noise (~1e-11 |f| at eps = 1e-5; 1e-9 (1 + |f|) allowed) for a gradient that vanished."""
    abs_err = np.max(np.abs(np.asarray(analytic) - numeric), initial=0.0)
    err = relative_error(analytic, numeric)
    assert err < 1e-6 or abs_err < 1e-9 * (1 + abs(f_value)), (
        f"{what}: relative error {err:.2e}, absolute {abs_err:.2e}"
    )


# --------------------------------------------------------------------------- fprop / loss
@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_fprop_follows_the_definition_and_loss_is_the_mean_nll(seed):
    params, X, y = random_problem(seed)
    ha = np.einsum("jk,nk->nj", params["W1"], X) + params["b1"]
    oa = np.einsum("cj,nj->nc", params["W2"], np.where(ha > 0, ha, 0)) + params["b2"]
    P = np.exp(oa) / np.exp(oa).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(mc.fprop(params, X), P, rtol=1e-12)
    assert mc.loss(params, X, y) == pytest.approx(
        -np.mean(np.log(P[np.arange(len(y)), y])), rel=1e-10
    )


def test_loss_is_finite_for_huge_logits():
    params, X, y = random_problem(0)
    big = {k: 1e4 * v for k, v in params.items()}
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert np.isfinite(mc.loss(big, X, y))
        assert all(np.all(np.isfinite(g)) for g in mc.bprop(big, X, y).values())


# --------------------------------------------------------------------------- bprop
penalty_terms = st.tuples(*[st.sampled_from([0.0, 0.03, 0.7])] * 4)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lambdas=penalty_terms)
def test_bprop_matches_central_differences_of_the_penalized_loss(seed, lambdas):
    params, X, y = random_problem(seed)
    assume(relu_margin(params, X) > 1e-4)
    grads = mc.bprop(params, X, y, *lambdas)
    assert {k: g.shape for k, g in grads.items()} == {k: v.shape for k, v in params.items()}
    f = lambda p: mc.penalized_loss(p, X, y, *lambdas)
    numeric = numerical_gradient(f, params)
    for key in params:
        assert_gradient_close(
            grads[key], numeric[key], f(params), f"{key} with penalties {lambdas}"
        )


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_penalty_is_added_to_the_mean_nll(seed):
    params, X, y = random_problem(seed)
    l11, l12, l21, l22 = 0.1, 0.2, 0.3, 0.4
    expected = (
        l11 * np.abs(params["W1"]).sum()
        + l12 * (params["W1"] ** 2).sum()
        + l21 * np.abs(params["W2"]).sum()
        + l22 * (params["W2"] ** 2).sum()
    )
    assert mc.penalized_loss(params, X, y, l11, l12, l21, l22) == pytest.approx(
        mc.loss(params, X, y) + expected, rel=1e-12
    )
    # The penalty's gradient only touches the weights, and L1 contributes sign(W), not |W|.
    g0, g = mc.bprop(params, X, y), mc.bprop(params, X, y, l11=1.0)
    np.testing.assert_allclose(g["W1"] - g0["W1"], np.sign(params["W1"]), atol=1e-12)
    for key in ("b1", "W2", "b2"):
        np.testing.assert_array_equal(g[key], g0[key])


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_bprop_is_a_batch_mean(seed):
    # Repeating the batch leaves the mean-loss gradient unchanged (a sum would double it).
    params, X, y = random_problem(seed)
    g, g2 = mc.bprop(params, X, y), mc.bprop(params, np.vstack([X, X]), np.concatenate([y, y]))
    for key in params:
        np.testing.assert_allclose(g2[key], g[key], rtol=1e-10, atol=1e-15)


# --------------------------------------------------------------------------- grad_input
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_grad_input_matches_central_differences(seed):
    params, X, y = random_problem(seed)
    assume(relu_margin(params, X) > 1e-4)
    x, label = X[0], int(y[0])
    f = lambda v: mc.loss(params, v[None, :], [label])
    g = mc.grad_input(params, x, label)
    assert g.shape == x.shape
    assert_gradient_close(g, numerical_gradient(f, x), f(x), "grad_input")
    # A batch gives one row per example, each that example's own gradient.
    G = mc.grad_input(params, X, y)
    assert G.shape == X.shape
    for i in range(len(y)):
        np.testing.assert_allclose(
            G[i], mc.grad_input(params, X[i], int(y[i])), rtol=1e-12, atol=1e-15
        )


# --------------------------------------------------------------------------- sizes and errors
@settings(deadline=None)
@given(d=st.integers(1, 50), d_h=st.integers(1, 50), m=st.integers(1, 10))
def test_n_params_counts_every_weight_and_bias(d, d_h, m):
    params = mc.init_params(d, d_h, m, np.random.default_rng(0))
    assert mc.n_params(d, d_h, m) == sum(v.size for v in params.values())


def test_bad_inputs_give_clear_errors():
    params, X, y = random_problem(1)
    m = params["W2"].shape[0]
    with pytest.raises(ValueError, match=r"labels must be in \[0, "):
        mc.loss(params, X, np.full(len(y), m))
    with pytest.raises(ValueError, match="n_samples"):
        mc.fprop(params, X[:, :0])
    with pytest.raises(KeyError, match="b2"):
        mc.fprop({k: v for k, v in params.items() if k != "b2"}, X)


# --------------------------------------------------------------------------- circles
def test_make_circles_geometry_and_determinism():
    X, y = make_circles(301, noise=0.0, factor=0.3, rng=np.random.default_rng(0))
    assert X.shape == (301, 2) and y.shape == (301,) and y.dtype.kind == "i"
    assert np.sum(y == 0) == 150 and np.sum(y == 1) == 151
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-12)
    np.testing.assert_allclose(radius[y == 1], 0.3, rtol=1e-12)
    X2, _ = make_circles(301, noise=0.0, factor=0.3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(X, X2)
    Xn, _ = make_circles(20_000, noise=0.1, factor=0.5, rng=1)
    radius_n = np.hypot(*Xn.T)
    assert 0.05 < np.std(radius_n[radius_n > 0.75]) < 0.15  # the noise shows in the radius
    with pytest.raises(ValueError, match="factor"):
        make_circles(10, noise=0.1, factor=1.5)
    with pytest.raises(ValueError, match="noise"):
        make_circles(10, noise=-1.0, factor=0.5)


@pytest.fixture(scope="module")
def trained_on_circles():
    X, y = make_circles(1000, noise=0.1, factor=0.5, rng=np.random.default_rng(2))
    params, history = mc.train(
        X, y, d_h=16, lr=0.1, epochs=60, batch_size=32, rng=np.random.default_rng(3)
    )
    return X, y, params, history


def test_train_separates_two_circles_on_held_out_data(trained_on_circles):
    _, _, params, history = trained_on_circles
    X_new, y_new = make_circles(2000, noise=0.1, factor=0.5, rng=np.random.default_rng(4))
    assert mc.accuracy(params, X_new, y_new) >= 0.95
    assert set(history) == {"train_loss", "valid_loss", "train_acc", "valid_acc"}
    assert all(len(v) == 60 for v in history.values())
    assert history["valid_acc"][-1] >= 0.95
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_train_is_deterministic_and_holds_out_a_fifth():
    X, y = make_circles(50, noise=0.1, factor=0.5, rng=5)
    p1, h1 = mc.train(X, y, 4, 0.1, 2, 8, np.random.default_rng(6))
    p2, h2 = mc.train(X, y, 4, 0.1, 2, 8, np.random.default_rng(6))
    assert h1 == h2 and all(np.array_equal(p1[k], p2[k]) for k in p1)
    # Validation accuracy on 10 held-out points is a multiple of 1/10.
    assert all(abs(a * 10 - round(a * 10)) < 1e-9 for a in h1["valid_acc"])


def test_plot_decision_boundary_has_points_and_a_contour(trained_on_circles):
    X, y, params, _ = trained_on_circles
    fig = mc.plot_decision_boundary(params, X, y, resolution=50)
    (ax,) = fig.axes
    offsets = [c.get_offsets() for c in ax.collections if len(c.get_offsets()) == len(y)]
    assert len(offsets) == 1
    np.testing.assert_array_equal(np.asarray(offsets[0]), X)
    from matplotlib.contour import ContourSet

    assert sum(isinstance(c, ContourSet) for c in ax.collections) == 1
