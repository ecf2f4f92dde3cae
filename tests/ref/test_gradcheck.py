"""mlhw_ref.gradcheck and multiclass.grad_check: finite differences, relative error, planted bugs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from mlhw_ref import gradcheck as gc
from mlhw_ref.multiclass import grad_check

thetas = arrays(
    np.float64, array_shapes(min_dims=1, max_dims=2, max_side=5), elements=st.floats(-2, 2)
)


# A smooth test function with a known gradient, coupling the coordinates.
def f_smooth(theta):
    return float(np.sum(np.sin(theta) * theta**2) + np.sum(theta) ** 2 / 3)


def grad_smooth(theta):
    return np.cos(theta) * theta**2 + 2 * theta * np.sin(theta) + 2 * np.sum(theta) / 3


@settings(max_examples=50, deadline=None)
@given(theta=thetas)
def test_numerical_gradient_matches_a_known_gradient(theta):
    before = theta.copy()
    numeric = gc.numerical_gradient(f_smooth, theta)
    assert numeric.shape == theta.shape
    np.testing.assert_allclose(numeric, grad_smooth(theta), rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(theta, before, err_msg="theta was changed in place")


@settings(max_examples=30, deadline=None)
@given(theta=thetas, seed=st.integers(0, 2**32 - 1), k=st.integers(1, 30))
def test_sampled_coordinates_agree_with_the_full_gradient(theta, seed, k):
    full = gc.numerical_gradient(f_smooth, theta)
    rng = np.random.default_rng(seed)
    coords = rng.choice(theta.size, size=min(k, theta.size), replace=False)
    np.testing.assert_array_equal(
        gc.numerical_gradient(f_smooth, theta, coords=coords), full.ravel()[coords]
    )
    sampled = gc.numerical_gradient(f_smooth, theta, n_samples=k, rng=np.random.default_rng(seed))
    assert sampled.shape == (min(k, theta.size),)
    # Every sampled value is the partial derivative at some distinct coordinate.
    assert all(np.any(v == full.ravel()) for v in sampled)


def test_numerical_gradient_of_a_dict_of_parameters():
    params = {"W": np.arange(6.0).reshape(2, 3) / 10, "b": 0.3}

    def f(p):
        return float(np.sum(p["W"] ** 3) * p["b"])

    grads = gc.numerical_gradient(f, params)
    np.testing.assert_allclose(grads["W"], 3 * params["W"] ** 2 * 0.3, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(grads["b"], np.sum(params["W"] ** 3), rtol=1e-8)
    assert params["b"] == 0.3 and params["W"][0, 1] == 0.1


@settings(deadline=None)
@given(a=thetas, scale=st.floats(1e-6, 1e6), seed=st.integers(0, 100))
def test_relative_error_is_zero_on_equal_symmetric_and_scale_free(a, scale, seed):
    b = a + np.random.default_rng(seed).normal(0, 0.1, a.shape)
    assert gc.relative_error(a, a) == 0.0
    e = gc.relative_error(a, b)
    assert e == gc.relative_error(b, a)
    assert gc.relative_error(scale * a, scale * b) == pytest.approx(e, rel=1e-9, abs=1e-300)
    for elementwise in (False, True):
        assert gc.relative_error(a, -a, elementwise=elementwise) == (2.0 if np.any(a) else 0.0)


def test_relative_error_modes_and_bad_input():
    a, b = np.array([1.0, 1e-9]), np.array([1.0, 2e-9])
    assert gc.relative_error(a, b) == pytest.approx(1e-9)  # tiny against the gradient's scale
    assert gc.relative_error(a, b, elementwise=True) == pytest.approx(0.5)
    assert gc.relative_error(np.zeros(3), np.zeros(3), elementwise=True) == 0.0
    assert gc.relative_error(a, np.array([1.0, np.nan])) == np.inf
    with pytest.raises(ValueError, match="shapes"):
        gc.relative_error(np.zeros(3), np.zeros((3, 1)))


CHECKERS = [
    ("gradcheck.max_relative_error", gc.max_relative_error),
    ("multiclass.grad_check", grad_check),
]


@pytest.mark.parametrize("name, check", CHECKERS, ids=[c[0] for c in CHECKERS])
@settings(max_examples=40, deadline=None)
@given(theta=thetas, seed=st.integers(0, 2**32 - 1))
def test_correct_gradient_passes_and_planted_bugs_are_flagged(name, check, theta, seed):
    theta = theta + 0.05  # keep the gradient away from all-zero
    assert check(f_smooth, grad_smooth, theta) < 1e-6
    i = np.random.default_rng(seed).integers(theta.size)
    g = grad_smooth(theta)
    scale = np.abs(g).max()

    def one_entry_wrong(t):
        out = grad_smooth(t)
        out.flat[i] += 0.1 * scale + 1e-3
        return out

    bugs = [
        lambda t: 2 * grad_smooth(t),  # a factor (sum vs mean)
        lambda t: -grad_smooth(t),  # stepping uphill
        one_entry_wrong,
    ]
    for bug in bugs:
        assert check(f_smooth, bug, theta) > 1e-2, f"{name} missed a planted wrong gradient"


def test_sampled_check_and_errors():
    theta = np.linspace(-1, 1, 50)
    rng = np.random.default_rng(0)
    assert gc.max_relative_error(f_smooth, grad_smooth, theta, n_samples=10, rng=rng) < 1e-6
    with pytest.raises(ValueError, match="shape"):
        gc.max_relative_error(f_smooth, lambda t: grad_smooth(t)[:-1], theta)
    with pytest.raises(ValueError, match="rng"):
        gc.numerical_gradient(f_smooth, theta, n_samples=3)
    with pytest.raises(ValueError, match="eps"):
        gc.numerical_gradient(f_smooth, theta, eps=0.0)
