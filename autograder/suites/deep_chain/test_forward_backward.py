"""Questions 1-3: forward pass, backward recursion and weight gradients of the chain.

Question 2's code is worth 16 of its 20 points; the derivation of g_l the other 4
(test_derivations.py)."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_close_or_diagnose, check_gradient, describe_call
from autograder.suites.deep_chain.inputs import backward_mistakes, chain_problem
from mlhw_ref import chain as chain_ref

REFERENCE = "mlhw_ref.chain"


def _forward_matches(student, ref, p):
    called = describe_call("chain_forward", {"x": p["x"], "w": p["w"], "b": p["b"]})
    u, h = (
        student.chain_forward(p["x"], p["w"], p["b"])
        if p["b"] is not None
        else student.chain_forward(p["x"], p["w"])
    )
    u_ref, h_ref = ref.chain_forward(p["x"], p["w"], p["b"])
    assert_close(u, u_ref, name="u", called=called)
    assert_close(h, h_ref, name="h", called=called)


@pytest.mark.question("q1", points=4)
def test_q1_forward_without_bias(student, ref, rng):
    """chain_forward matches the reference on random chains without bias"""
    for _ in range(3):
        _forward_matches(student, ref, chain_problem(rng))


@pytest.mark.question("q1", points=3)
def test_q1_forward_with_bias(student, ref, rng):
    """chain_forward adds the bias of every layer"""
    for _ in range(3):
        _forward_matches(student, ref, chain_problem(rng, bias=True))


@pytest.mark.question("q1", points=3)
def test_q1_forward_edge_lengths(student, ref, rng):
    """chain_forward handles one layer, one example and 200 layers"""
    for l, m in [(1, 4), (5, 1), (200, 3)]:
        _forward_matches(student, ref, chain_problem(rng, l=l, m=m))


def _backward(student, p):
    u, h = chain_ref.chain_forward(p["x"], p["w"])
    g = student.chain_backward(u, h, p["y"], p["w"])
    return u, h, g


@pytest.mark.question("q2", points=4)
def test_q2_output_layer(student, ref, rng):
    """chain_backward: g_l, the signal at the last layer, matches the reference"""
    p = chain_problem(rng)
    u, h, g = _backward(student, p)
    g_ref = ref.chain_backward(u, h, p["y"], p["w"])
    called = describe_call("chain_backward", {"u": u, "h": h, "y": p["y"], "w": p["w"]})
    g = np.asarray(g)
    if g.shape != g_ref.shape:
        assert_close(g, g_ref, name="g", called=called)
    mistakes = lambda: [(mk, value[-1]) for mk, value in backward_mistakes(u, h, p["y"], p["w"])]
    assert_close_or_diagnose(g[-1], g_ref[-1], mistakes, name="g[-1] (= g_l)", called=called)


@pytest.mark.question("q2", points=8)
def test_q2_recursion_matches_reference(student, ref, rng):
    """chain_backward matches the reference on chains whose weights all differ"""
    for _ in range(3):
        p = chain_problem(rng)
        u, h, g = _backward(student, p)
        called = describe_call("chain_backward", {"u": u, "h": h, "y": p["y"], "w": p["w"]})
        assert_close_or_diagnose(
            g,
            ref.chain_backward(u, h, p["y"], p["w"]),
            lambda: backward_mistakes(u, h, p["y"], p["w"]),
            name="g",
            called=called,
        )


@pytest.mark.question("q2", points=4)
def test_q2_agrees_with_finite_differences(student, ref, rng):
    """h_{k-1} . g_k agrees with central finite differences of J in w_k"""
    p = chain_problem(rng, l=int(rng.integers(3, 12)))
    u, h, g = _backward(student, p)
    dw = np.einsum("km,km->k", h[:-1], np.asarray(g, dtype=float))
    check_gradient(
        lambda w: ref.chain_cost(p["x"], p["y"], w), dw, p["w"], name="h_{k-1}^T g_k from your g"
    )


@pytest.mark.question("q3", points=10)
def test_q3_gradients(student, ref, rng):
    """chain_gradients gives dw_k = h_{k-1}^T g_k and db_k = 1^T g_k"""
    for _ in range(3):
        p = chain_problem(rng, bias=True)
        u, h = ref.chain_forward(p["x"], p["w"], p["b"])
        g = ref.chain_backward(u, h, p["y"], p["w"])
        called = describe_call("chain_gradients", {"h": h, "g": g})
        dw, db = student.chain_gradients(h, g)
        dw_ref, db_ref = ref.chain_gradients(h, g)
        assert_close(dw, dw_ref, name="dw", called=called)
        assert_close(db, db_ref, name="db", called=called)
