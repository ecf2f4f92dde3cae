"""The derivations of questions 2 and 6, graded step by step with sympy.

Question 2 (4 of its 20 points): g_l for one example i, with h = h_{l,i}, u = u_{l,i},
y = y_i and J = (1/(2m)) (y - h)^2 + (terms that do not depend on u). The named
intermediate results are graded on their own — ``dJ_dh`` = dJ/dh = (h - y)/m (1 point) and
``dh_du`` = tanh'(u) in terms of h, 1 - h^2 (1 point) — and ``derivation_g_l`` (2 points)
must lead from the chain rule ``g = dJ_dh*dh_du`` to g = (h - y)(1 - h^2)/m.

Question 6 (4 of its 20 points): G2 on the smallest case, m = c = 2 (the letter m kept for
the number of examples), U2 = [[U11, U12], [U21, U22]], Y = [[Y11, Y12], [Y21, Y22]]:
``trace_U2Y`` = tr(U2 Y) in components (1 point); ``derivation_G2`` (2 points) from
``J = -trace_U2Y/m`` to J written out in the entries of U2 (J is linear in U2, so the
coefficient of U_ij is dJ/dU_ij = (G2)_ij); ``G2_entries`` = (G2_11, G2_12, G2_21, G2_22)
= -(1/m) (Y11, Y21, Y12, Y22), i.e. G2 = -(1/m) Y^T (1 point).
"""

import numpy as np
import pytest
import sympy

from autograder.checks import assert_derivation, assert_equivalent
from autograder.errors import CheckFailed

REFERENCE = "mlhw_ref.chain"

# ---------------------------------------------------------------------------- question 2
CHAIN = {name: sympy.Symbol(name, real=True) for name in ("g", "h", "y", "u", "dJ_dh", "dh_du")}
CHAIN["m"] = sympy.Symbol("m", positive=True)
DJ_DH = "(h - y)/m"
DH_DU = "1 - h**2"
G_L = "g = (h - y)*(1 - h**2)/m"
# The named results, and h itself, in u: a step may use either h or tanh(u).
CHAIN_FACTS = {"dJ_dh": "(tanh(u) - y)/m", "dh_du": "1 - tanh(u)**2", "h": "tanh(u)"}

# ---------------------------------------------------------------------------- question 6
ENTRIES = [f"{a}{i}{j}" for a in "UY" for i in (1, 2) for j in (1, 2)]
MATRIX = {name: sympy.Symbol(name, real=True) for name in [*ENTRIES, "J", "trace_U2Y"]}
MATRIX["m"] = sympy.Symbol("m", positive=True)
TRACE = "U11*Y11 + U12*Y21 + U21*Y12 + U22*Y22"
J_IN_ENTRIES = "J = -(U11*Y11 + U12*Y21 + U21*Y12 + U22*Y22)/m"
G2_ENTRIES = ("-Y11/m", "-Y21/m", "-Y12/m", "-Y22/m")


def _is(answer, expected, symbols, **kwargs) -> bool:
    """Whether ``answer`` is equivalent to ``expected`` (for naming a known mistake)."""
    try:
        assert_equivalent(answer, expected, symbols, **kwargs)
    except CheckFailed:
        return False
    return True


def _equivalent_or_diagnose(answer, expected, symbols, mistakes, *, name, **kwargs):
    """assert_equivalent, naming the mistake when the answer is one of ``mistakes``."""
    try:
        assert_equivalent(answer, expected, symbols, name=name, **kwargs)
    except CheckFailed as exc:
        for wrong, words in mistakes:
            if _is(answer, wrong, symbols, **kwargs):
                raise CheckFailed(f"{exc}\n{words}") from None
        raise


def _h_is_tanh_u(rng: np.random.Generator) -> dict[str, float]:
    u = float(rng.uniform(-2.0, 2.0))
    return {"u": u, "h": float(np.tanh(u))}


