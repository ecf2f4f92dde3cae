"""Questions 4 and 5: training the 100-layer chain and tracing its first iteration.

Both questions call the functions of questions 1-3. A mistake there is charged where it is
(q1, q2 or q3), not again here: a check that fails with the notebook's own helpers is run
again with `chain_forward`, `chain_backward` and `chain_gradients` lent from the reference
(whatever names the notebook calls them by), and passes with a note naming the question
where the points are lost when the loop itself is right.
"""

import re

import numpy as np
import pytest

from autograder.checks import alongside, assert_close, assert_equivalent, describe_call
from autograder.checks.memo import reference_once
from autograder.errors import CheckFailed, NotAttempted
from autograder.lending import graded_with_lent
from autograder.proxy import StudentProxy
from autograder.suites.deep_chain.helpers import HELPERS, helpers_to_lend
from autograder.suites.deep_chain.inputs import PUBLISHED_L, PUBLISHED_X, chain_problem

REFERENCE = "mlhw_ref.chain"

# A published run is 1000 iterations through 100 layers: about 0.3 s for a plain NumPy loop,
# but many times that on a loaded grading machine; the sandbox's per-call default is shorter.
TRAIN_TIMEOUT = 15
# The all-ones run is graded on its first 500 iterations: J falls geometrically from 0.0727
# and is 1.6e-27 there (2e-12 after 200, 1.7e-22 after 400), far below the 1e-20 that the
# published 1000 reach, and the total update is checked against gradient descent's anyway;
# the second 500 would decide nothing more at 0.15 s of the student's time.
ALL_ONES_ITER = 500
# The stalled runs (all 5.0, all 0.9) are graded on their first 100 iterations: J is flat
# there (it moves by less than 1e-7) and each update the same size (the total update grows
# linearly: at most 5.6e-5 and 9.1e-4 after 100, 1.1e-4 and 1.8e-3 after 200), so the rest
# of the 1000 would repeat what these decide, at 0.25 s of the student's time per run.
STALLED_ITER = 100


def _graded(student, ref, check, function):
    """check(student); after a failure, check again with the wrong helpers lent."""

    def own_or_lent(s):
        try:
            return check(s)
        except NotAttempted as exc:
            # A stub helper (raise NotImplementedError("chain_backward")) called by a loop
            # that is written: grade the loop with the helper lent, like any wrong helper.
            stub = re.search(r"NotImplementedError: (\w+)\)$", str(exc))
            if s is student and stub and stub[1] in HELPERS and stub[1] != function:
                raise CheckFailed(
                    f"your {function} calls `{stub[1]}`, which is not written yet"
                ) from None
            raise

    return graded_with_lent(
        student, ref, helpers_to_lend(student, ref), own_or_lent, function=f"your {function}"
    )


def _train(student, ref, x, y, w0, b0, alpha, iters, published=False):
    """The student's train_chain and the reference's on the same inputs: side by side for
    the notebook's own code; one after the other when helpers are lent, because a reference
    running in a thread beside the lent calls would slow every call back to the grader.
    A published run's reference is the same for every student: computed once per process."""
    train = student.train_chain.with_timeout(TRAIN_TIMEOUT)

    def reference():
        if published:
            return reference_once(ref.train_chain, x, y, w0, b0, alpha, iters)
        return ref.train_chain(x, y, w0, b0, alpha, iters)

    if isinstance(student, StudentProxy):
        return alongside(lambda: train(x, y, w0, b0, alpha, iters), reference)
    expected = reference()
    return train(x, y, w0, b0, alpha, iters), expected


