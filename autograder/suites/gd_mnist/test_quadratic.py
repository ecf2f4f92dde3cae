"""Part A, the code of questions 1-4: gradient descent on L(w) = (a w1^2 + b w2^2) / 2.

Every function is compared with the reference (mlhw_ref.quadratic) on cases drawn at grading
time. A question whose function calls another question's function (gd_quadratic calling
grad_quadratic, steps_to_tolerance calling converges) is graded again with those lent from
the reference when it fails (`autograder.lending`), so a mistake is charged where it is.

Fairness to equivalent formulations:
- gd_quadratic and steps_to_tolerance may iterate or use the closed form: trajectories are
  compared at rtol 1e-8 with an absolute floor of 1e-12 * |w0|, and steps_to_tolerance
  cases are drawn so that ||w_t|| is at least 1e-6 (relative) away from tol at the answer and
  one step before it (rounding cannot move the crossing);
- converges may test |1 - eta a| < 1 and |1 - eta b| < 1 or 0 < eta < 2 / max(a, b): the
  boundary step is tested on curvatures where both give the same verdict in floating point.
"""

import numpy as np
import pytest

from autograder.checks import Mistake, assert_close_or_diagnose, describe_call
from autograder.errors import CheckFailed, StudentError
from autograder.lending import HelpersToLend, graded_with_lent, stubs_as_failures
from autograder.suites.gd_mnist.inputs import clean_curvatures, curvatures

REFERENCE = "mlhw_ref.quadratic"

# The functions of other questions each may call, and the question that grades them.
HELPERS = {"grad_quadratic": "q1", "gd_quadratic": "q2", "converges": "q3"}
PROBE_TIMEOUT = 1.0


def _probe_calls(ref):
    """(args, expected) per helper: a zig-zag run and the boundary a = 4 (2/4 = 0.5 exactly)."""
    w = np.array([1.5, -2.0])
    return {
        "grad_quadratic": [((w, 3.0, 0.5), ref.grad_quadratic(w, 3.0, 0.5))],
        "gd_quadratic": [((w, 3.0, 0.5, 0.6, 5), ref.gd_quadratic(w, 3.0, 0.5, 0.6, 5))],
        "converges": [
            ((4.0, 0.5, eta), ref.converges(4.0, 0.5, eta))
            for eta in (0.25, 0.49, 0.5, 1.0, 4.5, 0.0, -0.1)
        ],
    }


def _wrong(student, ref, name):
    """Whether the notebook's `name` disagrees with the reference on the probe calls (or
    raises, or does not return within a second)."""
    function = student[name].with_timeout(PROBE_TIMEOUT)
    try:
        for args, expected in _probe_calls(ref)[name]:
            got = function(*args)
            if isinstance(expected, bool):
                if got is not expected:
                    return True
            elif not np.allclose(np.asarray(got, dtype=float), expected, rtol=1e-8, atol=1e-12):
                return True
    except (StudentError, TypeError, ValueError):
        return True
    return False


def _lent(student, ref, graded, check):
    """``check`` on the student's code, then with the other questions' functions lent: the
    wrong ones, or all of them when none is wrong (a timeout or crash is retried only when one is)."""
    others = {name: q for name, q in HELPERS.items() if name != graded}
    helpers = HelpersToLend(student, others, lambda name: _wrong(student, ref, name))
    return graded_with_lent(student, ref, helpers, stubs_as_failures(check, others),
                            function=f"your {graded}")


# ------------------------------------------------------------------------------ q1
@pytest.mark.question("q1", points=4)
def test_q1_grad_quadratic_matches_reference(student, ref, rng):
    """grad_quadratic: (a w1, b w2) at random points and curvatures"""
    for _ in range(6):
        a, b = curvatures(rng)
        w = rng.normal(0.0, 3.0, size=2)
        called = describe_call("grad_quadratic", {"w": w, "a": a, "b": b})
        got = student.grad_quadratic(w.copy(), a, b)
        expected = ref.grad_quadratic(w, a, b)
        assert_close_or_diagnose(
            got,
            expected,
            [
                (
                    Mistake(
                        "swapped", "the curvatures are swapped: dL/dw1 = a w1 and dL/dw2 = b w2"
                    ),
                    np.array([b * w[0], a * w[1]]),
                ),
                (
                    Mistake(
                        "no half",
                        "the 1/2 of L cancels the 2 of the square: dL/dw1 = a w1, not 2 a w1",
                    ),
                    2 * expected,
                ),
            ],
            name="gradient",
            called=called,
            rtol=1e-12,
            atol=1e-300,
        )


