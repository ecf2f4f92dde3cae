"""mlhw_ref.activations: stability at |x| <= 1e4, derivatives vs finite differences, softmax."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from mlhw_ref import activations as act

ELEMENTWISE = [
    act.sigmoid,
    act.dsigmoid,
    act.tanh,
    act.dtanh,
    act.relu,
    act.drelu,
    act.softplus,
    act.log_sigmoid,
    act.sign,
    act.dabs,
    act.grad_sq_norm,
    act.grad_l1,
]

# (function, its derivative) pairs checked by central differences.
DERIVATIVES = [
    (act.sigmoid, act.dsigmoid),
    (act.tanh, act.dtanh),
    (act.relu, act.drelu),
    (act.softplus, act.sigmoid),
    (act.log_sigmoid, lambda x: act.sigmoid(-np.asarray(x))),
    (np.abs, act.dabs),
]

big_arrays = arrays(
    np.float64,
    array_shapes(min_dims=1, max_dims=3, max_side=6),
    elements=st.floats(-1e4, 1e4, allow_nan=False),
)


def _strict(fn, x):
    """Call fn with every floating-point problem and every warning turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return fn(x)


@pytest.mark.parametrize(
    "fn", ELEMENTWISE + [act.softmax, act.log_softmax], ids=lambda f: f.__name__
)
@settings(max_examples=60, deadline=None)
@given(x=big_arrays)
def test_no_warning_nan_or_inf_up_to_1e4(fn, x):
    x_before = x.copy()
    out = _strict(fn, x)
    assert out.shape == x.shape
    assert np.all(np.isfinite(out)), f"{fn.__name__} gave non-finite values for {x}"
    np.testing.assert_array_equal(x, x_before, err_msg=f"{fn.__name__} changed its input")


@pytest.mark.parametrize("fn, dfn", DERIVATIVES, ids=lambda f: getattr(f, "__name__", "d"))
@settings(max_examples=60, deadline=None)
@given(x=arrays(np.float64, st.integers(1, 20), elements=st.floats(-4, 4)))
def test_derivative_matches_central_differences(fn, dfn, x):
    # Entrywise relative error; |x| <= 4 keeps every derivative above 1e-3, so the rounding
    # error of the difference quotient (~1e-16 / eps) stays far below 1e-6 of it. The tails
    # are checked against closed forms in the next tests.
    eps = 1e-6
    # relu and |x| have a kink at 0: keep clear of it by more than the step.
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    numeric = (fn(x + eps) - fn(x - eps)) / (2 * eps)
    analytic = dfn(x)
    scale = np.maximum(np.abs(analytic), np.abs(numeric))
    rel = np.divide(np.abs(analytic - numeric), scale, out=np.zeros_like(x), where=scale > 0)
    assert rel.max() < 1e-6, (
        f"worst at x={x[rel.argmax()]}: {analytic[rel.argmax()]} vs {numeric[rel.argmax()]}"
    )


@settings(deadline=None)
@given(x=arrays(np.float64, st.integers(1, 20), elements=st.floats(-5, 5)))
@example(x=np.array([1e-3] + [3.0] * 15))  # a small entry beside a large sum: found by a run
def test_penalty_gradients_match_central_differences(x):
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    eps = 1e-6
    for f, grad in [
        (lambda v: np.sum(v**2), act.grad_sq_norm),
        (lambda v: np.sum(np.abs(v)), act.grad_l1),
    ]:
        numeric = np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(len(x))])
        # The quotient carries the rounding of f's sum (a few ulps of f(x)) divided by the
        # step: up to 1e-7 for a sum near 100, so a small entry's gradient needs that atol.
        atol = 8 * np.finfo(float).eps * max(1.0, f(x)) / eps
        np.testing.assert_allclose(grad(x), numeric, rtol=1e-6, atol=atol)


