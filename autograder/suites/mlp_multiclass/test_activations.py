"""Questions 2 and 3: the activation functions, their derivatives, two penalty gradients and
the softmax, compared with the reference on random arrays of random shapes with entries up
to |x| = 1e4 (the results must be finite and exact; warnings do not matter, the worker
ignores them). Entries are never exactly 0, where sign, |x|' and ReLU' have conventions."""

import numpy as np
import pytest

from autograder.checks import Mistake, assert_close, assert_close_or_diagnose, describe_call
from autograder.errors import CheckFailed
from autograder.suites.mlp_multiclass.inputs import activation_input, softmax_mistakes

REFERENCE = "autograder.suites.mlp_multiclass.reference"

STABILITY = {
    "sigmoid": "exp(x)/(1 + exp(x)) is inf/inf = nan for large x: only exponentiate -|x| "
               "(1/(1 + e) for x >= 0 and e/(1 + e) for x < 0, with e = exp(-|x|))",
    "softplus": "log(1 + exp(x)) overflows to inf for large x: use max(x, 0) + log1p(exp(-|x|))",
    "dsigmoid": "compute it without inf/inf, e.g. e/(1 + e)^2 with e = exp(-|x|)",
    "dtanh": "1 - tanh(x)**2 is exact enough; avoid cosh(x) of large x (it overflows)",
}


def _matches(student, ref, name, x, mistakes=()):
    called = describe_call(name, {"x": x})
    got = student[name](x.copy())
    expected = getattr(ref, name)(x)
    if not np.all(np.isfinite(np.asarray(got, dtype=float))) and name in STABILITY:
        bad = np.asarray(got, dtype=float)
        where = x[~np.isfinite(bad)] if bad.shape == x.shape else x
        raise CheckFailed(f"{name} returned inf or nan at x = {where.ravel()[0]:g}: "
                          f"{STABILITY[name]}\n  called: {called}")
    assert_close_or_diagnose(got, expected, list(mistakes), name=f"{name}(x)", called=called,
                             rtol=1e-7, atol=1e-12)


@pytest.mark.question("q2", points=2)
def test_q2_sigmoid(student, ref, rng):
    """sigmoid on random arrays, exact and finite up to |x| = 1e4"""
    for _ in range(2):
        _matches(student, ref, "sigmoid", activation_input(rng))


@pytest.mark.question("q2", points=2)
def test_q2_dsigmoid_tanh_dtanh(student, ref, rng):
    """dsigmoid, tanh and dtanh (derivatives at the pre-activation) on random arrays"""
    x = activation_input(rng)
    _matches(student, ref, "dsigmoid", x, [
        (Mistake("of s", "your dsigmoid is s(1 - s) with s = x: it takes the pre-activation x, so "
                 "compute s = sigmoid(x) first"), x * (1 - x))])
    _matches(student, ref, "tanh", x)
    _matches(student, ref, "dtanh", x, [
        (Mistake("of t", "your dtanh is 1 - x^2: it takes the pre-activation x, so it is "
                 "1 - tanh(x)^2"), 1 - x**2)])


@pytest.mark.question("q2", points=1)
def test_q2_relu_drelu(student, ref, rng):
    """relu and drelu on random arrays"""
    x = activation_input(rng)
    _matches(student, ref, "relu", x)
    _matches(student, ref, "drelu", x)


@pytest.mark.question("q2", points=2)
def test_q2_softplus(student, ref, rng):
    """softplus on random arrays, exact and finite up to |x| = 1e4"""
    for _ in range(2):
        _matches(student, ref, "softplus", activation_input(rng))


@pytest.mark.question("q2", points=1)
def test_q2_sign_dabs(student, ref, rng):
    """sign and dabs (the derivative of |x|) on random arrays without zeros"""
    x = activation_input(rng)
    _matches(student, ref, "sign", x)
    _matches(student, ref, "dabs", x, [
        (Mistake("abs", "your dabs returns |x|; the derivative of |x| is sign(x)"), np.abs(x))])


@pytest.mark.question("q2", points=2)
def test_q2_penalty_gradients(student, ref, rng):
    """grad_sq_norm (2x) and grad_l1 (sign(x)) on random arrays without zeros"""
    x = activation_input(rng)
    _matches(student, ref, "grad_sq_norm", x, [
        (Mistake("no 2", "your gradient of sum(x^2) is x; it is 2x"), x),
        (Mistake("square", "your gradient of sum(x^2) is x^2; it is 2x"), x**2)])
    _matches(student, ref, "grad_l1", x, [
        (Mistake("abs", "your L1 gradient is |x|: the gradient of sum(|x|) is sign(x), the "
                 "derivative of each |x_i|"), np.abs(x))])


# ------------------------------------------------------------------------------------ q3
def _softmax_matches(student, ref, A, diagnose=True):
    called = describe_call("softmax", {"A": A})
    got = student.softmax(A.copy())
    arr = np.asarray(got, dtype=float) if not isinstance(got, dict) else None
    if arr is not None and arr.shape == A.shape and not np.all(np.isfinite(arr)):
        raise CheckFailed(f"softmax returned inf or nan for logits up to {np.abs(A).max():g}: "
                          "exp of a large logit overflows. Subtract each row's maximum first "
                          f"(it does not change the softmax)\n  called: {called}")
    assert_close_or_diagnose(got, ref.softmax(A), softmax_mistakes(A) if diagnose else [],
                             name="softmax(A)", called=called, rtol=1e-7, atol=1e-12)


def _logits(rng, scale=3.0):
    n = int(rng.integers(2, 7))
    m = int(rng.choice([k for k in range(2, 8) if k != n]))
    return rng.normal(0.0, scale, size=(n, m))


@pytest.mark.question("q3", points=4)
def test_q3_softmax_matches_reference(student, ref, rng):
    """softmax of random (n, m) logits, over the last axis (the classes)"""
    for _ in range(3):
        _softmax_matches(student, ref, _logits(rng))


@pytest.mark.question("q3", points=2)
def test_q3_rows_sum_to_one_and_shift_invariant(student, ref, rng):
    """rows are positive and sum to 1; adding a constant to each row changes nothing"""
    A = _logits(rng)
    S = np.asarray(student.softmax(A.copy()), dtype=float)
    if S.shape != A.shape:
        raise CheckFailed(f"softmax returned shape {S.shape} for A of shape {A.shape}")
    if not (np.all(S > 0) and np.allclose(S.sum(axis=-1), 1.0, rtol=0, atol=1e-12)):
        raise CheckFailed(f"the rows of softmax(A) must be positive and sum to 1; their sums are "
                          f"{np.round(S.sum(axis=-1), 6).tolist()}\n  called: {describe_call('softmax', {'A': A})}")
    shift = rng.uniform(-50.0, 50.0, size=(A.shape[0], 1))
    assert_close(student.softmax(A + shift), S, name="softmax(A + c) (c a constant per row)",
                 called="softmax(A + c) against softmax(A)", rtol=1e-9, atol=1e-12)


@pytest.mark.question("q3", points=2)
def test_q3_huge_logits(student, ref, rng):
    """softmax is finite and exact for logits up to 1e4"""
    A = _logits(rng, scale=1.0)
    A[0] *= 1e4 / np.abs(A[0]).max()
    A[-1] += 5000.0
    _softmax_matches(student, ref, A, diagnose=False)


@pytest.mark.question("q3", points=2)
def test_q3_one_row(student, ref, rng):
    """a 1-D A (one example's logits) is a single row"""
    a = rng.normal(0.0, 3.0, size=int(rng.integers(3, 8)))
    _softmax_matches(student, ref, a, diagnose=False)
