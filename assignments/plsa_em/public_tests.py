"""Public checks for plsa_em, run by check("qN") in the student's notebook.

Small cases worked out by hand: 2 documents, 3 words, 2 topics. The hidden tests use other,
random inputs (other sizes, sparse counts, zeros in alpha and beta, a large corpus).
"""

import numpy as np
import sympy as sp
from mlhw_check import question
from mlhw_check.checks import assert_close, assert_figure

COUNTS = np.array([[2, 0, 1], [0, 3, 1]])
ALPHA = np.array([[0.5, 0.5], [0.2, 0.8]])
BETA = np.array([[0.3, 0.7, 0.0], [0.1, 0.4, 0.5]])
# ll = 2 log(0.2/2) + log(0.25/2) + 3 log(0.46/2) + log(0.4/2)
LL = 2 * np.log(0.1) + np.log(0.125) + 3 * np.log(0.23) + np.log(0.2)
GAMMA = np.array([[[3 / 4, 1 / 4], [7 / 11, 4 / 11], [0.0, 1.0]],
                  [[3 / 7, 4 / 7], [7 / 23, 16 / 23], [0.0, 1.0]]])


@question("q1")
def test_q1_small_corpus(student):
    ll = student.log_likelihood(COUNTS, ALPHA, BETA)
    assert_close(ll, LL, rtol=1e-10, name="log_likelihood (2 x 3 counts, K = 2)")


@question("q2")
def test_q2_small_posterior(student):
    gamma = student.e_step(ALPHA, BETA)
    assert_close(np.shape(gamma), (2, 3, 2), name="gamma.shape (M, N, K)")
    assert_close(np.sum(gamma, axis=2), np.ones((2, 3)), name="gamma summed over topics")
    assert_close(gamma, GAMMA, rtol=1e-8, name="gamma")


@question("q2")
def test_q2_zero_denominator_gives_no_nan(student):
    alpha = np.array([[1.0, 0.0], [0.5, 0.5]])
    beta = np.array([[0.0, 1.0], [1.0, 0.0]])  # document 0 and word 0 share no topic
    gamma = student.e_step(alpha, beta)
    assert_close(gamma[0, 0], np.array([0.5, 0.5]), name="gamma[0, 0] (pair of probability 0: uniform)")


@question("q3")
def test_q3_small_m_step(student):
    alpha, beta = student.m_step(COUNTS, GAMMA)
    # s_1k = 2 (3/4, 1/4) + 1 (0, 1) = (1.5, 1.5); s_2k = 3 (7/23, 16/23) + (0, 1)
    assert_close(alpha, np.array([[0.5, 0.5], [21 / 92, 71 / 92]]), rtol=1e-8, name="alpha")
    assert_close(np.sum(beta, axis=1), np.ones(2), name="rows of beta summed over words")
    assert_close(beta[0], np.array([1.5, 21 / 23, 0.0]) / (1.5 + 21 / 23),
                 rtol=1e-8, name="beta[0]")


@question("q4")
def test_q4_three_iterations(student):
    _, _, ll = student.fit_plsa(COUNTS, ALPHA, BETA, 3)
    assert_close(np.shape(ll), (4,), name="ll.shape (n_iter + 1,)")
    assert_close(ll[0], LL, rtol=1e-10, name="ll[0] (the starting log-likelihood)")
    assert_close(ll, np.array([LL, -11.9585164, -11.40528215, -10.68836914]), rtol=1e-7, name="ll")


@question("q4")
def test_q4_does_not_modify_its_inputs(student):
    alpha0, beta0 = ALPHA.copy(), BETA.copy()
    student.fit_plsa(COUNTS, alpha0, beta0, 2)
    assert_close(alpha0, ALPHA, name="alpha0 after the call")
    assert_close(beta0, BETA, name="beta0 after the call")


@question("q5")
def test_q5_sparse_corpus_climbs(student):
    # 300 x 4,000 words, K = 8, 1% non-zero: a smaller cousin of the hidden corpus
    rng = np.random.default_rng(5)
    counts = (rng.random((300, 4000)) < 0.01) * rng.integers(1, 4, size=(300, 4000))
    counts[np.arange(300), rng.integers(4000, size=300)] += 1
    counts[rng.integers(300, size=4000), np.arange(4000)] += 1
    alpha0 = rng.dirichlet(np.ones(8), size=300)
    beta0 = rng.dirichlet(np.ones(4000), size=8)
    alpha, _, ll = student.fit_plsa(counts, alpha0, beta0, 5)
    assert_close(np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:])), True, name="ll never decreases")
    assert_close(np.sum(alpha, axis=1), np.ones(300), name="rows of alpha summed over topics")


@question("q6")
def test_q6_top_words(student):
    beta = np.array([[0.1, 0.5, 0.4], [0.6, 0.1, 0.3]])
    words = student.top_words(beta, ["cat", "dog", "eel"], 2)
    assert_close([list(map(str, row)) for row in words], [["dog", "eel"], ["cat", "eel"]],
                 name="top_words")


@question("q7")
def test_q7_equal_weights_give_one_third(student):
    if student.alpha_1 is Ellipsis:
        raise NotImplementedError("alpha_1")
    expr = sp.sympify(student.alpha_1)
    value = expr.subs({symbol: 2 for symbol in expr.free_symbols})
    assert_close(float(value), 1 / 3, name="alpha_1 at s1 = s2 = s3 = 2")


@question("q9")
def test_q9_figure_with_one_line(student):
    ll = np.array([-30.0, -20.0, -15.0, -14.0, -13.5])
    fig = student.plot_log_likelihood(ll)  # arrives as the figure's data, as the grader reads it
    assert_figure(fig, n_lines=1, line_length=5, monotone="increasing", name="your figure for 5 values")