# ------------------------------------------------------------------------------ q2
def _trajectory_cases(rng):
    """(w0, a, b, eta, steps): stable, oscillating and diverging steps, one coordinate 0."""
    cases = []
    for fraction in (0.3, 0.8, 1.6, 2.3):  # eta * max(a, b): creeping, zig-zag, both diverging
        a, b = curvatures(rng)
        eta = fraction / max(a, b)
        cases.append((rng.normal(0.0, 2.0, size=2), a, b, eta, int(rng.integers(5, 40))))
    a, b = curvatures(rng)
    cases.append((np.array([0.0, float(rng.normal(0.0, 2.0))]), a, b, 1.0 / (a + b), 12))
    return cases


def _check_trajectories(s, ref, cases):
    for w0, a, b, eta, steps in cases:
        called = describe_call(
            "gd_quadratic", {"w0": w0, "a": a, "b": b, "eta": eta, "steps": steps}
        )
        got = s.gd_quadratic(w0.copy(), a, b, eta, steps)
        expected = ref.gd_quadratic(w0, a, b, eta, steps)
        if isinstance(got, np.ndarray) and got.shape == (steps, 2):
            raise CheckFailed(
                f"gd_quadratic returned {steps} rows; it must return steps + 1 = "
                f"{steps + 1}, row 0 being w0\n  called: {called}"
            )
        ascent = ref.gd_quadratic(w0, a, b, -eta, steps)
        assert_close_or_diagnose(
            got,
            expected,
            [
                (
                    Mistake(
                        "ascent",
                        "this is gradient ascent: the step must go against the gradient, "
                        "w - eta grad L(w)",
                    ),
                    ascent,
                )
            ],
            name="trajectory",
            called=called,
            rtol=1e-8,
            atol=1e-12 * float(np.max(np.abs(w0))),
        )


@pytest.mark.question("q2", points=4)
def test_q2_gd_quadratic_matches_reference(student, ref, rng):
    """gd_quadratic: the trajectory (steps + 1, 2) for stable, oscillating and diverging steps"""
    cases = _trajectory_cases(rng)
    _lent(student, ref, "gd_quadratic", lambda s: _check_trajectories(s, ref, cases))


@pytest.mark.question("q2", points=2)
def test_q2_gd_quadratic_edge_cases(student, ref, rng):
    """gd_quadratic: steps = 0 gives w0 alone (shape (1, 2)); eta = 0 stays at w0"""
    a, b = curvatures(rng)
    w0 = rng.normal(0.0, 2.0, size=2)
    cases = [(w0, a, b, 0.5 / max(a, b), 0), (w0, a, b, 0.0, 3)]
    _lent(student, ref, "gd_quadratic", lambda s: _check_trajectories(s, ref, cases))


# ------------------------------------------------------------------------------ q3
def _check_verdicts(s, cases):
    for a, b, eta, expected in cases:
        called = describe_call("converges", {"a": a, "b": b, "eta": eta})
        got = s.converges(a, b, eta)
        if isinstance(got, np.ndarray) and got.shape == () and got.dtype == bool:
            got = bool(got)
        if not isinstance(got, bool):
            raise CheckFailed(
                f"converges must return True or False, got {type(got).__name__} "
                f"{got!r}\n  called: {called}"
            )
        if got != expected:
            top = max(a, b)
            where = (
                "the boundary step 2/max(a, b), where the stiffer coordinate has rho = -1 and "
                "oscillates forever"
                if eta == 2.0 / top
                else "a step <= 0, which never converges (|1 - eta c| >= 1)"
                if eta <= 0
                else f"eta = {eta / (2.0 / top):.4g} x 2/max(a, b)"
            )
            hint = ""
            if eta > 2.0 / top and got and eta < 2.0 / min(a, b):
                hint = (
                    ": both coordinates must converge, so the bound is 2/max(a, b), not 2/min(a, b)"
                )
            raise CheckFailed(
                f"converges returned {got} at {where}; expected {expected}{hint}"
                f"\n  called: {called}"
            )


@pytest.mark.question("q3", points=3)
def test_q3_converges_on_a_grid(student, ref, rng):
    """converges: steps between 0 and 2/max(a, b) converge, larger ones do not"""
    cases = []
    for _ in range(4):
        a, b = curvatures(rng)
        top, low = max(a, b), min(a, b)
        etas = [f * 2.0 / top for f in (0.05, 0.5, 0.9, 0.999999, 1.000001, 1.5)]
        etas.append(0.5 * (2.0 / top + 2.0 / low))  # stable for the flat coordinate only
        cases += [(a, b, eta, ref.converges(a, b, eta)) for eta in etas]
    _lent(student, ref, "converges", lambda s: _check_verdicts(s, cases))


