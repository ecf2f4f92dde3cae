"""Finite-difference gradient checks: pass correct gradients, name the classic mistakes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks import check_gradient, numerical_gradient, relative_error
from autograder.errors import CheckFailed


def _problem(seed: int, n: int = 20, d: int = 4) -> tuple:
    """A summed logistic loss (large |f|, like the assignments' sum losses) and its gradient."""
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.integers(0, 2, n)

    def loss(w: np.ndarray) -> float:
        z = X @ w
        return float(np.sum(np.logaddexp(0, z) - y * z))

    def grad(w: np.ndarray) -> np.ndarray:
        return X.T @ (1 / (1 + np.exp(-(X @ w))) - y)

    return loss, grad, rng.normal(size=d)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_correct_gradients_pass(seed: int) -> None:
    loss, grad, w = _problem(seed)
    check_gradient(loss, grad, w)
    check_gradient(loss, grad(w), w)  # an array works as well as a callable


def test_numerical_gradient_of_a_quadratic_is_exact_enough() -> None:
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    x = np.array([0.3, -0.7])
    g = numerical_gradient(lambda v: 0.5 * v @ A @ v, x)
    assert relative_error(g, A @ x) < 1e-8
    assert numerical_gradient(lambda v: 0.5 * v @ A @ v, x, coords=[1]).shape == (1,)
    assert numerical_gradient(lambda t: t**3, 2.0) == pytest.approx(12.0, rel=1e-8)


def test_numerical_gradient_never_changes_its_input() -> None:
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(v**2)), x)
    assert np.array_equal(x, before)


class _Batched:
    """A loss offering ``each`` (as a student's function does): every point in one call."""

    def __init__(self, loss) -> None:
        self.loss, self.batches = loss, []

    def __call__(self, w):
        raise AssertionError("called one point at a time")

    def each(self, calls):
        self.batches.append(len(calls))
        return [self.loss(*args) for args in calls]


def test_a_loss_that_takes_many_points_at_once_is_called_once() -> None:
    loss, grad, w = _problem(3, d=5)
    batched = _Batched(loss)
    check_gradient(batched, grad, w, sample=3, rng=np.random.default_rng(0))
    assert batched.batches == [1 + 2 * 3]  # f(x0) for the tolerance, then +-eps per coordinate
    assert np.array_equal(numerical_gradient(_Batched(loss), w), numerical_gradient(loss, w))
    with pytest.raises(CheckFailed, match="does not match central finite differences"):
        check_gradient(_Batched(loss), -grad(w), w)


def test_mean_instead_of_sum_is_named_as_a_constant_factor() -> None:
    loss, grad, w = _problem(3)
    with pytest.raises(CheckFailed) as info:
        check_gradient(loss, grad(w) / 20, w, called="backward(X (20, 4), y (20,))")
    message = str(info.value)
    assert "does not match central finite differences" in message
    assert "off by a constant factor of 0.05" in message
    assert "called: backward(X (20, 4), y (20,))" in message


def test_wrong_sign_and_transpose_are_named() -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 3))

    def loss(W: np.ndarray) -> float:
        return float(np.sum(A * W) + 0.5 * np.sum(W**2))

    W = rng.normal(size=(3, 3))
    with pytest.raises(CheckFailed, match="wrong sign"):
        check_gradient(loss, -(A + W), W)
    with pytest.raises(CheckFailed, match="transposed"):
        check_gradient(loss, (A + W).T, W)


def test_sampled_coordinates_still_catch_a_wrong_gradient() -> None:
    loss, grad, w = _problem(5, d=40)
    with pytest.raises(CheckFailed, match=r"of 10 checked coordinates"):
        check_gradient(loss, grad(w) * 2, w, sample=10, rng=np.random.default_rng(1))


def test_bad_shapes_and_values_are_explained() -> None:
    loss, grad, w = _problem(0)
    with pytest.raises(CheckFailed, match=r"expected shape \(4,\).*got \(4, 1\)"):
        check_gradient(loss, grad(w)[:, None], w)
    with pytest.raises(CheckFailed, match="NaN or inf"):
        check_gradient(loss, np.full(4, np.nan), w)
    with pytest.raises(CheckFailed, match="the loss returned an array of shape \\(2,\\)"):
        check_gradient(lambda v: np.ones(2), grad(w), w)
    with pytest.raises(CheckFailed, match="the loss returned nan"):
        numerical_gradient(lambda v: float("nan"), w)


def test_relative_error_is_zero_for_equal_inputs_and_symmetric() -> None:
    a, b = np.array([1.0, 0.0, -2.0]), np.array([1.1, 0.0, -2.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, b) == relative_error(b, a) == pytest.approx(0.1 / 2.1)
    with pytest.raises(ValueError, match="equal shapes"):
        relative_error(a, b[:2])
