"""Tests of the PLSA reference (mlhw_ref.plsa and its numba engine mlhw_ref.plsa_fast)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from scipy.optimize import linear_sum_assignment

from mlhw_ref import plsa, plsa_fast
from mlhw_ref.datasets.corpora import sample_plsa_corpus
from mlhw_ref.datasets.reuters import load_reuters

ENGINES = ["numpy", "numba"]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------
# independent, loop-based versions of the formulas (written from the assignment's text)


def loop_log_likelihood(n, alpha, beta):
    M, N = n.shape
    total = 0.0
    for i in range(M):
        for j in range(N):
            if n[i, j] > 0:
                total += n[i, j] * np.log(
                    sum(alpha[i, k] * beta[k, j] for k in range(len(beta))) / M
                )
    return total


def loop_em(n, alpha, beta):
    """One EM iteration with explicit loops; uniform posterior where sum_k alpha beta = 0."""
    M, N = n.shape
    K = beta.shape[0]
    a_new = np.zeros((M, K))
    b_new = np.zeros((K, N))
    for i in range(M):
        for j in range(N):
            w = alpha[i] * beta[:, j]
            g = w / w.sum() if w.sum() > 0 else np.full(K, 1.0 / K)
            a_new[i] += n[i, j] * g
            b_new[:, j] += n[i, j] * g
    for A in (a_new, b_new):
        for row in A:
            s = row.sum()
            row[:] = row / s if s > 0 else 1.0 / row.size
    return a_new, b_new


@st.composite
def problems(draw, max_m=7, max_n=9, max_k=4, zeros=True):
    """Small count matrices with random starts; sometimes with zeros in the start."""
    M = draw(st.integers(1, max_m))
    N = draw(st.integers(1, max_n))
    K = draw(st.integers(1, max_k))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = rng.poisson(draw(st.sampled_from([0.3, 1.0, 4.0])), size=(M, N)).astype(float)
    n[rng.integers(M), rng.integers(N)] += 1  # at least one count
    alpha, beta = plsa.random_start(M, N, K, rng)
    if zeros and draw(st.booleans()):
        alpha[rng.random((M, K)) < 0.3] = 0.0
        beta[rng.random((K, N)) < 0.3] = 0.0
    return n, alpha, beta


def objective_q(n, gamma, alpha, beta):
    """Expected complete log-likelihood sum_ijk n_ij gamma_ijk (log alpha_ik + log beta_kj)."""
    w = n[:, :, None] * gamma
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 * log 0 is masked out below
        la, lb = np.log(alpha), np.log(beta)
        terms = w * (la[:, None, :] + lb.T[None, :, :])
    return float(np.where(w > 0, terms, 0.0).sum())


# ---------------------------------------------------------------------------------------
# log_likelihood


@FAST
@given(problems(zeros=False))
def test_log_likelihood_matches_loop_formula_dense_and_sparse(problem):
    n, alpha, beta = problem
    expected = loop_log_likelihood(n, alpha, beta)
    for counts in (n, sp.csr_array(n), sp.coo_matrix(n), n.astype(np.int64)):
        got = plsa.log_likelihood(counts, alpha, beta)
        assert isinstance(got, float)
        assert got == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_log_likelihood_keeps_the_one_over_m_term():
    n = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    alpha = np.full((3, 1), 1.0)
    beta = np.array([[0.5, 0.5]])
    # every non-zero pair has P(d, w) = (1/3)(1/2)
    assert plsa.log_likelihood(n, alpha, beta) == pytest.approx(5 * np.log(1 / 6), rel=1e-14)


def test_log_likelihood_is_minus_inf_when_a_count_has_zero_probability():
    n = np.array([[1.0, 1.0]])
    alpha = np.array([[1.0, 0.0]])
    beta = np.array([[1.0, 0.0], [0.0, 1.0]])
    with np.errstate(all="raise"):
        assert plsa.log_likelihood(n, alpha, beta) == -np.inf
    # a zero count where the probability is 0 contributes nothing
    n0 = np.array([[1.0, 0.0]])
    assert plsa.log_likelihood(n0, alpha, beta) == pytest.approx(0.0)


def test_log_likelihood_rejects_bad_input_with_a_useful_message():
    alpha, beta = plsa.random_start(3, 4, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(3, 5\)"):
        plsa.log_likelihood(np.ones((3, 5)), alpha, beta)
    with pytest.raises(ValueError, match="non-negative"):
        plsa.log_likelihood(-np.ones((3, 4)), alpha, beta)
    with pytest.raises(ValueError, match="topics K differ"):
        plsa.log_likelihood(np.ones((3, 4)), alpha, beta[:1])


# ---------------------------------------------------------------------------------------
# e_step / m_step


@FAST
@given(problems())
def test_e_step_normalises_over_topics_without_nan(problem):
    _, alpha, beta = problem
    with np.errstate(all="raise"):
        gamma = plsa.e_step(alpha, beta)
    M, K = alpha.shape
    assert gamma.shape == (M, beta.shape[1], K)
    assert np.all(np.isfinite(gamma)) and np.all(gamma >= 0)
    np.testing.assert_allclose(gamma.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    joint = alpha[:, None, :] * beta.T[None, :, :]
    denom = joint.sum(axis=2)
    ok = denom > 0
    np.testing.assert_allclose(
        gamma[ok], (joint / np.where(ok, denom, 1)[..., None])[ok], rtol=1e-12
    )
    np.testing.assert_array_equal(gamma[~ok], 1.0 / K)  # the documented convention


@FAST
@given(problems())
def test_e_step_then_m_step_equals_loop_em(problem):
    n, alpha, beta = problem
    a_new, b_new = plsa.m_step(n, plsa.e_step(alpha, beta))
    a_ref, b_ref = loop_em(n, alpha, beta)
    np.testing.assert_allclose(a_new, a_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b_new, b_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a_new.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(b_new.sum(axis=1), 1.0, atol=1e-12)


@FAST
@given(problems(zeros=False), st.integers(0, 2**32 - 1))
def test_m_step_is_the_argmax_of_the_expected_complete_log_likelihood(problem, seed):
    n, alpha, beta = problem
    rng = np.random.default_rng(seed)
    gamma = plsa.e_step(alpha, beta)
    a_hat, b_hat = plsa.m_step(n, gamma)
    best = objective_q(n, gamma, a_hat, b_hat)
    for _ in range(5):
        t = rng.uniform(1e-3, 0.5)
        # random points of the simplex with the shapes of alpha (M, K) and beta (K, N)
        a_alt = (1 - t) * a_hat + t * plsa.random_start(a_hat.shape[0], 1, a_hat.shape[1], rng)[0]
        b_alt = (1 - t) * b_hat + t * plsa.random_start(b_hat.shape[0], 1, b_hat.shape[1], rng)[0]
        for a, b in ((a_alt, b_hat), (a_hat, b_alt), (a_alt, b_alt)):
            assert objective_q(n, gamma, a, b) <= best + 1e-9 * (1 + abs(best))


def test_m_step_weights_by_counts():
    """Same posterior, different counts -> different alpha (the counts must be used)."""
    gamma = np.zeros((1, 2, 2))
    gamma[0, 0] = [1.0, 0.0]
    gamma[0, 1] = [0.0, 1.0]
    a1, _ = plsa.m_step(np.array([[3.0, 1.0]]), gamma)
    np.testing.assert_allclose(a1, [[0.75, 0.25]])


def test_m_step_rejects_mismatched_gamma():
    with pytest.raises(ValueError, match=r"gamma must be \(M, N, K\)"):
        plsa.m_step(np.ones((2, 3)), np.ones((3, 2, 1)))


# ---------------------------------------------------------------------------------------
# fit_plsa: the sparse EM equals the dense one, for both engines


@FAST
@given(problems(), st.integers(0, 6), st.sampled_from(ENGINES), st.booleans())
def test_fit_plsa_equals_repeated_dense_e_and_m_steps(problem, n_iter, engine, sparse_input):
    n, alpha0, beta0 = problem
    counts = sp.csr_array(n) if sparse_input else n
    alpha, beta, ll = plsa.fit_plsa(counts, alpha0, beta0, n_iter, engine=engine)
    a, b = alpha0, beta0
    expected = [plsa.log_likelihood(n, a, b)]
    for _ in range(n_iter):
        a, b = plsa.m_step(n, plsa.e_step(a, b))
        expected.append(plsa.log_likelihood(n, a, b))
    assert ll.shape == (n_iter + 1,)
    np.testing.assert_allclose(alpha, a, rtol=0, atol=1e-10)
    np.testing.assert_allclose(beta, b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ll, expected, rtol=1e-10, atol=1e-10)


@FAST
@given(problems(max_m=12, max_n=40, max_k=6), st.integers(1, 4))
def test_numba_tiles_do_not_change_the_result(problem, tile_words):
    """Tiny column tiles (several blocks per row) give the same fit as one tile."""
    n, alpha0, beta0 = problem
    K = alpha0.shape[1]
    saved = plsa_fast.TILE_BYTES
    try:
        plsa_fast.TILE_BYTES = 16 * K * tile_words
        tiled = plsa.fit_plsa(n, alpha0, beta0, 3, engine="numba")
    finally:
        plsa_fast.TILE_BYTES = saved
    plain = plsa.fit_plsa(n, alpha0, beta0, 3, engine="numpy")
    for x, y in zip(tiled, plain, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def reuters():
    return load_reuters()


def test_engines_agree_on_reuters(reuters):
    M, N = reuters.shape
    alpha0, beta0 = plsa.random_start(M, N, 10, np.random.default_rng(7))
    fits = [plsa.fit_plsa(reuters.counts, alpha0, beta0, 15, engine=e) for e in ENGINES]
    for x, y in zip(*fits, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


def test_log_likelihood_never_decreases_on_reuters_k10_200_iterations(reuters):
    M, N = reuters.shape
    alpha0, beta0 = plsa.random_start(M, N, 10, np.random.default_rng(0))
    alpha, beta, ll = plsa.fit_plsa(reuters.counts, alpha0, beta0, 200)
    assert ll.shape == (201,)
    assert np.all(np.isfinite(ll))
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))
    assert ll[-1] > ll[0]
    # the returned ll is the log-likelihood of the returned parameters
    assert ll[-1] == pytest.approx(plsa.log_likelihood(reuters.counts, alpha, beta), rel=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", [0, 1])
def test_log_likelihood_never_decreases_on_synthetic_corpora(engine, seed):
    rng = np.random.default_rng(seed)
    corpus = sample_plsa_corpus(150, 300, 6, rng=rng, doc_length=60)
    alpha0, beta0 = plsa.random_start(150, 300, 6, rng)
    _, _, ll = plsa.fit_plsa(corpus.counts, alpha0, beta0, 200, engine=engine)
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_the_topics_of_a_known_model(seed):
    rng = np.random.default_rng(seed)
    M, N, K = 300, 100, 4
    corpus = sample_plsa_corpus(M, N, K, rng=rng, doc_length=100, topic_concentration=0.05)
    # EM finds a local optimum: keep the best of three random starts, as one would in practice
    fits = [plsa.fit_plsa(corpus.counts, *plsa.random_start(M, N, K, rng), 300) for _ in range(3)]
    _, beta, _ = max(fits, key=lambda f: f[2][-1])
    tv = 0.5 * np.abs(beta[:, None, :] - corpus.beta[None, :, :]).sum(axis=2)  # (K, K)
    rows, cols = linear_sum_assignment(tv)
    assert tv[rows, cols].mean() < 0.1


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["dense", "csr", "csc"])
def test_fit_plsa_does_not_mutate_its_inputs(engine, kind):
    rng = np.random.default_rng(3)
    n = rng.poisson(1.0, (6, 8)).astype(float)
    counts = {"dense": n, "csr": sp.csr_array(n), "csc": sp.csc_matrix(n)}[kind]
    alpha0, beta0 = plsa.random_start(6, 8, 3, rng)
    before = [alpha0.copy(), beta0.copy(), sp.csr_array(counts).toarray()]
    for n_iter in (0, 3):
        alpha, beta, _ = plsa.fit_plsa(counts, alpha0, beta0, n_iter, engine=engine)
        assert alpha is not alpha0 and beta is not beta0
    np.testing.assert_array_equal(alpha0, before[0])
    np.testing.assert_array_equal(beta0, before[1])
    np.testing.assert_array_equal(sp.csr_array(counts).toarray(), before[2])


@pytest.mark.parametrize("engine", ENGINES)
def test_non_canonical_sparse_input_is_read_correctly_and_left_alone(engine):
    """Unsorted indices, duplicate entries and explicit zeros, as scipy allows."""
    data = np.array([1.0, 0.0, 2.0, 1.0, 3.0, 1.0])
    indices = np.array([2, 0, 1, 2, 0, 2], dtype=np.int32)
    indptr = np.array([0, 3, 6], dtype=np.int32)
    X = sp.csr_matrix((data, indices, indptr), shape=(2, 3))
    saved = [a.copy() for a in (X.data, X.indices, X.indptr)]
    dense = np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 2.0]])  # what X means
    alpha0, beta0 = plsa.random_start(2, 3, 2, np.random.default_rng(8))
    # P(w_0 | d_0) = 0: harmless, since the explicit zero stored there is no occurrence
    alpha0[0] = [1.0, 0.0]
    beta0[0] = [0.0, 0.5, 0.5]
    got = plsa.fit_plsa(X, alpha0, beta0, 4, engine=engine)
    assert np.all(np.isfinite(got[2]))
    want = plsa.fit_plsa(dense, alpha0, beta0, 4, engine="numpy")
    for x, y in zip(got, want, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)
    for before, after in zip(saved, (X.data, X.indices, X.indptr), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_word_that_never_occurs_gets_probability_zero_not_nan(engine):
    rng = np.random.default_rng(4)
    n = rng.poisson(2.0, (5, 7)).astype(float) + 1
    n[:, 3] = 0
    alpha0, beta0 = plsa.random_start(5, 7, 3, rng)
    with np.errstate(all="raise"):
        alpha, beta, ll = plsa.fit_plsa(sp.csr_array(n), alpha0, beta0, 5, engine=engine)
    assert np.all(np.isfinite(alpha)) and np.all(np.isfinite(beta)) and np.all(np.isfinite(ll))
    np.testing.assert_array_equal(beta[:, 3], 0.0)
    np.testing.assert_allclose(beta.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_fit_plsa_recovers_from_a_start_with_zero_probability_pairs(engine):
    n = np.array([[2.0, 1.0], [1.0, 3.0]])
    alpha0 = np.array([[1.0, 0.0], [0.0, 1.0]])
    beta0 = np.array([[1.0, 0.0], [0.0, 1.0]])  # P(w_1 | d_0) = 0 although n_01 = 1
    _, _, ll = plsa.fit_plsa(n, alpha0, beta0, 3, engine=engine)
    assert ll[0] == -np.inf
    assert np.all(np.isfinite(ll[1:])) and np.all(np.diff(ll[1:]) >= -1e-12)


def test_numpy_engine_memory_stays_proportional_to_nnz():
    """3,000 x 20,000, K = 20, ~1% non-zero: an (M, N, K) array would be 9.6 GB."""
    rng = np.random.default_rng(5)
    M, N, K = 3000, 20000, 20
    X = sp.random_array(
        (M, N),
        density=0.01,
        format="csr",
        rng=rng,
        data_sampler=lambda size: rng.integers(1, 4, size),
    )
    alpha0, beta0 = plsa.random_start(M, N, K, rng)
    inputs = X.data.nbytes + X.indices.nbytes + (M + N) * K * 8
    tracemalloc.start()
    try:
        plsa.fit_plsa(X, alpha0, beta0, 2, engine="numpy")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # O((M + N) K + nnz) plus the fixed-size gather blocks (2 x 65,536 x K floats)
    assert peak < 12 * inputs + 2 * 65536 * K * 8 * 2


def test_fit_plsa_rejects_bad_arguments():
    alpha0, beta0 = plsa.random_start(2, 3, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="engine"):
        plsa.fit_plsa(np.ones((2, 3)), alpha0, beta0, 1, engine="gpu")
    with pytest.raises(ValueError, match="n_iter"):
        plsa.fit_plsa(np.ones((2, 3)), alpha0, beta0, -1)
    with pytest.raises(ValueError, match="NaN"):
        plsa.fit_plsa(np.ones((2, 3)), np.full((2, 2), np.nan), beta0, 1)


# ---------------------------------------------------------------------------------------
# random_start, top_words, plot_log_likelihood


def test_random_start_is_on_the_simplex_and_deterministic():
    a1, b1 = plsa.random_start(4, 6, 3, np.random.default_rng(9))
    a2, b2 = plsa.random_start(4, 6, 3, np.random.default_rng(9))
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)
    assert a1.shape == (4, 3) and b1.shape == (3, 6)
    assert np.all(a1 > 0) and np.all(b1 > 0)
    np.testing.assert_allclose(a1.sum(axis=1), 1.0)
    np.testing.assert_allclose(b1.sum(axis=1), 1.0)


@given(st.integers(1, 6), st.integers(1, 30), st.integers(1, 12), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_top_words_lists_the_most_probable_words_first(K, N, n, seed):
    rng = np.random.default_rng(seed)
    beta = rng.permuted(np.tile(np.arange(1.0, N + 1), (K, 1)), axis=1)  # distinct per row
    beta /= beta.sum(axis=1, keepdims=True)
    vocab = [f"w{j}" for j in range(N)]
    top = plsa.top_words(beta, vocab, n=n)
    assert len(top) == K
    for k, words in enumerate(top):
        assert len(words) == min(n, N)
        probs = [beta[k, vocab.index(w)] for w in words]
        assert probs == sorted(probs, reverse=True)
        # nothing left out is more probable than the last word listed
        assert probs[-1] >= np.sort(beta[k])[::-1][len(words) - 1]


def test_top_words_on_reuters_topics_come_from_the_vocabulary(reuters):
    M, N = reuters.shape
    _, beta, _ = plsa.fit_plsa(
        reuters.counts, *plsa.random_start(M, N, 10, np.random.default_rng(0)), 30
    )
    top = plsa.top_words(beta, reuters.vocab)
    assert len(top) == 10 and all(len(t) == 10 and len(set(t)) == 10 for t in top)
    assert {w for words in top for w in words} <= set(reuters.vocab)


def test_top_words_rejects_a_vocabulary_of_the_wrong_length():
    with pytest.raises(ValueError, match="len\\(vocab\\)"):
        plsa.top_words(np.ones((2, 3)) / 3, ["a", "b"])


def test_plot_log_likelihood_draws_ll_against_iteration():
    ll = np.cumsum(np.r_[-100.0, np.geomspace(10, 0.1, 20)])
    fig = plsa.plot_log_likelihood(ll)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(ll.size))
    np.testing.assert_array_equal(line.get_ydata(), ll)
    assert "iteration" in ax.get_xlabel().lower() and "likelihood" in ax.get_ylabel().lower()
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plsa.plot_log_likelihood([])
