"""Question 6: grad_check(f, grad_f, theta, eps) -> the max relative error of grad_f against
central differences of f.

The grader hands it its own functions (they run as callbacks). Correct gradients must give
less than 1e-6 — at the scale 1e4 too, so an absolute error does not pass — and planted wrong
ones at least 1e-3 — at the scale 1e-6 too. Every gradient entry of the test functions is of
the order of the largest, so any reasonable relative error (over the whole array, or entry
by entry) works. A call records where f was evaluated: central differences evaluate it at
theta +- eps e_i for every coordinate i, with the eps passed.
"""

import numpy as np
import pytest

from autograder.checks import describe_call
from autograder.errors import CheckFailed

REFERENCE = "autograder.suites.mlp_multiclass.reference"

RIGHT_BELOW = 1e-6
WRONG_ABOVE = 1e-3


def _cubic(rng, shape, scale=1.0):
    """f(theta) = scale * (sum c (theta^3/3 + theta) + (sum theta)^2 / 10) and its gradient;
    every entry of the gradient is at least about scale/2 in magnitude."""
    c = rng.uniform(0.5, 2.0, size=shape)
    theta = rng.uniform(-1.0, 1.0, size=shape)

    def f(v):
        v = np.asarray(v, dtype=float)
        return float(scale * (np.sum(c * (v**3 / 3 + v)) + np.sum(v) ** 2 / 10))

    def grad(v):
        v = np.asarray(v, dtype=float)
        return scale * (c * (v**2 + 1) + np.sum(v) / 5)

    return f, grad, theta


def _result(student, f, grad_f, theta, what, **kwargs):
    value = student.grad_check(f, grad_f, theta.copy(), **kwargs)
    called = describe_call("grad_check", {"f": f, "grad_f": grad_f, "theta": theta, **kwargs})
    try:
        number = float(np.asarray(value, dtype=float).reshape(()))
    except (TypeError, ValueError):
        raise CheckFailed(f"grad_check must return one number (the max relative error); it "
                          f"returned {type(value).__name__}\n  called: {called} with {what}") from None
    if np.isnan(number):
        raise CheckFailed(f"grad_check returned nan\n  called: {called} with {what}")
    return number, called


@pytest.mark.question("q6", points=5)
def test_q6_right_gradients_pass(student, rng):
    """correct gradients (vectors and a matrix, f at scales 1 and 1e4) give less than 1e-6"""
    for shape, scale in [((int(rng.integers(4, 9)),), 1.0), ((int(rng.integers(4, 9)),), 1e4),
                         ((3, 4), 1.0)]:
        f, grad, theta = _cubic(rng, shape, scale)
        what = f"the right gradient, theta of shape {shape}, f of scale {scale:g}"
        number, called = _result(student, f, grad, theta, what)
        if not number < RIGHT_BELOW:
            hint = (" (an absolute error grows with the scale of f: divide by the size of the "
                    "gradients)" if scale > 1 else " (a one-sided difference has an O(eps) error; "
                    "use the central difference (f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps))")
            raise CheckFailed(f"grad_check returned {number:.3g} for {what}; a right gradient must "
                              f"give less than {RIGHT_BELOW:g}{hint}\n  called: {called}")


@pytest.mark.question("q6", points=5)
def test_q6_wrong_gradients_are_flagged(student, rng):
    """planted wrong gradients (one entry's sign, twice the gradient, 10% off at scale 1e-6) give at least 1e-3"""
    n = int(rng.integers(4, 9))
    f, grad, theta = _cubic(rng, (n,))
    worst = int(np.argmax(np.abs(grad(theta))))

    def sign_flipped(v):
        g = grad(v)
        g[worst] = -g[worst]
        return g

    tiny_f, tiny_grad, tiny_theta = _cubic(rng, (n,), 1e-6)
    planted = [
        (f, sign_flipped, theta, "a gradient with its largest entry's sign flipped"),
        (f, lambda v: 2 * grad(v), theta, "twice the right gradient"),
        (tiny_f, lambda v: 1.1 * tiny_grad(v), tiny_theta,
         "10% too large a gradient of an f of scale 1e-6"),
    ]
    for fn, grad_fn, th, what in planted:
        number, called = _result(student, fn, grad_fn, th, what)
        if not number >= WRONG_ABOVE:
            hint = (" (an absolute error is tiny when f is tiny: divide by the size of the "
                    "gradients)" if "1e-6" in what else "")
            raise CheckFailed(f"grad_check returned {number:.3g} for {what}; a wrong gradient must "
                              f"stand out (at least {WRONG_ABOVE:g}){hint}\n  called: {called}")


@pytest.mark.question("q6", points=3)
def test_q6_central_differences_with_the_given_eps(student, rng):
    """f is evaluated at theta + eps e_i and theta - eps e_i for every i, with the eps passed (1e-4)"""
    f, grad, theta = _cubic(rng, (int(rng.integers(3, 6)),))
    points = []

    def recording_f(v):
        points.append(np.array(v, dtype=float).reshape(theta.shape))
        return f(v)

    eps = 1e-4
    _result(student, recording_f, grad, theta, "eps=1e-4", eps=eps)
    for i in range(theta.size):
        for sign in (1.0, -1.0):
            want = theta.copy()
            want.flat[i] += sign * eps
            if not any(np.allclose(p, want, rtol=0, atol=1e-12) for p in points):
                raise CheckFailed(
                    f"grad_check never evaluated f at theta {'+' if sign > 0 else '-'} eps e_{i} "
                    f"(eps = {eps:g} was passed): question 6 asks for central differences "
                    "(f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps) with the eps given, "
                    f"for every coordinate ({len(points)} evaluations of f were made)")


@pytest.mark.question("q6", points=2)
def test_q6_matrix_theta_transposed_gradient(student, rng):
    """theta a (4, 4) matrix: the right gradient passes, its transpose is flagged"""
    f, grad, theta = _cubic(rng, (4, 4))
    number, called = _result(student, f, grad, theta, "the right gradient of a (4, 4) theta")
    if not number < RIGHT_BELOW:
        raise CheckFailed(f"grad_check returned {number:.3g} for the right gradient of a matrix "
                          f"theta; expected less than {RIGHT_BELOW:g}\n  called: {called}")
    number, called = _result(student, f, lambda v: grad(v).T, theta, "the transposed gradient")
    if not number >= WRONG_ABOVE:
        raise CheckFailed(f"grad_check returned {number:.3g} for the transposed gradient of a "
                          f"(4, 4) theta; it must stand out (at least {WRONG_ABOVE:g})\n  called: {called}")
