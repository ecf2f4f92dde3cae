"""Derivations graded step by step: a step that does not follow is named, with both sides."""

import pytest
import sympy as sp

from autograder.checks import assert_derivation
from autograder.errors import CheckFailed

S = {n: sp.Symbol(n, positive=True) for n in ("s1", "s2", "s3", "alpha1", "lam", "n", "s",
                                                "Eh2", "Vara", "Varz", "m", "y", "h")}
PLSA = dict(start="s1/alpha1 - lam = 0", target="alpha1 = s1/(s1 + s2 + s3)", symbols=S,
            unknowns=["alpha1"], facts={"lam": "s1 + s2 + s3"}, name="derivation_alpha")
HE = dict(start="Varz = n*s**2*Eh2", target="s**2 = 2/n", symbols=S,
          facts={"Eh2": "Vara/2"}, name="derivation_he")


@pytest.mark.parametrize("steps", [
    ["s1/alpha1 - lam = 0", "alpha1 = s1/lam", "alpha1 = s1/(s1 + s2 + s3)"],
    ["s1/alpha1 == lam", "alpha1*lam = s1", "alpha1 = s1/(s1+s2+s3)"],
    ["Eq(s1/alpha1, lam)", "alpha1 = s1/lam", "alpha1 = s1/(s3 + s2 + s1)"],
])
def test_a_valid_lagrangian_derivation_passes(steps):
    assert_derivation(steps, **PLSA)


def test_a_step_that_does_not_follow_is_named_with_both_sides():
    steps = ["s1/alpha1 - lam = 0", "alpha1 = lam/s1", "alpha1 = s1/(s1 + s2 + s3)"]
    with pytest.raises(CheckFailed, match=r"step 2, `alpha1 = lam/s1`, does not follow from step 1, "
                                          r"`s1/alpha1 - lam = 0`"):
        assert_derivation(steps, **PLSA)


def test_a_wrong_start_or_end_fails():
    with pytest.raises(CheckFailed, match="step 1.*is not the starting point"):
        assert_derivation(["s1*alpha1 - lam = 0", "alpha1 = s1/(s1+s2+s3)"], **PLSA)
    # a restatement of the starting point with the same solutions is a valid first step
    assert_derivation(["alpha1 = s1/lam", "alpha1 = s1/(s1+s2+s3)"], **PLSA)
    with pytest.raises(CheckFailed, match="the last step.*is not the result"):
        assert_derivation(["s1/alpha1 - lam = 0", "alpha1 = s1/lam"], **PLSA)


def test_a_bare_start_and_target_needs_the_named_fact():
    # "start, target" alone: follows only through the fact lam = s1 + s2 + s3
    assert_derivation(["s1/alpha1 - lam = 0", "alpha1 = s1/(s1 + s2 + s3)"], **PLSA)
    with pytest.raises(CheckFailed, match="step 2"):
        assert_derivation(["s1/alpha1 - lam = 0", "alpha1 = s1/(s1 + s2 + s3)"],
                          **{**PLSA, "facts": {"lam": "s1 + s2"}})


def test_equations_without_unknowns_may_be_scaled_and_rewritten():
    # the He condition Var(z) = Var(a) is a named fact; solved for s
    he = {**HE, "unknowns": ["s"], "facts": {"Eh2": "Vara/2", "Varz": "Vara"}}
    assert_derivation(["Varz = n*s**2*Eh2", "Varz = n*s**2*Vara/2", "Vara = n*s**2*Vara/2",
                       "s**2 = 2/n"], **he)
    with pytest.raises(CheckFailed, match="step 3"):
        assert_derivation(["Varz = n*s**2*Eh2", "Varz = n*s**2*Vara/2", "s**2 = 1/n"], **he)
    assert_derivation(["Varz = n*s**2*Eh2", "2*Varz - n*s**2*Vara = 0",
                       "n*s**2*Vara/2 = Varz"], **{**HE, "target": "Varz = n*s**2*Vara/2"})


def test_an_expression_chain_continues_the_right_hand_side():
    steps = ["(y - h)**2/(2*m)", "(h - y)**2/(2*m)", "(h**2 - 2*h*y + y**2)/(2*m)"]
    assert_derivation(steps, start="(y - h)**2/(2*m)", target="(h - y)**2/(2*m)", symbols=S)
    with pytest.raises(CheckFailed, match="step 3.*does not follow.*differ at"):
        assert_derivation(steps[:2] + ["(h**2 + y**2)/(2*m)"], start=steps[0], target=steps[1],
                          symbols=S)


@pytest.mark.parametrize("answer,message", [
    ("alpha1 = s1/lam", "must be a list of steps"),
    (["s1/alpha1 - lam = 0"], "1 step"),
    (["s1/alpha1 - lam = 0", "alpha1 = __import__('os')"], "step 2.*could not be read"),
    (["s1/alpha1 - lam = 0", 5j], "step 2.*could not be read"),
    (["s1/alpha1 - lam = 0", "alpha1 = (15**999 + 1)**(1/2) + " * 40 + "1"],
     "step 2|could not be"),
])
def test_malformed_derivations_are_wrong_answers_not_grader_errors(answer, message):
    with pytest.raises(CheckFailed, match=message):
        assert_derivation(answer, **PLSA)