def _published_run(student, ref, weight, iters):
    """Run train_chain on a published setting; check the costs' length, that b stays None
    and that the weights moved exactly as gradient descent moves them."""
    w0 = np.full(PUBLISHED_L, weight)
    called = describe_call(
        "train_chain",
        {"x": PUBLISHED_X, "y": PUBLISHED_X, "w0": w0, "b0": None, "alpha": 0.1, "max_iter": iters},
    )
    (w, b, costs), (w_ref, _, costs_ref) = _train(
        student, ref, PUBLISHED_X, PUBLISHED_X, w0, None, 0.1, iters, published=True
    )
    costs = np.asarray(costs, dtype=float)
    if costs.shape != (iters + 1,):
        raise CheckFailed(
            f"train_chain(..., max_iter={iters}) returned costs of shape {costs.shape}; "
            f"expected ({iters + 1},): J before the first update and after each of the {iters}"
        )
    if b is not None:
        raise CheckFailed("train_chain returned a bias although b0 was None; return b = None")
    # The weights must have moved exactly as gradient descent moves them: a trainer that
    # does nothing also keeps J near 0.125 in the stalled runs.
    assert_close(
        np.asarray(w, dtype=float) - w0,
        w_ref - w0,
        name="w - w0 (the total update)",
        called=called,
        rtol=1e-5,
        atol=1e-12,
    )
    return costs, costs_ref


def _all_ones_trains(s, ref):
    costs, _ = _published_run(s, ref, 1.0, ALL_ONES_ITER)
    if not abs(costs[0] - 0.0727) < 0.00005:
        raise CheckFailed(
            f"costs[0] = {costs[0]:.6g}; with all weights 1.0 the cost before the first "
            "update is 0.0727 (is costs[0] computed before updating?)"
        )
    if not costs[-1] < 1e-20:
        raise CheckFailed(
            f"after {ALL_ONES_ITER} updates J = {costs[-1]:.3g}; gradient descent with alpha = 0.1 "
            "reaches below 1e-20 from all-ones weights"
        )


@pytest.mark.question("q4", points=6)
def test_q4_all_ones_trains(student, ref):
    """train_chain from all weights 1.0 (published setting, 500 iterations): 501 costs from 0.0727 to below 1e-20, and the weights of gradient descent"""
    _graded(student, ref, lambda s: _all_ones_trains(s, ref), "train_chain")


def _stalled_runs_stall(s, ref):
    for weight in (5.0, 0.9):
        costs, _ = _published_run(s, ref, weight, STALLED_ITER)
        worst = float(np.max(np.abs(costs - 0.125)))
        if not worst < 0.01:
            raise CheckFailed(
                f"with all weights {weight}, J moved {worst:.3g} away from 0.125; the "
                "gradient vanishes there, so J should stay within 0.01 of 0.125"
            )


@pytest.mark.question("q4", points=4)
def test_q4_saturated_and_small_weights_stall(student, ref):
    """train_chain from all weights 5.0 and all 0.9 (published settings, 100 iterations): the weights of gradient descent, and J stays near 0.125"""
    _graded(student, ref, lambda s: _stalled_runs_stall(s, ref), "train_chain")


def _matches_with_bias(s, ref, p, alpha, iters):
    called = describe_call(
        "train_chain",
        {"x": p["x"], "y": p["y"], "w0": p["w"], "b0": p["b"], "alpha": alpha, "max_iter": iters},
    )
    (w, b, costs), (w_ref, b_ref, costs_ref) = _train(
        s, ref, p["x"], p["y"], p["w"], p["b"], alpha, iters
    )
    assert_close(costs, costs_ref, name="costs", called=called, rtol=1e-6)
    assert_close(w, w_ref, name="w", called=called, rtol=1e-6)
    assert_close(b, b_ref, name="b", called=called, rtol=1e-6)


@pytest.mark.question("q4", points=10)
def test_q4_matches_reference_with_bias(student, ref, rng):
    """train_chain with a bias (random chain): the costs, weights and biases of gradient descent"""
    p = chain_problem(rng, l=int(rng.integers(3, 10)), bias=True)
    alpha, iters = float(rng.uniform(0.05, 0.3)), int(rng.integers(20, 60))
    _graded(student, ref, lambda s: _matches_with_bias(s, ref, p, alpha, iters), "train_chain")


