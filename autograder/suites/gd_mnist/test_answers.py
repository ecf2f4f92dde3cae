"""Part A, the symbolic answers and derivations of questions 1-4 (checked with sympy).

Symbols: curvatures a, b > 0; the step eta real. Symbolic answers are compared by
equivalence (any equal form passes); rate_opt is compared for a >= b, as the question asks.

Derivations (graded step by step with `assert_derivation`; each step an equation that must
follow from the one before), with their points carved from the question's:
- q2 ``derivation_rho1`` (2): from the update rule ``w1_next = w1 - eta*dL_dw1`` (dL_dw1 = a w1,
  a named fact) to ``w1_next = (1 - eta*a)*w1``;
- q3 ``derivation_eta_max`` (2): from ``rho1 = -1`` (rho1 = 1 - eta a, a named fact) to
  ``eta = 2/a``, the steps as equations in the unknown eta;
- q4 ``derivation_eta_opt`` (2): from ``rho2 = -rho1`` to ``eta = 2/(a + b)`` (unknown eta), and
  ``derivation_rate_opt`` (1): from ``rate = 1 - eta_opt*b`` (eta_opt = 2/(a + b)) to
  ``rate = (a - b)/(a + b)``.
"""

import numpy as np
import pytest
import sympy

from autograder.checks import assert_derivation, assert_equivalent
from autograder.errors import CheckFailed

REFERENCE = "mlhw_ref.quadratic"

SYMBOLS = {
    "a": sympy.Symbol("a", positive=True),
    "b": sympy.Symbol("b", positive=True),
    "eta": sympy.Symbol("eta", real=True),
}
STEP_SYMBOLS = {
    **SYMBOLS,
    **{
        name: sympy.Symbol(name, real=True)
        for name in ("w1", "w1_next", "dL_dw1", "rho1", "rho2", "rate", "eta_opt")
    },
}


def _a_at_least_b(rng: np.random.Generator) -> dict[str, float]:
    b = float(rng.uniform(0.1, 5.0))
    return {"a": b + float(rng.uniform(0.0, 5.0)), "b": b, "eta": float(rng.normal())}


def _is(value, expected, **kwargs) -> bool:
    try:
        assert_equivalent(value, expected, SYMBOLS, **kwargs)
    except CheckFailed:
        return False
    return True


def _equivalent_or_diagnose(value, expected, mistakes, *, name, **kwargs):
    """assert_equivalent, naming the mistake when the answer is one of ``mistakes``."""
    try:
        assert_equivalent(value, expected, SYMBOLS, name=name, **kwargs)
    except CheckFailed as exc:
        for wrong, words in mistakes:
            if _is(value, wrong, **kwargs):
                raise CheckFailed(f"{exc}\n{words}") from None
        raise


def _derivation(steps, *, start, target, facts, unknowns=(), name, reaches):
    try:
        assert_derivation(
            steps,
            start=start,
            target=target,
            symbols=STEP_SYMBOLS,
            facts=facts,
            unknowns=unknowns,
            name=name,
            min_steps=3,
        )
    except CheckFailed as exc:
        if "is not the result" not in str(exc):
            raise
        raise CheckFailed(f"{exc}: {reaches}") from None


# ------------------------------------------------------------------------------ q1
@pytest.mark.question("q1", points=1)
def test_q1_w_star(student):
    """w_star: the minimiser of L, a 2-tuple"""
    _equivalent_or_diagnose(student["w_star"], ("0", "0"), [], name="w_star")


# ------------------------------------------------------------------------------ q2
@pytest.mark.question("q2", points=1)
def test_q2_rho1(student):
    """rho1: the factor one step multiplies w1 by, in a, b, eta"""
    _equivalent_or_diagnose(
        student["rho1"],
        "1 - eta*a",
        [
            (
                "1 + eta*a",
                "that is the factor of gradient ascent: the step goes against the gradient, "
                "w1 - eta dL/dw1",
            ),
            ("1 - eta*b", "w1's curvature is a: rho1 = 1 - eta a (rho2 has b)"),
            ("eta*a", "one step keeps w1 and subtracts eta a w1: the factor is 1 - eta a"),
            ("1 - 2*eta*a", "the 1/2 of L cancels the 2 of the square: dL/dw1 = a w1"),
        ],
        name="rho1",
    )


@pytest.mark.question("q2", points=1)
def test_q2_rho2(student):
    """rho2: the factor one step multiplies w2 by, in a, b, eta"""
    _equivalent_or_diagnose(
        student["rho2"],
        "1 - eta*b",
        [
            (
                "1 + eta*b",
                "that is the factor of gradient ascent: the step goes against the gradient",
            ),
            ("1 - eta*a", "w2's curvature is b: rho2 = 1 - eta b"),
        ],
        name="rho2",
    )


