"""Question 7 (the M-step by hand, derived step by step) and question 9 (the log-likelihood plot).

Question 8 is written: the engine collects the Markdown cell with metadata
{"mlhw": {"written": "q8"}} for manual grading, so it has no test here.

Question 7 is worth 10 points, 5 of them carved from question 3 (the M-step's code, now 15):
the result ``alpha_1`` (2), and the derivation from the Lagrangian with its named
intermediate results, each graded on its own: the stationarity condition (2), the Lagrange
multiplier (2), the steps to alpha_1 (2); for beta the multiplier (1) and the steps (1).
"""

import numpy as np
import pytest
import sympy

from autograder.checks import assert_derivation, assert_equivalent, assert_figure
from autograder.errors import CheckFailed

REFERENCE = "mlhw_ref.plsa"
SYMBOLS = {name: sympy.Symbol(name, positive=True)
           for name in ("s1", "s2", "s3", "alpha1", "lam", "t1", "t2", "t3", "beta1", "mu")}
# The Lagrangians the notebook states (their stationarity conditions are for the student):
#   sum_k s_k log alpha_k + lam (1 - sum_k alpha_k)   for one document, K = 3
#   sum_j t_j log beta_j + mu (1 - sum_j beta_j)      for one topic, N = 3 words
STATIONARITY_ALPHA = "s1/alpha1 - lam = 0"
STATIONARITY_BETA = "t1/beta1 - mu = 0"
LAMBDA, MU = "s1 + s2 + s3", "t1 + t2 + t3"


def _derivation(steps, *, start, target, unknown, facts, name, start_in_words):
    """assert_derivation, whose message for a wrong first step names the starting point in
    words (the stationarity condition is itself graded: its formula is not given away)."""
    try:
        assert_derivation(steps, start=start, target=target, symbols=SYMBOLS, unknowns=[unknown],
                          facts=facts, name=name)
    except CheckFailed as exc:
        raise CheckFailed(str(exc).replace(f"(start from {start})", f"(start from {start_in_words})")) from None


@pytest.mark.question("q7", points=2)
def test_q7_alpha_1(student):
    """alpha_1: the M-step for one document with K = 3, in s1, s2, s3"""
    assert_equivalent(student["alpha_1"], "s1/(s1 + s2 + s3)", SYMBOLS, name="alpha_1")


@pytest.mark.question("q7", points=2)
def test_q7_stationarity(student):
    """stationarity: the derivative of the Lagrangian in alpha1, set to 0"""
    answer = student["stationarity"]
    if isinstance(answer, sympy.Expr):
        answer = sympy.Eq(answer, 0)
    elif isinstance(answer, str) and "=" not in answer and not answer.strip().startswith("Eq("):
        answer = f"{answer} = 0"  # an expression stands for "expression = 0" (sympy objects
        # arrive as their text, an equation as "Eq(lhs, rhs)")
    try:
        assert_derivation([answer], start=STATIONARITY_ALPHA, target=STATIONARITY_ALPHA,
                          symbols=SYMBOLS, unknowns=["alpha1"], name="stationarity", min_steps=1)
    except CheckFailed as exc:
        if "not the starting point" not in str(exc) and "not the result" not in str(exc):
            raise
        raise CheckFailed(
            f"`stationarity` (`{answer!s:.100}`) is not the condition dL/dalpha1 = 0 for "
            "L = s1 log alpha1 + s2 log alpha2 + s3 log alpha3 + lam (1 - alpha1 - alpha2 - alpha3): "
            "its solution for alpha1 differs (differentiate each term in alpha1; the constraint "
            "term gives -lam)") from None


@pytest.mark.question("q7", points=2)
def test_q7_lagrange_multiplier(student):
    """lagrange_multiplier: lam at the optimum, in s1, s2, s3 (from the constraint)"""
    assert_equivalent(student["lagrange_multiplier"], LAMBDA, SYMBOLS,
                      name="lagrange_multiplier")


@pytest.mark.question("q7", points=2)
def test_q7_derivation_alpha(student):
    """derivation_alpha: each step follows, from dL/dalpha1 = 0 to alpha1 = s1/(s1 + s2 + s3)"""
    _derivation(student["derivation_alpha"], start=STATIONARITY_ALPHA,
                target="alpha1 = s1/(s1 + s2 + s3)", unknown="alpha1", facts={"lam": LAMBDA},
                name="derivation_alpha", start_in_words="the stationarity condition dL/dalpha1 = 0")


@pytest.mark.question("q7", points=1)
def test_q7_multiplier_beta(student):
    """multiplier_beta: mu at the optimum of beta's Lagrangian, in t1, t2, t3"""
    assert_equivalent(student["multiplier_beta"], MU, SYMBOLS, name="multiplier_beta")


@pytest.mark.question("q7", points=1)
def test_q7_derivation_beta(student):
    """derivation_beta: each step follows, from dL/dbeta1 = 0 to beta1 = t1/(t1 + t2 + t3)"""
    _derivation(student["derivation_beta"], start=STATIONARITY_BETA,
                target="beta1 = t1/(t1 + t2 + t3)", unknown="beta1", facts={"mu": MU},
                name="derivation_beta", start_in_words="the stationarity condition dL/dbeta1 = 0")


def _ll(ref, rng):
    counts = rng.poisson(2.0, size=(8, 15)) + (rng.random((8, 15)) < 0.2)
    counts[:, 0] += 1
    counts[0] += 1
    alpha0, beta0 = ref.random_start(8, 15, 3, rng)
    return ref.fit_plsa(counts, alpha0, beta0, int(rng.integers(12, 40)))[2]


@pytest.mark.question("q9", points=3)
def test_q9_plot_is_one_increasing_line(student, ref, rng):
    """plot_log_likelihood draws one line with n_iter + 1 points, never decreasing"""
    ll = _ll(ref, rng)
    fig = student.plot_log_likelihood(ll)
    assert_figure(fig, n_lines=1, line_length=ll.size, monotone="increasing",
                  name=f"your figure for ll of {ll.size} values")


@pytest.mark.question("q9", points=2)
def test_q9_plot_shows_ll_against_iteration(student, ref, rng):
    """the line's y values are the ll passed in, its x values the iteration numbers"""
    ll = _ll(ref, rng)
    fig = student.plot_log_likelihood(ll)
    assert_figure(fig, n_lines=1, line_length=ll.size)
    for ax in fig.axes:
        for line in ax.lines:
            x = np.asarray(line.x, dtype=np.float64).ravel()
            y = np.asarray(line.y, dtype=np.float64).ravel()
            if y.size == ll.size and np.allclose(y, ll, rtol=1e-9, atol=0.0):
                steps = np.diff(x)
                if np.allclose(steps, 1.0) and x[0] in (0.0, 1.0):
                    return
                raise CheckFailed("your line has the right y values but its x values are not the "
                                  "iteration numbers 0, 1, ..., n_iter (plot ll against np.arange(len(ll)))")
    raise CheckFailed(f"no line in your figure has y = ll (the {ll.size} values passed in): plot the "
                      "log-likelihood itself against the iteration")
