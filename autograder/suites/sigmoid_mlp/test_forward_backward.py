"""Questions 1 and 2: forward pass, summed cross-entropy loss, and backpropagation."""

import numpy as np
import pytest

from autograder.checks import (
    Mistake,
    assert_close,
    assert_close_or_diagnose,
    assert_finite,
    check_gradient,
    describe_call,
)
from autograder.errors import CheckFailed, StudentError
from autograder.lending import graded_with_lent, stubs_as_failures
from autograder.suites.sigmoid_mlp.calls import assert_backpropagation, backpropagation_once
from autograder.suites.sigmoid_mlp.inputs import (
    backward_mistakes,
    extreme_problem,
    hidden_keys,
    problem,
)

REFERENCE = "mlhw_ref.sigmoid_mlp"


# ------------------------------------------------------------------------------------ q1
@pytest.mark.question("q1", points=4)
def test_q1_forward_matches_reference(student, ref, rng):
    """forward returns sigma(w3^T h2 + b3) for every row of X (random small networks)"""
    for _ in range(3):
        p = problem(rng)
        called = describe_call("forward", {"params": p["params"], "X": p["X"]})
        assert_close(student.forward(p["params"], p["X"]), ref.forward(p["params"], p["X"]),
                     name="f", called=called)


@pytest.mark.question("q1", points=4)
def test_q1_loss_is_the_summed_cross_entropy(student, ref, rng):
    """loss is -sum_n [y log f + (1 - y) log(1 - f)] (a sum over examples)"""
    for _ in range(3):
        p = problem(rng)
        called = describe_call("loss", {"params": p["params"], "X": p["X"], "y": p["y"]})
        got = student.loss(p["params"], p["X"], p["y"])
        expected = ref.loss(p["params"], p["X"], p["y"])
        n = p["X"].shape[0]
        mistakes = [
            (Mistake("mean", f"your loss is the MEAN over the n = {n} examples; the assignment's L "
                     "is the SUM -sum_n [y log f + (1 - y) log(1 - f)]"), expected / n),
            (Mistake("sign", "your loss has the wrong sign: L = -sum_n [...] is positive"), -expected),
        ]
        assert_close_or_diagnose(got, expected, mistakes, name="L", called=called, rtol=1e-7)


@pytest.mark.question("q1", points=2)
def test_q1_stable_for_huge_preactivations(student, ref, rng):
    """forward and loss return finite, exact values for pre-activations up to |a| = 1e4"""
    # What matters is the result, not a warning: the worker ignores NumPy's warnings, and
    # correct stable forms such as np.where(a >= 0, 1/(1 + exp(-a)), exp(a)/(1 + exp(a)))
    # warn (both branches are evaluated) yet return exact values. NaN (inf/inf) or an
    # infinite loss (log 0) is what loses the points.
    for depth in (1, 2):
        p = extreme_problem(rng, depth)
        params, X, y = p["params"], p["X"], p["y"]
        called = describe_call("forward", {"params": params, "X": X}) + (
            f", pre-activations up to |a| = {p['max_a']:g} in every layer")
        f = student.forward(params, X)
        try:
            assert_finite(f, name="f", called=called)
        except CheckFailed as exc:
            raise CheckFailed(f"{exc}\nfor large |a| compute the sigmoid without inf/inf or inf - inf, "
                              "e.g. with e = exp(-|a|): 1/(1 + e) for a >= 0 and e/(1 + e) for a < 0 "
                              "(the notebook's sigmoid does this)") from None
        assert_close(f, ref.forward(params, X), name="f", called=called, atol=1e-12)
        called = describe_call("loss", {"params": params, "X": X, "y": y}) + (
            f", output logits up to |z| = {p['max_a']:g} on the wrong side of 0")
        got = student.loss(params, X, y)
        if not np.isfinite(np.asarray(got, dtype=float)).all():
            raise CheckFailed(
                f"loss is not stable: with output logits z of size {p['max_a']:g} it returned {got!r} "
                "(log of an f that rounded to 0 or 1). Compute it from the logit z: "
                "-log f = log(1 + exp(-z)), -log(1 - f) = log(1 + exp(z)), e.g. with "
                f"np.logaddexp(0, -z)\n  called: {called}")
        assert_close(got, ref.loss(params, X, y), name="L", called=called, rtol=1e-7)


# ------------------------------------------------------------------------------------ q2
def _float_scalar(value):
    """The output bias's gradient may come back as a 1-element array; read it as a number."""
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(())[()]
    return value


def _student_grads(student, p):
    called = describe_call("backward", {"params": p["params"], "X": p["X"], "y": p["y"]})
    grads = student.backward(p["params"], p["X"], p["y"])
    if not isinstance(grads, dict):
        raise CheckFailed(f"backward must return a dict with the keys of params "
                          f"({', '.join(p['params'])}); got {type(grads).__name__}\n  called: {called}")
    missing = [k for k in p["params"] if k not in grads]
    if missing:
        raise CheckFailed(f"the dict backward returned lacks the key(s) {', '.join(missing)} "
                          f"(it has {', '.join(map(str, grads)) or 'none'})\n  called: {called}")
    return {k: _float_scalar(v) for k, v in grads.items()}, called