@pytest.mark.question("q2", points=2)
def test_q2_derivation_rho1(student):
    """derivation_rho1: steps from the update rule w1_next = w1 - eta*dL_dw1 to w1_next = rho1*w1"""
    _derivation(
        student["derivation_rho1"],
        start="w1_next = w1 - eta*dL_dw1",
        target="w1_next = (1 - eta*a)*w1",
        facts={"dL_dw1": "a*w1"},
        name="derivation_rho1",
        reaches="w1_next written as a factor times w1, in a and eta",
    )


# ------------------------------------------------------------------------------ q3
@pytest.mark.question("q3", points=2)
def test_q3_eta_max(student):
    """eta_max: the supremum of the steps that converge, in a and b"""
    _equivalent_or_diagnose(
        student["eta_max"],
        "Min(2/a, 2/b)",
        [
            (
                "2/a",
                "that is the bound of the first coordinate alone; both must converge, so eta_max "
                "is the smaller of 2/a and 2/b",
            ),
            (
                "2/b",
                "that is the bound of the second coordinate alone; both must converge, so eta_max "
                "is the smaller of 2/a and 2/b",
            ),
            (
                "Max(2/a, 2/b)",
                "the larger bound lets the stiffer coordinate diverge: both must "
                "converge, so take the smaller one, 2/max(a, b)",
            ),
            (
                "Min(1/a, 1/b)",
                "up to 1/max(a, b) the coordinates shrink without oscillating, but they "
                "still converge up to 2/max(a, b), where rho reaches -1",
            ),
            ("2/(a + b)", "that is the best step eta_opt, not the largest stable one"),
        ],
        name="eta_max",
    )


@pytest.mark.question("q3", points=2)
def test_q3_derivation_eta_max(student):
    """derivation_eta_max: steps from rho1 = -1 to the step eta at which it happens"""
    _derivation(
        student["derivation_eta_max"],
        start="rho1 = -1",
        target="eta = 2/a",
        facts={"rho1": "1 - eta*a"},
        unknowns=["eta"],
        name="derivation_eta_max",
        reaches="eta written in a alone",
    )


# ------------------------------------------------------------------------------ q4
@pytest.mark.question("q4", points=1)
def test_q4_eta_opt(student):
    """eta_opt: the step that minimises max(|rho1|, |rho2|)"""
    _equivalent_or_diagnose(
        student["eta_opt"],
        "2/(a + b)",
        [
            (
                "1/(a + b)",
                "at 1/(a + b) both factors are still positive; the best step makes them "
                "equal and opposite: 1 - eta b = -(1 - eta a)",
            ),
            (
                "Min(2/a, 2/b)",
                "that is eta_max, the edge of stability, where the factor of the stiff "
                "coordinate is -1: the slowest, not the fastest",
            ),
            (
                "1/a",
                "at 1/a the first coordinate is solved in one step but the second shrinks only "
                "by 1 - b/a; the best step balances the two",
            ),
        ],
        name="eta_opt",
    )


@pytest.mark.question("q4", points=1)
def test_q4_rate_opt(student):
    """rate_opt: the contraction per step at eta_opt, for a >= b"""
    _equivalent_or_diagnose(
        student["rate_opt"],
        "(a - b)/(a + b)",
        [
            (
                "(b - a)/(a + b)",
                "that is rho1 at the best step, which is negative for a > b; the rate "
                "is its size, |rho1| = |rho2| = (a - b)/(a + b)",
            ),
            ("2*b/(a + b)", "that is eta_opt b; the factor is 1 - eta_opt b"),
        ],
        name="rate_opt",
        sampler=_a_at_least_b,
    )


@pytest.mark.question("q4", points=2)
def test_q4_derivation_eta_opt(student):
    """derivation_eta_opt: steps from rho2 = -rho1 to eta = eta_opt"""
    _derivation(
        student["derivation_eta_opt"],
        start="rho2 = -rho1",
        target="eta = 2/(a + b)",
        facts={"rho1": "1 - eta*a", "rho2": "1 - eta*b"},
        unknowns=["eta"],
        name="derivation_eta_opt",
        reaches="eta written in a and b",
    )


@pytest.mark.question("q4", points=1)
def test_q4_derivation_rate_opt(student):
    """derivation_rate_opt: steps from rate = 1 - eta_opt*b to the rate in a and b"""
    _derivation(
        student["derivation_rate_opt"],
        start="rate = 1 - eta_opt*b",
        target="rate = (a - b)/(a + b)",
        facts={"eta_opt": "2/(a + b)"},
        name="derivation_rate_opt",
        reaches="the rate written in a and b alone",
    )
