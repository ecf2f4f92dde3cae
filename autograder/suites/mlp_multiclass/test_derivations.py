"""The derivations of question 5 (6 of its 30 points), graded step by step with sympy.

The smallest network where the indices matter: d_h = 2 hidden units, m = 2 classes, one
example. g1, g2 are the entries of g = o^s - e_y (the gradient of the NLL in the logits,
given); W11 ... W22 the entries of W2 (W_kj from hidden unit j to output k); ha1, ha2 and
hs1, hs2 the hidden pre-activations and ReLU outputs; r1, r2 the ReLU derivatives
1[h^a_j > 0].

- ``derivation_db1`` (2 points): from the chain rule ``dL_db11 = dL_dha1*dha1_db11`` to
  dL/d(b1)_1 = (g1 W11 + g2 W21) r1; the named intermediate results dL_dha1, dha1_db11 (= 1),
  dL_dhs1 and dhs1_dha1 (= r1) may be used between.
- ``db1_entries`` (1 point): (dL/d(b1)_1, dL/d(b1)_2). A vector of ones — dh^a/db1 taken for
  dL/db1, as a published solution has it — is named.
- ``derivation_dW2`` (2 points): from ``dL_dW12 = dL_doa1*doa1_dW12`` to dL/dW12 = g1 hs2.
- ``dW2_entries`` (1 point): (dL/dW11, dL/dW12, dL/dW21, dL/dW22) = (g1 hs1, g1 hs2, g2 hs1,
  g2 hs2); the pre-activation in place of hs and the transpose are named.
"""

import pytest
import sympy

from autograder.checks import assert_derivation
from autograder.errors import CheckFailed
from autograder.suites.mlp_multiclass.answers import equivalent_or_diagnose

REFERENCE = "autograder.suites.mlp_multiclass.reference"

NAMES = ["g1", "g2", "W11", "W12", "W21", "W22", "ha1", "ha2", "hs1", "hs2", "r1", "r2",
         "dL_db11", "dL_dha1", "dha1_db11", "dL_dhs1", "dhs1_dha1", "dL_dW12", "dL_doa1", "doa1_dW12"]
SYMBOLS = {name: sympy.Symbol(name, real=True) for name in NAMES}

DB1_FACTS = {"dL_dha1": "(g1*W11 + g2*W21)*r1", "dha1_db11": "1", "dL_dhs1": "g1*W11 + g2*W21",
             "dhs1_dha1": "r1"}
DB1_TARGET = "dL_db11 = (g1*W11 + g2*W21)*r1"
DB1_ENTRIES = ("(g1*W11 + g2*W21)*r1", "(g1*W12 + g2*W22)*r2")
DW2_FACTS = {"dL_doa1": "g1", "doa1_dW12": "hs2"}
DW2_TARGET = "dL_dW12 = g1*hs2"
DW2_ENTRIES = ("g1*hs1", "g1*hs2", "g2*hs1", "g2*hs2")

ONES = ("your dL/db1 is a vector of ones: 1 is dh^a_j/d(b1)_j, one factor of the chain rule, not "
        "the gradient of the loss. dL/d(b1)_j = dL/dh^a_j * 1 = (sum_k g_k W_kj) r_j")


@pytest.mark.question("q5", points=2)
def test_q5_derivation_db1(student):
    """derivation_db1: from the chain rule dL_db11 = dL_dha1*dha1_db11 to dL/d(b1)_1 in g, W2 and r"""
    steps = student["derivation_db1"]
    try:
        assert_derivation(steps, start="dL_db11 = dL_dha1*dha1_db11", target=DB1_TARGET,
                          symbols=SYMBOLS, facts=DB1_FACTS, name="derivation_db1", min_steps=3)
    except CheckFailed as exc:
        text = str(exc)
        if isinstance(steps, list | tuple) and any(
                str(st).replace(" ", "").endswith("=1") for st in steps[1:]):
            text += f"\n{ONES}"
        elif "is not the result" in text:
            text += ": dL_db11 written in g1, g2, W11, W21 and r1 only"
        raise CheckFailed(text) from None


@pytest.mark.question("q5", points=1)
def test_q5_db1_entries(student):
    """db1_entries: (dL/d(b1)_1, dL/d(b1)_2) in g, W2 and r"""
    equivalent_or_diagnose(
        student["db1_entries"], DB1_ENTRIES, SYMBOLS,
        [(("1", "1"), ONES),
         (("g1*W11 + g2*W21", "g1*W12 + g2*W22"), "the ReLU derivative r_j = 1[h^a_j > 0] is missing"),
         (("(g1*W11 + g2*W12)*r1", "(g1*W21 + g2*W22)*r2"),
          "W2 is used transposed: hidden unit j reaches output k through W_kj, so unit 1 collects "
          "g1 W11 + g2 W21")],
        name="db1_entries")


@pytest.mark.question("q5", points=2)
def test_q5_derivation_dW2(student):
    """derivation_dW2: from dL_dW12 = dL_doa1*doa1_dW12 to dL/dW12 in g and h^s"""
    try:
        assert_derivation(student["derivation_dW2"], start="dL_dW12 = dL_doa1*doa1_dW12",
                          target=DW2_TARGET, symbols=SYMBOLS, facts=DW2_FACTS,
                          name="derivation_dW2", min_steps=3)
    except CheckFailed as exc:
        text = str(exc)
        if "ha2" in str(student["derivation_dW2"]):
            text += ("\nW2 multiplies the ReLU OUTPUT: o^a_1 = W11 hs1 + W12 hs2 + b2_1, so "
                     "do^a_1/dW12 = hs2, not the pre-activation ha2")
        elif "is not the result" in text:
            text += ": dL_dW12 written in g1 and hs2"
        raise CheckFailed(text) from None


@pytest.mark.question("q5", points=1)
def test_q5_dW2_entries(student):
    """dW2_entries: (dL/dW11, dL/dW12, dL/dW21, dL/dW22) in g and h^s"""
    equivalent_or_diagnose(
        student["dW2_entries"], DW2_ENTRIES, SYMBOLS,
        [(("g1*ha1", "g1*ha2", "g2*ha1", "g2*ha2"),
          "you used the pre-activations ha; W2 multiplies the ReLU outputs hs = relu(ha), so "
          "dL/dW_kj = g_k hs_j"),
         (("g1*hs1", "g2*hs1", "g1*hs2", "g2*hs2"),
          "these are transposed: W_kj connects hidden unit j to output k, so dL/dW_kj = g_k hs_j")],
        name="dW2_entries")