@pytest.mark.question("q3", points=3)
def test_q3_converges_at_the_boundary_and_for_non_positive_steps(student, ref, rng):
    """converges: False at eta = 2/max(a, b) exactly, at eta = 0 and for eta < 0"""
    cases = []
    for _ in range(3):
        a, b = clean_curvatures(rng)
        cases += [
            (a, b, 2.0 / max(a, b), False),
            (a, b, 0.0, False),
            (a, b, -float(rng.uniform(0.01, 1.0)) / max(a, b), False),
        ]
    _lent(student, ref, "converges", lambda s: _check_verdicts(s, cases))


# ------------------------------------------------------------------------------ q4
def _tolerance_cases(rng, ref, n):
    """(w0, a, b, eta, tol, expected) with an answer between 2 and 400 steps and ||w_t|| far
    (relative 1e-6) from tol at the answer and one step before."""
    cases = []
    while len(cases) < n:
        a, b = curvatures(rng)
        eta = float(rng.uniform(0.1, 0.97)) * 2.0 / max(a, b)
        w0 = rng.normal(0.0, 3.0, size=2)
        tol = float(10.0 ** rng.uniform(-6, -1)) * float(np.linalg.norm(w0))
        t = ref.steps_to_tolerance(w0, a, b, eta, tol)
        if not 2 <= t <= 400:
            continue
        norms = np.linalg.norm(ref.gd_quadratic(w0, a, b, eta, t)[t - 1 :], axis=1)
        if np.all(np.abs(norms / tol - 1.0) > 1e-6):
            cases.append((w0, a, b, eta, tol, t))
    return cases


def _check_steps(s, cases):
    for w0, a, b, eta, tol, expected in cases:
        called = describe_call(
            "steps_to_tolerance", {"w0": w0, "a": a, "b": b, "eta": eta, "tol": tol}
        )
        got = s.steps_to_tolerance(w0.copy(), a, b, eta, tol)
        if isinstance(got, np.ndarray) and got.shape == () and got.dtype.kind in "iu":
            got = int(got)
        if isinstance(got, bool) or not isinstance(got, int):
            raise CheckFailed(
                f"steps_to_tolerance must return an int, got {type(got).__name__} "
                f"{got!r}\n  called: {called}"
            )
        if got != expected:
            hint = ""
            if expected == -1:
                hint = " (this step does not converge: return -1 whatever w0, as converges says)"
            elif got == expected + 1:
                hint = (
                    " (one too many: t counts the steps taken, and the answer is the first t "
                    "with ||w_t|| <= tol; t = 0 is w0 itself)"
                )
            elif got == expected - 1:
                hint = (
                    " (one too few: is the test ||w_t|| <= tol, on the 2-norm of the whole point?)"
                )
            raise CheckFailed(
                f"steps_to_tolerance returned {got}; expected {expected}{hint}\n  called: {called}"
            )


@pytest.mark.question("q4", points=3)
def test_q4_steps_to_tolerance_matches_reference(student, ref, rng):
    """steps_to_tolerance: the first t with ||w_t|| <= tol, on converging runs"""
    cases = _tolerance_cases(rng, ref, 5)
    _lent(student, ref, "steps_to_tolerance", lambda s: _check_steps(s, cases))


@pytest.mark.question("q4", points=2)
def test_q4_steps_to_tolerance_edge_cases(student, ref, rng):
    """steps_to_tolerance: 0 when w0 is already within tol; -1 when the step does not converge"""
    a, b = clean_curvatures(rng)
    top = max(a, b)
    w0 = rng.normal(0.0, 3.0, size=2)
    norm = float(np.linalg.norm(w0))
    cases = [
        (w0, a, b, 0.5 / top, 1.5 * norm, 0),
        (w0, a, b, 2.0 / top, 1e-3 * norm, -1),  # oscillates forever
        (w0, a, b, 2.5 / top, 1e-3 * norm, -1),  # diverges
        (w0, a, b, 2.5 / top, 1.5 * norm, -1),  # diverges, although w0 is within tol
        (w0, a, b, -0.1 / top, 1e-3 * norm, -1),
    ]
    _lent(student, ref, "steps_to_tolerance", lambda s: _check_steps(s, cases))
