"""Question 6: backward signals of the two-layer matrix network, for any activation.

The code is worth 16 of the question's 20 points; the derivation of G2 the other 4
(test_derivations.py)."""

import numpy as np
import pytest

from autograder.checks import (
    Mistake,
    assert_close,
    assert_close_or_diagnose,
    check_gradient,
    describe_call,
)
from autograder.errors import CheckFailed

REFERENCE = "mlhw_ref.chain"


def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


ACTIVATIONS = {
    "tanh": (np.tanh, lambda u: 1.0 / np.cosh(u) ** 2),
    "sigmoid": (_sigmoid, lambda u: _sigmoid(u) * (1.0 - _sigmoid(u))),
    "softplus": (lambda u: np.logaddexp(0.0, u), _sigmoid),
}


def _problem(rng):
    m, d, h, c = (int(n) for n in rng.integers(2, 7, size=4))
    while h == c or m == c:  # distinct sizes make transposes and wrong products detectable
        c = int(rng.integers(2, 9))
    return {
        "X": rng.normal(size=(m, d)),
        "W1": rng.normal(size=(d, h)) / np.sqrt(d),
        "b": rng.normal(size=h),
        "W2": rng.normal(size=(h, c)),
        "Y": rng.normal(size=(c, m)),
    }


def _student_grads(student, p, name):
    phi, dphi = ACTIVATIONS[name]
    out = student.two_layer_grads(p["X"], p["W1"], p["b"], p["W2"], p["Y"], phi, dphi)
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        raise CheckFailed("two_layer_grads must return a tuple (G2, G1, dW1, db)")
    return out


def _called(p, name):
    return describe_call("two_layer_grads", {**p, "phi": name, "dphi": f"{name}'"})


@pytest.mark.question("q6", points=4)
def test_q6_G2(student, ref, rng):
    """two_layer_grads: G2, the derivative of J in U2 (tanh network)"""
    act = "tanh"
    p = _problem(rng)
    G2 = _student_grads(student, p, act)[0]
    expected = -p["Y"].T / p["X"].shape[0]
    mistakes = [
        (Mistake("no 1/m", "your G2 is missing the factor 1/m", None), -p["Y"].T),
        (
            Mistake("not transposed", "G2 must be (m, c): -(1/m) Y^T, transposed", None),
            -p["Y"] / p["X"].shape[0],
        ),
        (Mistake("sign", "G2 has the wrong sign: J = -(1/m) tr(U2 Y)", None), -expected),
    ]
    assert_close_or_diagnose(G2, expected, mistakes, name="G2", called=_called(p, act))


@pytest.mark.question("q6", points=4)
def test_q6_G1_for_any_activation(student, ref, rng):
    """G1 = phi'(U1) * (G2 W2^T) for tanh, sigmoid and softplus"""
    for act in ACTIVATIONS:
        p = _problem(rng)
        phi, dphi = ACTIVATIONS[act]
        G1 = _student_grads(student, p, act)[1]
        G1_ref = ref.two_layer_grads(p["X"], p["W1"], p["b"], p["W2"], p["Y"], phi, dphi)[1]
        U1 = p["X"] @ p["W1"] + p["b"]
        G2 = -p["Y"].T / p["X"].shape[0]
        mistakes = [
            (
                Mistake(
                    "phi instead of phi'",
                    "you multiplied by phi(U1); G1 needs the derivative phi'(U1)",
                    None,
                ),
                phi(U1) * (G2 @ p["W2"].T),
            ),
            (Mistake("missing phi'", "G1 is missing the factor phi'(U1)", None), G2 @ p["W2"].T),
        ]
        assert_close_or_diagnose(G1, G1_ref, mistakes, name=f"G1 ({act})", called=_called(p, act))


@pytest.mark.question("q6", points=4)
def test_q6_dW1_finite_differences(student, ref, rng):
    """dW1 agrees with central finite differences of J for every activation"""
    for act in ACTIVATIONS:
        p = _problem(rng)
        phi, _ = ACTIVATIONS[act]
        dW1 = np.asarray(_student_grads(student, p, act)[2], dtype=float)
        if dW1.shape != p["W1"].shape:
            assert_close(dW1, p["W1"], name=f"dW1 ({act})", called=_called(p, act))
        cost = lambda W1: ref.two_layer_cost(p["X"], W1, p["b"], p["W2"], p["Y"], phi)
        check_gradient(cost, dW1, p["W1"], name=f"dW1 ({act})")


@pytest.mark.question("q6", points=4)
def test_q6_db_finite_differences(student, ref, rng):
    """db agrees with central finite differences of J for every activation"""
    for act in ACTIVATIONS:
        p = _problem(rng)
        phi, _ = ACTIVATIONS[act]
        db = np.asarray(_student_grads(student, p, act)[3], dtype=float)
        cost = lambda b: ref.two_layer_cost(p["X"], p["W1"], b, p["W2"], p["Y"], phi)
        check_gradient(cost, db, p["b"], name=f"db ({act})")
