"""Questions 4 and 5: the parameter count, and the forward pass, mean NLL, backpropagation
with the elastic-net penalty and the input gradient of the ReLU-softmax network.

Question 5's code is worth 24 of its 30 points; the derivations the other 6
(test_derivations.py). Its functions may call the activations of question 2 and the softmax
of question 3: a check that fails with the notebook's own helpers is run again with the
wrong ones lent from the reference, and passes with a note naming their question when
question 5's own code is right. In `bprop`, l11/l12 are the L1/L2 weights on W1 and
l21/l22 on W2, as the reference has them.
"""

import numpy as np
import pytest
import sympy

from autograder.checks import (
    Mistake,
    assert_close,
    assert_close_or_diagnose,
    check_gradient,
    describe_call,
)
from autograder.errors import CheckFailed
from autograder.suites.mlp_multiclass.answers import equivalent_or_diagnose
from autograder.suites.mlp_multiclass.helpers import FOR_NETWORK, graded
from autograder.suites.mlp_multiclass.inputs import (
    bprop_mistakes,
    fprop_mistakes,
    network_problem,
    penalty_mistakes,
)

REFERENCE = "autograder.suites.mlp_multiclass.reference"

SIZES = {k: sympy.Symbol(k, positive=True, integer=True) for k in ("d", "d_h", "m")}
HELPERS_OF_BPROP = {**FOR_NETWORK, "fprop": "q5", "loss": "q5"}


# ------------------------------------------------------------------------------------ q4
@pytest.mark.question("q4", points=2)
def test_q4_n_params(student, ref, rng):
    """n_params(d, d_h, m) counts every weight and bias"""
    for _ in range(4):
        d, d_h, m = (int(v) for v in rng.integers(1, 300, size=3))
        got = student.n_params(d, d_h, m)
        expected = ref.n_params(d, d_h, m)
        assert_close_or_diagnose(
            got, expected,
            [(Mistake("no biases", "your count leaves out the biases b1 (d_h) and b2 (m)"),
              d_h * d + m * d_h)],
            name="n_params", called=f"n_params(d={d}, d_h={d_h}, m={m})", rtol=0, atol=0)


@pytest.mark.question("q4", points=3)
def test_q4_n_params_expr(student):
    """n_params_expr: d_h (d + 1) + m (d_h + 1) in the symbols d, d_h, m"""
    equivalent_or_diagnose(
        student["n_params_expr"], "d_h*(d + 1) + m*(d_h + 1)", SIZES,
        [("d_h*d + m*d_h", "the biases are missing: b1 has d_h entries and b2 has m"),
         ("d*d_h + d_h*m + d + m", "W1 is d_h x d, b1 has d_h entries (one per hidden unit), "
          "W2 is m x d_h and b2 has m entries")],
        name="n_params_expr")


# ------------------------------------------------------------------------------------ q5
def _called(name, p, **extra):
    args = {"params": p["params"], "X": p["X"]}
    if name != "fprop":
        args["y"] = p["y"]
    return describe_call(name, {**args, **extra})


@pytest.mark.question("q5", points=3)
def test_q5_fprop(student, ref, rng):
    """fprop: class probabilities o^s (n, m), each row a softmax over the classes"""
    problems = [network_problem(rng) for _ in range(3)]

    def check(s):
        for p in problems:
            assert_close_or_diagnose(
                s.fprop(p["params"], p["X"]), ref.fprop(p["params"], p["X"]),
                lambda: fprop_mistakes(p["params"], p["X"]), name="o^s", called=_called("fprop", p),
                rtol=1e-7, atol=1e-12)

    graded(student, ref, FOR_NETWORK, check, "fprop")


@pytest.mark.question("q5", points=3)
def test_q5_loss(student, ref, rng):
    """loss: the MEAN negative log-likelihood of the labels (no penalty)"""
    problems = [network_problem(rng) for _ in range(3)]

    def check(s):
        for p in problems:
            expected = ref.loss(p["params"], p["X"], p["y"])
            n = p["X"].shape[0]
            assert_close_or_diagnose(
                s.loss(p["params"], p["X"], p["y"]), expected,
                [(Mistake("sum", f"your loss is the SUM over the n = {n} examples; L is the mean "
                          "-(1/n) sum_i log o^s_{y_i}"), expected * n),
                 (Mistake("sign", "your loss has the wrong sign: -log of a probability is positive"),
                  -expected)],
                name="L", called=_called("loss", p), rtol=1e-7)

    graded(student, ref, {**FOR_NETWORK, "fprop": "q5"}, check, "loss")