def _trace_at_w5(s, ref):
    w0 = np.full(PUBLISHED_L, 5.0)
    h, g = s.first_iteration_trace(PUBLISHED_X, PUBLISHED_X, w0)
    called = describe_call("first_iteration_trace", {"x": PUBLISHED_X, "y": PUBLISHED_X, "w0": w0})
    h_ref, g_ref = ref.first_iteration_trace(PUBLISHED_X, PUBLISHED_X, w0)
    assert_close(h, h_ref, name="h", called=called)
    g = np.asarray(g, dtype=float)
    if g.shape != g_ref.shape:
        assert_close(g, g_ref, name="g", called=called)
    assert_close(g[-1], g_ref[-1], name="g[-1] (layer 100)", called=called, rtol=1e-6)
    if not np.max(np.abs(g[0])) < 1e-250:
        raise CheckFailed(
            f"|g_1| = {np.max(np.abs(g[0])):.3g}; at w = 5 every layer shrinks g by "
            "5 sech^2(5), so g at layer 1 must be below 1e-250"
        )


@pytest.mark.question("q5", points=4)
def test_q5_trace_at_w5_vanishes(student, ref):
    """first_iteration_trace at w = 5 (published chain): h, g at layer 100 (about 4.5e-5), and g at layer 1 below 1e-250"""
    _graded(student, ref, lambda s: _trace_at_w5(s, ref), "first_iteration_trace")


def _trace_at_w09(s, ref):
    w0 = np.full(PUBLISHED_L, 0.9)
    called = describe_call("first_iteration_trace", {"x": PUBLISHED_X, "y": PUBLISHED_X, "w0": w0})
    h, g = s.first_iteration_trace(PUBLISHED_X, PUBLISHED_X, w0)
    h = np.asarray(h, dtype=float)
    if h.shape != (PUBLISHED_L + 1, 2):
        raise CheckFailed(
            f"h has shape {h.shape}; expected (101, 2): h_0 = x and one row per layer"
        )
    if not np.max(np.abs(h[-1])) < 1e-3:
        raise CheckFailed(
            f"|h_100| = {np.max(np.abs(h[-1])):.3g}; with w = 0.9 each layer shrinks h, "
            "so it must be below 1e-3 at layer 100"
        )
    h_ref, g_ref = ref.first_iteration_trace(PUBLISHED_X, PUBLISHED_X, w0)
    assert_close(g, g_ref, name="g", called=called, rtol=1e-6)


@pytest.mark.question("q5", points=3)
def test_q5_trace_at_w09_vanishes_forward(student, ref):
    """first_iteration_trace at w = 0.9 (published chain): h at layer 100 below 1e-3, and g"""
    _graded(student, ref, lambda s: _trace_at_w09(s, ref), "first_iteration_trace")


def _trace_matches(s, ref, p):
    called = describe_call("first_iteration_trace", {"x": p["x"], "y": p["y"], "w0": p["w"]})
    h, g = s.first_iteration_trace(p["x"], p["y"], p["w"])
    h_ref, g_ref = ref.first_iteration_trace(p["x"], p["y"], p["w"])
    assert_close(h, h_ref, name="h", called=called)
    assert_close(g, g_ref, name="g", called=called)


@pytest.mark.question("q5", points=3)
def test_q5_trace_matches_reference(student, ref, rng):
    """first_iteration_trace at random weights: the forward h and backward g"""
    p = chain_problem(rng)
    _graded(student, ref, lambda s: _trace_matches(s, ref, p), "first_iteration_trace")


@pytest.mark.question("q5", points=5)
def test_q5_shrink_factor(student):
    """shrink_factor: the per-layer factor by which g shrinks at w = 5"""
    assert_equivalent(student.shrink_factor, "5*sech(5)**2", {}, name="shrink_factor")
