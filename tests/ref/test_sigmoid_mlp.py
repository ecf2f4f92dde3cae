"""mlhw_ref.sigmoid_mlp: forward/loss, backprop vs finite differences, He init, vanishing
gradients, and training on MNIST 0 vs 1."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from mlhw_ref import sigmoid_mlp as sm
from mlhw_ref.gradcheck import numerical_gradient, relative_error


def random_problem(seed: int, depth: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    D = int(rng.integers(1, 6))
    sizes = [D] + [int(h) for h in rng.integers(1, 5, size=depth)] + [1]
    n = int(rng.integers(1, 7))
    params = sm.init_params(sizes, rng, "normal")
    params = {
        k: scale * v + (0.3 * rng.standard_normal(np.shape(v)) if k[0] == "b" else 0)
        for k, v in params.items()
    }
    params[f"b{depth + 1}"] = float(params[f"b{depth + 1}"])
    X = rng.normal(size=(n, D))
    y = rng.integers(0, 2, size=n)
    return sizes, params, X, y


def naive_forward(params, X, depth):
    """Straight from the assignment's formulas, with scipy's expit."""
    h = X
    for l in range(1, depth + 1):
        h = expit(h @ params[f"W{l}"] + params[f"b{l}"])
    return expit(h @ params[f"w{depth + 1}"] + params[f"b{depth + 1}"])


# --------------------------------------------------------------------------- forward / loss
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(0, 3))
def test_forward_and_loss_follow_the_definitions(seed, depth):
    _, params, X, y = random_problem(seed, depth)
    f = naive_forward(params, X, depth)
    np.testing.assert_allclose(sm.forward(params, X), f, rtol=1e-12)
    expected = -np.sum(y * np.log(f) + (1 - y) * np.log(1 - f))
    assert sm.loss(params, X, y) == pytest.approx(expected, rel=1e-9)


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(0, 3), scale=st.floats(1e2, 1e4))
def test_loss_is_finite_and_warning_free_for_huge_pre_activations(seed, depth, scale):
    _, params, X, y = random_problem(seed, depth, scale=scale)
    params[f"b{depth + 1}"] = 50 * scale  # output logit z ~ 50 * scale for every example
    # Underflow (saturated units times small numbers) is benign and allowed; overflow,
    # division by zero and invalid operations are not.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            L = sm.loss(params, X, y)
            f = sm.forward(params, X)
            grads = sm.backward(params, X, y)
    assert np.isfinite(L) and np.all(np.isfinite(f))
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    # z = b + w . h with |h| <= 1 (hidden sigmoid units; the inputs themselves at depth 0):
    # each example with y = 0 pays about z, each with y = 1 about 0.
    h_max = np.abs(X) if depth == 0 else np.ones((len(y), 1))
    slack = np.sum((h_max * np.abs(params[f"w{depth + 1}"])).sum(axis=1)[y == 0])
    assert L == pytest.approx(np.sum(y == 0) * 50 * scale, abs=slack + 1e-6)


# --------------------------------------------------------------------------- backward
def assert_gradient_close(analytic, numeric, f_value, what):
    """Relative error < 1e-6, or an absolute error within the finite differences' own
    rounding noise (~1e-16 * |f| / eps = 1e-11 |f| at eps = 1e-5; allowed: 1e-9 (1 + |f|)).
    The second case only matters for gradients that have vanished to ~1e-5 of the loss
    (deep, saturated sigmoid stacks); a wrong gradient is off by far more than that."""
    abs_err = np.max(np.abs(np.asarray(analytic) - numeric), initial=0.0)
    err = relative_error(analytic, numeric)
    assert err < 1e-6 or abs_err < 1e-9 * (1 + abs(f_value)), (
        f"{what}: relative error {err:.2e}, absolute {abs_err:.2e} (loss {f_value:.3g})"
    )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(0, 3))
def test_backward_matches_central_differences(seed, depth):
    _, params, X, y = random_problem(seed, depth)
    grads = sm.backward(params, X, y)
    assert set(grads) == set(params)
    numeric = numerical_gradient(lambda p: sm.loss(p, X, y), params)
    L = sm.loss(params, X, y)
    for key in params:
        assert np.shape(grads[key]) == np.shape(params[key]), key
        assert_gradient_close(grads[key], numeric[key], L, f"d loss / d {key} at depth {depth}")


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(1, 3))
def test_loss_and_gradient_are_sums_over_examples(seed, depth):
    # Doubling the data set doubles the loss and every gradient (a mean would not).
    _, params, X, y = random_problem(seed, depth)
    X2, y2 = np.vstack([X, X]), np.concatenate([y, y])
    assert sm.loss(params, X2, y2) == pytest.approx(2 * sm.loss(params, X, y), rel=1e-12)
    g, g2 = sm.backward(params, X, y), sm.backward(params, X2, y2)
    for key in params:
        np.testing.assert_allclose(g2[key], 2 * np.asarray(g[key]), rtol=1e-10, atol=1e-14)


def test_bad_params_and_data_give_clear_errors():
    params = sm.init_params([4, 3, 1], np.random.default_rng(0))
    with pytest.raises(KeyError, match="missing"):
        sm.loss({k: v for k, v in params.items() if k != "w2"}, np.zeros((2, 4)), [0, 1])
    with pytest.raises(ValueError, match=r"\(n_samples, 4\)"):
        sm.forward(params, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="0/1"):
        sm.loss(params, np.zeros((2, 4)), [0, 2])
    with pytest.raises(ValueError, match="single output"):
        sm.init_params([4, 3, 2], np.random.default_rng(0))


# --------------------------------------------------------------------------- initialisation
@pytest.mark.parametrize("n_in", [1, 7, 784])
def test_he_std_squared_is_two_over_n(n_in):
    assert sm.he_std(n_in) ** 2 * n_in == pytest.approx(2.0, rel=1e-14)


@pytest.mark.parametrize(
    "scheme, std", [("he", lambda n: np.sqrt(2 / n)), ("normal", lambda n: 1.0)]
)
def test_init_params_sample_std_within_2_percent(scheme, std):
    # 400,000 draws per matrix: the sample std has relative error ~ 1/sqrt(2 * 4e5) = 0.1%.
    sizes = [800, 500, 400, 1]
    params = sm.init_params(sizes, np.random.default_rng(1), scheme)
    assert sorted(params) == ["W1", "W2", "b1", "b2", "b3", "w3"]
    for l in (1, 2):
        W = params[f"W{l}"]
        assert W.shape == (sizes[l - 1], sizes[l])
        assert W.std() == pytest.approx(std(sizes[l - 1]), rel=0.02)
        assert abs(W.mean()) < 5 * std(sizes[l - 1]) / np.sqrt(W.size)
        np.testing.assert_array_equal(params[f"b{l}"], np.zeros(sizes[l]))
    assert params["w3"].shape == (400,) and params["b3"] == 0.0
    again = sm.init_params(sizes, np.random.default_rng(1), scheme)
    np.testing.assert_array_equal(again["W2"], params["W2"])


def test_he_keeps_relu_variance_over_30_layers():
    # One stack drifts (its log-variance random-walks with sd ~0.66 at depth 30, width 256,
    # so a single correct stack usually leaves [0.7, 1.4]); the expectation is exactly
    # constant for He, and the mean over 40 stacks stays in [0.7, 1.4] for ~99.4% of seeds
    # (measured by resampling 300 stacks). The weights, not the 8 inputs, carry the noise.
    var_z = sm.relu_stack_variances(30, 256, np.random.default_rng(2), n_samples=8, n_stacks=40)
    ratio = var_z / var_z[0]
    assert ratio.shape == (30,)
    assert ratio.min() >= 0.7 and ratio.max() <= 1.4, ratio.round(3)


def test_unit_normal_weights_blow_relu_variance_up():
    var_z = sm.relu_stack_variances(5, 64, np.random.default_rng(3), scheme="normal")
    growth = var_z[1:] / var_z[:-1]  # expected width / 2 = 32 per layer
    assert np.all((growth > 16) & (growth < 64)), growth


# --------------------------------------------------------------------------- vanishing gradients
@pytest.fixture(scope="module")
def random_mnist_like():
    rng = np.random.default_rng(4)
    return rng.random((100, 784)), rng.integers(0, 2, 100)


def test_grad_w1_norm_is_the_frobenius_norm_of_the_numerical_gradient():
    _, params, X, y = random_problem(5, 3)
    numeric = numerical_gradient(lambda W: sm.loss({**params, "W1": W}, X, y), params["W1"])
    assert sm.grad_w1_norm(params, X, y) == pytest.approx(np.linalg.norm(numeric), rel=1e-7)


def test_gradient_norm_shrinks_with_depth_at_unit_normal_init(random_mnist_like):
    # Measured: about -0.2 decades per layer on average, and a single draw is not monotone,
    # so only the sign of the least-squares slope of the seed-averaged norms is tested.
    X, y = random_mnist_like
    depths = np.arange(1, 11)
    norms = sm.grad_norms_by_depth(depths, X, y, 20, np.random.default_rng(6), n_seeds=5)
    assert norms.shape == (10,) and np.all(norms > 0)
    slope = sm.log10_slope(depths, norms)
    assert -0.5 < slope < -0.05, slope


def test_gradient_norm_vanishes_two_decades_per_layer_at_scale_001(random_mnist_like):
    # Per layer the backward signal is multiplied by about sigmoid'(0) * 0.01 * sqrt(20)
    # = 0.011, i.e. -1.95 decades (measured -1.95 to -1.97 over seeds); < -1.5 leaves room.
    X, y = random_mnist_like
    depths = np.arange(1, 11)
    norms = sm.grad_norms_by_depth(
        depths, X, y, 20, np.random.default_rng(7), weight_scale=0.01, n_seeds=3
    )
    slope = sm.log10_slope(depths, norms)
    assert -2.5 < slope < -1.5, slope


def test_plot_grad_norms_has_the_data_on_a_log_axis():
    depths, norms = [1, 2, 3, 4], [1e-1, 3e-3, 5e-5, 2e-7]
    fig = sm.plot_grad_norms(depths, norms)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), depths)
    np.testing.assert_array_equal(line.get_ydata(), norms)
    with pytest.raises(ValueError, match="same length"):
        sm.plot_grad_norms([1, 2], [1.0])


# --------------------------------------------------------------------------- training
def test_lr_multiplies_the_batch_mean_gradient():
    sizes, _, X, y = random_problem(8, 2)
    lr, n = 0.3, len(y)
    start = sm.init_params(sizes, np.random.default_rng(9))
    grads = sm.backward(start, X, y)
    trained = sm.train(X, y, sizes, lr=lr, batch_size=n, epochs=1, rng=np.random.default_rng(9))
    for key in start:
        np.testing.assert_allclose(
            trained[key], start[key] - lr * np.asarray(grads[key]) / n, rtol=1e-10, atol=1e-14
        )


def test_train_is_deterministic_given_the_generator():
    sizes, _, X, y = random_problem(10, 2)
    a = sm.train(X, y, sizes, 0.5, 2, 3, np.random.default_rng(11))
    b = sm.train(X, y, sizes, 0.5, 2, 3, np.random.default_rng(11))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_train_reaches_99_percent_on_mnist_0_vs_1():
    from mlhw_ref.datasets.mnist import load_mnist

    data = load_mnist()

    def zeros_and_ones(X, y):
        keep = (y == 0) | (y == 1)
        return X[keep] / 255.0, (y[keep] == 1).astype(int)

    X_train, y_train = zeros_and_ones(data.X_train, data.y_train)
    X_test, y_test = zeros_and_ones(data.X_test, data.y_test)
    assert len(y_train) > 1000 and len(y_test) > 200
    params = sm.train(
        X_train,
        y_train,
        [784, 32, 32, 1],
        lr=0.5,
        batch_size=32,
        epochs=3,
        rng=np.random.default_rng(0),
    )
    acc = float(np.mean((sm.forward(params, X_test) >= 0.5) == y_test))
    assert acc >= 0.99, f"test accuracy {acc:.4f}"