@settings(deadline=None)
@given(x=st.floats(40, 700))
def test_derivatives_keep_relative_accuracy_in_the_tails(x):
    # sigma'(x) = e^-|x| / (1 + e^-|x|)^2 and tanh'(x) = 4 e^-2|x| / (1 + e^-2|x|)^2; at these
    # |x| the computed s (1 - s) or 1 - tanh^2 would cancel to 0.
    for v in (x, -x):
        np.testing.assert_allclose(act.dsigmoid(v), np.exp(-x), rtol=1e-12)
    if x < 350:
        np.testing.assert_allclose(act.dtanh(x), 4 * np.exp(-2 * x), rtol=1e-12)


@settings(deadline=None)
@given(x=st.floats(-700, 700))
def test_log_sigmoid_and_softplus_are_exact_logs(x):
    # log(sigmoid(x)) = -log1p(exp(-x)) computed independently with numpy's logaddexp.
    np.testing.assert_allclose(act.log_sigmoid(x), -np.logaddexp(0.0, -x), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(act.softplus(x), np.logaddexp(0.0, x), rtol=1e-13, atol=1e-300)


def test_sigmoid_agrees_with_scipy_and_is_symmetric():
    from scipy.special import expit

    x = np.linspace(-50, 50, 1001)
    np.testing.assert_allclose(act.sigmoid(x), expit(x), rtol=1e-14)
    np.testing.assert_allclose(act.sigmoid(x) + act.sigmoid(-x), 1.0, rtol=1e-15)


def test_float32_stays_float32_and_ints_become_float64():
    assert act.sigmoid(np.ones(3, np.float32)).dtype == np.float32
    assert act.softmax(np.ones((2, 3), np.float32)).dtype == np.float32
    assert act.relu(np.array([-1, 2])).dtype == np.float64


logit_rows = arrays(
    np.float64,
    array_shapes(min_dims=1, max_dims=3, max_side=6),
    elements=st.floats(-1e4, 1e4, allow_nan=False),
)


@settings(max_examples=100, deadline=None)
@given(A=logit_rows, c=st.floats(-1e4, 1e4))
def test_softmax_rows_are_distributions_invariant_to_a_row_constant(A, c):
    S = _strict(act.softmax, A)
    assert S.shape == A.shape and np.all(S >= 0)
    np.testing.assert_allclose(S.sum(axis=-1), 1.0, rtol=1e-12)
    # Positive wherever the true value exp(a - max) is a normal float64 number.
    assert np.all(S[A - A.max(axis=-1, keepdims=True) > -700] > 0)
    rng = np.random.default_rng(abs(hash(c)) % 2**32)
    shift = c * rng.random(A.shape[:-1] + (1,))  # a different constant per row
    np.testing.assert_allclose(_strict(act.softmax, A + shift), S, rtol=1e-7, atol=1e-300)


@settings(deadline=None)
@given(A=arrays(np.float64, (3, 4), elements=st.floats(-30, 30)))
def test_softmax_matches_the_definition_and_works_over_the_last_axis(A):
    E = np.exp(A)
    np.testing.assert_allclose(act.softmax(A), E / E.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(act.softmax(A.T), (E / E.sum(axis=0)).T, rtol=1e-12)
    np.testing.assert_allclose(np.exp(act.log_softmax(A)), act.softmax(A), rtol=1e-12)


def test_softmax_rejects_an_empty_last_axis():
    with pytest.raises(ValueError, match="last axis"):
        act.softmax(np.zeros((2, 0)))


def test_sign_family_on_both_sides_of_zero():
    x = np.array([-3.0, -1e-300, 1e-300, 2.5])
    expected = np.array([-1.0, -1.0, 1.0, 1.0])
    for fn in (act.sign, act.dabs, act.grad_l1):
        np.testing.assert_array_equal(fn(x), expected)
    np.testing.assert_array_equal(act.drelu(x), (expected + 1) / 2)
    np.testing.assert_array_equal(act.grad_sq_norm(x), 2 * x)