class _LossOf:
    """``loss`` as a function of the parameter ``key`` alone (the rest of ``p`` fixed), for
    finite differences; ``each`` evaluates it at many values in one round trip when ``loss``
    is the student's (`autograder.proxy.RemoteFunction.each`)."""

    def __init__(self, loss, p, key):
        self.loss, self.p, self.key = loss, p, key

    def _args(self, value):
        return {**self.p["params"], self.key: value}, self.p["X"], self.p["y"]

    def __call__(self, value):
        return self.loss(*self._args(value))

    def each(self, calls):
        many = getattr(self.loss, "each", None)
        args = [self._args(value) for (value,) in calls]
        return many(args) if many is not None else [self.loss(*a) for a in args]


def _fd_loss(student, ref, p):
    """The student's own loss when it agrees with the reference here, else the reference's
    (a wrong q1 must not cost q2 twice)."""
    params, X, y = p["params"], p["X"], p["y"]
    try:
        own = student.loss(params, X, y)
        if np.isclose(float(own), ref.loss(params, X, y), rtol=1e-9, atol=0):
            return lambda key: _LossOf(student.loss, p, key)
    except (StudentError, TypeError, ValueError):
        pass
    return lambda key: _LossOf(ref.loss, p, key)


def _check_key(student, ref, rng, p, key, grads, called, *, finite_differences=True):
    expected = ref.backward(p["params"], p["X"], p["y"])[key]
    got = grads[key]
    assert_close_or_diagnose(got, expected, lambda: backward_mistakes(p["params"], p["X"], p["y"], key),
                             name=f"dL/d{key}", called=called, rtol=1e-6, atol=1e-9)
    if not finite_differences:
        return
    float32 = isinstance(got, np.ndarray) and got.dtype == np.float32
    x = p["params"][key]
    check_gradient(_fd_loss(student, ref, p)(key), np.asarray(got, dtype=float), x,
                   name=f"dL/d{key}", sample=min(np.size(x), 10), rng=rng,
                   rtol=1e-4 if float32 else 1e-5, called=called)


def _graded(student, ref, check):
    """``check(s)`` on the student's backward; if it fails, again with `forward` and `loss`
    (question 1's functions, if backward calls them) lent from the reference."""
    helpers = {"forward": "q1", "loss": "q1"}
    return graded_with_lent(student, ref, helpers, stubs_as_failures(check, helpers),
                            function="your backward")


def _backprop_first(student, rng):
    """The call count on the notebook's own functions, before any lending (numerical
    differentiation is backward's own mistake: no lent function can make up for it).
    Returns a check for after the values: the count again, only when it could not be made
    here (backward raised) or when functions are lent."""
    counted = backpropagation_once(student, rng)

    def afterwards(s):
        if s is not student or not counted:
            assert_backpropagation(s, rng)

    return afterwards


def _key_test(key):
    def test(student, ref, rng):
        p = problem(rng, depth=2)
        backprop = _backprop_first(student, rng)

        def check(s):
            grads, called = _student_grads(s, p)
            _check_key(s, ref, rng, p, key, grads, called)
            backprop(s)

        _graded(student, ref, check)

    test.__doc__ = (f"dL/d{key} of the 784-H-H-1 network, by backpropagation, matches the reference "
                    "and central finite differences of your loss")
    return pytest.mark.question("q2", points=4)(test)


def _key_any_depth_test(key):
    def test(student, ref, rng):
        problems = [problem(rng, depth=depth) for depth in (1, 3)]
        backprop = _backprop_first(student, rng)

        def check(s):
            for p in problems:
                grads, called = _student_grads(s, p)
                for actual_key in hidden_keys(p["params"], key):
                    _check_key(s, ref, rng, p, actual_key, grads, called, finite_differences=False)
            backprop(s)

        _graded(student, ref, check)

    role = {"W1": "first-layer weights W1", "b1": "first-layer bias b1",
            "W2": "later hidden weights W2, W3", "b2": "later hidden biases b2, b3",
            "w3": "output weights w(d+1)", "b3": "output bias b(d+1)"}[key]
    test.__doc__ = f"the gradient of the {role}, by backpropagation, is right with 1 and 3 hidden layers"
    return pytest.mark.question("q2", points=1)(test)


test_q2_W1 = _key_test("W1")
test_q2_b1 = _key_test("b1")
test_q2_W2 = _key_test("W2")
test_q2_b2 = _key_test("b2")
test_q2_w3 = _key_test("w3")
test_q2_b3 = _key_test("b3")
test_q2_W1_any_depth = _key_any_depth_test("W1")
test_q2_b1_any_depth = _key_any_depth_test("b1")
test_q2_W2_any_depth = _key_any_depth_test("W2")
test_q2_b2_any_depth = _key_any_depth_test("b2")
test_q2_w3_any_depth = _key_any_depth_test("w3")
test_q2_b3_any_depth = _key_any_depth_test("b3")