def _grads(s, p, lambdas=()):
    called = _called("bprop", p, **dict(zip(("l11", "l12", "l21", "l22"), lambdas)))
    grads = s.bprop(p["params"], p["X"], p["y"], *lambdas)
    if not isinstance(grads, dict):
        raise CheckFailed(f"bprop must return a dict with keys W1, b1, W2, b2; got "
                          f"{type(grads).__name__}\n  called: {called}")
    missing = [k for k in ("W1", "b1", "W2", "b2") if k not in grads]
    if missing:
        raise CheckFailed(f"the dict bprop returned lacks the key(s) {', '.join(missing)}\n  called: {called}")
    return grads, called


def _key_test(key, points):
    def test(student, ref, rng):
        problems = [network_problem(rng) for _ in range(2)]

        def check(s):
            first = None
            for p in problems:
                grads, called = _grads(s, p)
                first = first or (p, grads[key], called)
                assert_close_or_diagnose(grads[key], ref.bprop(p["params"], p["X"], p["y"])[key],
                                         lambda: bprop_mistakes(p, key), name=f"dL/d{key}", called=called,
                                         rtol=1e-6, atol=1e-10)
            p, got, called = first

            def f(value):
                return ref.loss({**p["params"], key: value}, p["X"], p["y"])

            check_gradient(f, np.asarray(got, dtype=float), p["params"][key],
                           name=f"dL/d{key}", called=called)

        graded(student, ref, HELPERS_OF_BPROP, check, "bprop")

    test.__doc__ = (f"bprop(...)['{key}'] (no penalty) matches the reference and central finite "
                    "differences of the mean NLL")
    return pytest.mark.question("q5", points=points)(test)


test_q5_bprop_W1 = _key_test("W1", 3)
test_q5_bprop_b1 = _key_test("b1", 3)
test_q5_bprop_W2 = _key_test("W2", 3)
test_q5_bprop_b2 = _key_test("b2", 2)


@pytest.mark.question("q5", points=3)
def test_q5_bprop_elastic_net(student, ref, rng):
    """bprop with the elastic-net penalty adds l11 sign(W1) + 2 l12 W1 and l21 sign(W2) + 2 l22 W2, nothing to the biases"""
    # Graded on what the penalty changes, bprop(..., l11, l12, l21, l22) - bprop(...): a
    # mistake in the unpenalised gradient is charged by the tests above, not again here.
    p = network_problem(rng)
    lambdas = tuple(float(v) for v in rng.uniform(0.05, 0.5, size=4))
    W1 = p["params"]["W1"]
    p["params"]["W1"] = np.where(np.abs(W1) < 0.05, 0.05 * np.sign(W1 + 1e-12), W1)  # |w| kink

    def check(s):
        plain, _ = _grads(s, p)
        grads, called = _grads(s, p, lambdas)
        expected = ref.bprop(p["params"], p["X"], p["y"], *lambdas)
        expected_plain = ref.bprop(p["params"], p["X"], p["y"])
        for key in ("W1", "W2", "b1", "b2"):
            try:
                added = np.asarray(grads[key], dtype=float) - np.asarray(plain[key], dtype=float)
            except (TypeError, ValueError):
                added = grads[key]
            mistakes = (lambda: penalty_mistakes(p["params"], key, lambdas)) if key[0] == "W" else []
            assert_close_or_diagnose(
                added, expected[key] - expected_plain[key], mistakes,
                name=f"what the penalty adds to dL/d{key}"
                + ("" if key[0] == "W" else " (biases are not penalised)"),
                called=called, rtol=1e-6, atol=1e-10)

    graded(student, ref, HELPERS_OF_BPROP, check, "bprop")


@pytest.mark.question("q5", points=4)
def test_q5_grad_input(student, ref, rng):
    """grad_input: the gradient of one example's NLL with respect to its input x (d,)"""
    p = network_problem(rng, n=3)

    def check(s):
        for i in range(3):
            x, label = p["X"][i], int(p["y"][i])
            called = describe_call("grad_input", {"params": p["params"], "x": x, "y": label})
            got = s.grad_input(p["params"], x, label)
            assert_close(got, ref.grad_input(p["params"], x, label), name="dL/dx", called=called,
                         rtol=1e-6, atol=1e-10)
            check_gradient(lambda v, i=i: ref.loss(p["params"], v[None, :], p["y"][i:i + 1]),
                           np.asarray(got, dtype=float), x, name="dL/dx", called=called)

    graded(student, ref, HELPERS_OF_BPROP, check, "grad_input")