@pytest.mark.question("q2", points=1)
def test_q2_dJ_dh(student):
    """dJ_dh: the derivative of J in h = h_{l,i}, in h, y and m"""
    _equivalent_or_diagnose(
        student["dJ_dh"],
        DJ_DH,
        CHAIN,
        [
            (
                "h - y",
                "the 1/m is missing: J = 1/(2m) (y - h)^2 + ..., and the 2 of the square "
                "cancels only the 2 of 1/(2m)",
            ),
            ("(y - h)/m", "the sign is wrong: d/dh (y - h)^2 = -2 (y - h) = 2 (h - y)"),
            ("(h - y)/(2*m)", "the 2 of the square cancels the 2 of 1/(2m)"),
        ],
        name="dJ_dh",
    )


@pytest.mark.question("q2", points=1)
def test_q2_dh_du(student):
    """dh_du: tanh'(u), written in terms of h = tanh(u)"""
    answer = student["dh_du"]
    _equivalent_or_diagnose(
        answer,
        DH_DU,
        CHAIN,
        [("1 - u**2", "you wrote tanh'(u) as 1 - u^2; it is 1 - tanh(u)^2 = 1 - h^2")],
        name="dh_du",
        sampler=_h_is_tanh_u,
    )


@pytest.mark.question("q2", points=2)
def test_q2_derivation_g_l(student):
    """derivation_g_l: steps from the chain rule g = dJ_dh*dh_du to g in h, y and m"""
    try:
        assert_derivation(
            student["derivation_g_l"],
            start="g = dJ_dh*dh_du",
            target=G_L,
            symbols=CHAIN,
            facts=CHAIN_FACTS,
            name="derivation_g_l",
            min_steps=3,
        )
    except CheckFailed as exc:
        if "is not the result" not in str(exc):
            raise
        raise CheckFailed(f"{exc}: g written in h, y and m only (no dJ_dh, dh_du or u)") from None


@pytest.mark.question("q6", points=1)
def test_q6_trace_U2Y(student):
    """trace_U2Y: tr(U2 Y) written out for m = c = 2"""
    _equivalent_or_diagnose(
        student["trace_U2Y"],
        TRACE,
        MATRIX,
        [
            (
                "U11*Y11 + U12*Y12 + U21*Y21 + U22*Y22",
                "that is the sum of U_ij Y_ij, tr(U2 Y^T); the trace of the product pairs U_ij with "
                "Y_ji: tr(U2 Y) = sum_i (U2 Y)_ii = sum_i sum_j U_ij Y_ji",
            )
        ],
        name="trace_U2Y",
    )


@pytest.mark.question("q6", points=2)
def test_q6_derivation_G2(student):
    """derivation_G2: steps from J = -trace_U2Y/m to J written out in the entries of U2"""
    try:
        assert_derivation(
            student["derivation_G2"],
            start="J = -trace_U2Y/m",
            target=J_IN_ENTRIES,
            symbols=MATRIX,
            facts={"trace_U2Y": TRACE},
            name="derivation_G2",
            min_steps=3,
        )
    except CheckFailed as exc:
        if "is not the result" not in str(exc):
            raise
        raise CheckFailed(f"{exc}: J written out in the entries of U2 and Y") from None


@pytest.mark.question("q6", points=1)
def test_q6_G2_entries(student):
    """G2_entries: (G2_11, G2_12, G2_21, G2_22), the coefficients of U11, U12, U21, U22 in J"""
    _equivalent_or_diagnose(
        student["G2_entries"],
        G2_ENTRIES,
        MATRIX,
        [
            (
                ("-Y11/m", "-Y12/m", "-Y21/m", "-Y22/m"),
                "these are the entries of -(1/m) Y, not transposed: U12 multiplies Y21 in the trace",
            ),
            (("-Y11", "-Y21", "-Y12", "-Y22"), "the factor 1/m of J is missing"),
        ],
        name="G2_entries",
    )
