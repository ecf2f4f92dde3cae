"""Question 1: four identities of sigmoid, tanh and softplus, graded with sympy.

The parser's optional functions are enabled only where they do not give the answer away:
`softplus` for log_sigmoid (-softplus(-x) is a right answer; `sigmoid` is not allowed there,
log(sigmoid(x)) would restate the question) and for sigmoid_via_tanh, both for the two
derivatives (their symbol is s or t, so sigmoid(x) cannot be used to answer them).
"""

import re

import pytest
import sympy

from autograder.errors import CheckFailed
from autograder.suites.mlp_multiclass.answers import equivalent_or_diagnose

REFERENCE = "autograder.suites.mlp_multiclass.reference"

X = {"x": sympy.Symbol("x", real=True)}
S = {"s": sympy.Symbol("s", positive=True)}
T = {"t": sympy.Symbol("t", real=True)}

SOFTMAX = (
    "softmax is not the function meant here: it normalises a vector of scores, and the softmax "
    "of a single number is always 1, so -softmax(-x) = -1 for every x. The smooth function of "
    "one number is softplus(z) = log(1 + e^z)"
)


@pytest.mark.question("q1", points=3)
def test_q1_sigmoid_via_tanh(student):
    """sigmoid_via_tanh: sigma(x) written with tanh(x/2)"""
    equivalent_or_diagnose(
        student["sigmoid_via_tanh"], "(tanh(x/2) + 1)/2", X,
        [("(tanh(x) + 1)/2", "the tanh must be of x/2: (tanh(x) + 1)/2 is sigma(2x)"),
         ("(1 - tanh(x/2))/2", "that is sigma(-x) = 1 - sigma(x): check the sign of the tanh")],
        name="sigmoid_via_tanh", extra_functions=("softplus",))


@pytest.mark.question("q1", points=3)
def test_q1_log_sigmoid(student):
    """log_sigmoid: log sigma(x) = -log(1 + e^-x) = -softplus(-x)"""
    value = student["log_sigmoid"]
    if re.search(r"softmax", str(value), flags=re.IGNORECASE):
        raise CheckFailed(f"log_sigmoid: your answer {str(value)[:80]} is not log sigma(x). {SOFTMAX}")
    equivalent_or_diagnose(
        value, "-log(1 + exp(-x))", X,
        [("-log(1 + exp(x))", "that is log sigma(-x) = log(1 - sigma(x)): "
          "1/(1 + e^-x) has e^-x, not e^x, in its denominator"),
         ("log(1 + exp(-x))", "the sign is wrong: sigma(x) < 1, so log sigma(x) is negative"),
         ("-1", SOFTMAX)],
        name="log_sigmoid", extra_functions=("softplus",))


@pytest.mark.question("q1", points=2)
def test_q1_dsigmoid_in_s(student):
    """dsigmoid_in_s: sigma'(x) in s = sigma(x)"""
    equivalent_or_diagnose(
        student["dsigmoid_in_s"], "s*(1 - s)", S,
        [("1 - s**2", "1 - t^2 is the derivative of tanh in t = tanh(x); the sigmoid's is s(1 - s)"),
         ("s*(1 + s)", "check the sign: sigma' = e^-x/(1 + e^-x)^2 = sigma(x)(1 - sigma(x))")],
        name="dsigmoid_in_s", extra_functions=("sigmoid", "softplus"))


@pytest.mark.question("q1", points=2)
def test_q1_dtanh_in_t(student):
    """dtanh_in_t: tanh'(x) in t = tanh(x)"""
    equivalent_or_diagnose(
        student["dtanh_in_t"], "1 - t**2", T,
        [("t*(1 - t)", "s(1 - s) is the derivative of the sigmoid; tanh' = 1 - tanh^2"),
         ("1 - tanh(t)**2", "t already is tanh(x): tanh'(x) = 1 - t^2, not 1 - tanh(t)^2"),
         ("1 + t**2", "check the sign: tanh' = sech^2 = 1 - tanh^2")],
        name="dtanh_in_t", extra_functions=("sigmoid", "softplus"))
