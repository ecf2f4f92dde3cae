"""Question 7 (the symbolic M-step for one document) and question 9 (the log-likelihood plot).

Question 8 is written: the engine collects the Markdown cell with metadata
{"mlhw": {"written": "q8"}} for manual grading, so it has no test here.
"""

import numpy as np
import pytest
import sympy

from autograder.checks import assert_equivalent, assert_figure
from autograder.errors import BadReturn, CheckFailed, NotAttempted

REFERENCE = "mlhw_ref.plsa"
SYMBOLS = {name: sympy.Symbol(name, positive=True) for name in ("s1", "s2", "s3")}


@pytest.mark.question("q7", points=5)
def test_q7_alpha_1(student):
    """alpha_1: the M-step for one document with K = 3, in s1, s2, s3"""
    try:
        answer = student.alpha_1
    except BadReturn as exc:  # the stub's `alpha_1 = ...` arrives as an unsupported ellipsis
        if "ellipsis" in str(exc):
            raise NotAttempted("`alpha_1` is not attempted yet (it is still `...`)") from None
        raise
    assert_equivalent(answer, "s1/(s1 + s2 + s3)", SYMBOLS, name="alpha_1")


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
