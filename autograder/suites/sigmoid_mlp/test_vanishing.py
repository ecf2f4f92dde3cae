"""Questions 5-7: the gradient norm of the first layer against depth, its plot, the
contraction bound, and the multiple-choice questions on vanishing gradients."""

import numpy as np
import pytest
import sympy as sp

from autograder.checks import (
    Mistake,
    assert_choice,
    assert_close_or_diagnose,
    assert_equivalent,
    assert_figure,
)
from autograder.checks.figures import _get, _xy
from autograder.errors import CheckFailed
from autograder.lending import graded_with_lent, stubs_as_failures
from autograder.suites.sigmoid_mlp.inputs import (
    backward_variant,
    equivalent,
    network,
)

REFERENCE = "mlhw_ref.sigmoid_mlp"

EPS = sp.Symbol("eps", positive=True)
YES_NO = ["yes", "no"]


# ------------------------------------------------------------------------------------ q5
@pytest.mark.question("q5", points=6)
def test_q5_grad_w1_norm_any_depth(student, ref, rng):
    """grad_w1_norm is ||dL/dW1||_F for random networks of depth 1 to 10"""
    cases = []
    for depth in range(1, 11):
        D, width, n = int(rng.integers(3, 9)), int(rng.integers(3, 7)), int(rng.integers(4, 12))
        params = network(rng, [D] + [width] * depth + [1], scale=2.0)
        X = rng.uniform(0.0, 1.0, size=(n, D))
        y = rng.integers(0, 2, size=n).astype(float)
        cases.append((depth, D, width, n, params, X, y))

    def check(s):
        for depth, D, width, n, params, X, y in cases:
            expected = ref.grad_w1_norm(params, X, y)
            called = (f"grad_w1_norm(params with {depth} hidden layer(s) of {width} units, X ({n}, {D}), "
                      f"y ({n},))")
            mistakes = lambda: [  # predicted on a failure only: two backward runs each
                (Mistake("mean", f"your norm is 1/n of the expected one (n = {n}): the loss is a sum "
                         "over examples"), expected / n),
                (Mistake("squared", "you returned the SQUARED Frobenius norm; take its square root"),
                 expected**2),
                (Mistake("missing sigma'", "your norm is that of a gradient without the factor "
                         "sigma'(a) = h (1 - h) of the hidden layers"),
                 float(np.linalg.norm(backward_variant(params, X, y, dsigma=False)["W1"]))),
                (Mistake("W1 from h1", "your norm is that of dL/dW1 computed from h1 instead of the "
                         "input X"),
                 float(np.linalg.norm(backward_variant(params, X, y, w1_from="h1")["W1"]))),
            ]
            assert_close_or_diagnose(s.grad_w1_norm(params, X, y), expected, mistakes,
                                     name=f"grad_w1_norm (depth {depth})", called=called, rtol=1e-6)

    # grad_w1_norm is one line on top of backward: a wrong backward costs question 2 only
    graded_with_lent(student, ref, {"backward": "q2"}, stubs_as_failures(check, ["backward"]),
                     function="your grad_w1_norm")


def _matching_line(fig, depths, norms):
    for ax in _get(fig, "axes", ()) or ():
        for line in _get(ax, "lines", ()) or ():
            x, y = _xy(line)
            if y.shape == norms.shape and np.allclose(y, norms, rtol=1e-6) and (
                    x.shape == depths.shape and np.allclose(x, depths)):
                return ax
    return None


@pytest.mark.question("q5", points=4)
def test_q5_plot_grad_norms(student, rng):
    """plot_grad_norms draws the norms against the depths on a log y-axis"""
    k = int(rng.integers(5, 11))
    depths = np.arange(1, k + 1)
    norms = 10.0 ** (-0.4 * depths + rng.normal(0.0, 0.2, size=k))
    fig = student.plot_grad_norms(depths, norms)
    assert_figure(fig, line_length=k, yscale="log", name="plot_grad_norms(depths, norms)")
    ax = _matching_line(fig, depths.astype(float), norms)
    if ax is None:
        raise CheckFailed(f"plot_grad_norms(depths ({k},), norms ({k},)) has no line with the depths "
                          "on the x-axis and the norms on the y-axis (plot ax.plot(depths, norms))")
    if str(_get(ax, "yscale", "")) != "log":
        raise CheckFailed("the line of norms is on a linear y-axis; use ax.set_yscale('log')")


# ------------------------------------------------------------------------------------ q6
@pytest.mark.question("q6", points=5)
def test_q6_max_dsigmoid(student):
    """max_dsigmoid, the largest value of sigma'(x), is 1/4"""
    value = student["max_dsigmoid"]
    if equivalent(value, "1/2", {}):
        raise CheckFailed("max_dsigmoid: 1/2 is sigma(0), the value of the sigmoid; the question asks "
                          "for the largest value of its derivative sigma'(x) = sigma(x)(1 - sigma(x))")
    assert_equivalent(value, "1/4", {}, name="max_dsigmoid")


@pytest.mark.question("q6", points=5)
def test_q6_contraction(student):
    """contraction, the per-layer bound when W's eigenvalues are below 4 - eps, is (4 - eps)/4"""
    assert_equivalent(student["contraction"], "(4 - eps)/4", {"eps": EPS}, name="contraction")


# ------------------------------------------------------------------------------------ q7
CHOICES = {
    "mc_same_sign_single": "yes",
    "mc_same_sign_batch": "no",
    "mc_tanh_vanishes": "yes",
    "mc_relu_vanishes": "no",
}


@pytest.mark.question("q7", points=5)
def test_q7_all_four_choices_right(student):
    """the four yes/no answers of question 7 are all right (all or nothing: guessing does not pay)"""
    answers = {name: student[name] for name in CHOICES}
    wrong = []
    for name, value in answers.items():
        try:
            assert_choice(value, CHOICES[name], YES_NO, name=name)
        except CheckFailed as exc:
            if "is not correct" not in str(exc):
                raise  # not "yes" or "no": say so, with the name
            wrong.append(name)
    if wrong:
        raise CheckFailed(f"{len(wrong)} of the 4 answers {'is' if len(wrong) == 1 else 'are'} wrong; "
                          "question 7 counts only when all four are right (yes/no answers reward "
                          "reasons, not guesses)")
