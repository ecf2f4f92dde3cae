"""Questions 4-6: EM from a given start, at a scale where (M, N, K) does not fit, on Reuters."""

import functools

import numpy as np
import pytest

from autograder.checks import assert_close, describe_call
from autograder.errors import CheckFailed, StudentCrashed
from autograder.suites.plsa_em.inputs import (
    BIG_ITER,
    BIG_K,
    BIG_M,
    BIG_N,
    big_corpus,
    random_counts,
)
from mlhw_ref.datasets.reuters import load_reuters

REFERENCE = "mlhw_ref.plsa"
# Per-call limits. Measured on 2 busy cores: the solution (numpy + scipy.sparse over the
# non-zeros) needs about 2 s for question 5 and 2 s for question 6; a loop over topics with
# (M, N) arrays about 10 s and 15 s; a fit through the dense (M, N, K) gamma is fine for
# Reuters (60-90 s: it must not lose question 6, only question 5).
SCALE_TIMEOUT = 60
REUTERS_TIMEOUT = 150
REUTERS_K, REUTERS_ITER = 10, 200


def _corpus(rng):
    M, N, K = int(rng.integers(15, 40)), int(rng.integers(30, 80)), int(rng.integers(3, 7))
    counts = random_counts(rng, M, N, density=0.3)
    return counts, K


def _fit(student, counts, alpha0, beta0, n_iter, timeout=None):
    called = describe_call("fit_plsa", {"counts": counts, "alpha0": alpha0, "beta0": beta0,
                                        "n_iter": n_iter})
    f = student.fit_plsa if timeout is None else student.fit_plsa.with_timeout(timeout)
    out = f(counts, alpha0, beta0, n_iter)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise CheckFailed(f"fit_plsa must return a tuple (alpha, beta, ll)\n  called: {called}")
    alpha, beta, ll = out
    M, K = alpha0.shape
    N = beta0.shape[1]
    for name, arr, shape in (("alpha", alpha, (M, K)), ("beta", beta, (K, N))):
        if not isinstance(arr, np.ndarray) or arr.shape != shape:
            got = f"shape {arr.shape}" if isinstance(arr, np.ndarray) else f"a {type(arr).__name__}"
            raise CheckFailed(f"fit_plsa returned {name} with {got}; expected {shape}\n  called: {called}")
    try:
        ll = np.asarray(ll)
        if ll.dtype != np.float32:  # float32 stays float32, so that comparisons allow for it
            ll = ll.astype(np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"fit_plsa returned ll that is not a sequence of numbers\n  called: {called}") from None
    if ll.shape != (n_iter + 1,):
        raise CheckFailed(f"fit_plsa(..., n_iter={n_iter}) returned ll of shape {ll.shape}; expected "
                          f"({n_iter + 1},): the log-likelihood before the first iteration and after "
                          f"each of the {n_iter}\n  called: {called}")
    return alpha, beta, ll, called


@pytest.mark.question("q4", points=6)
def test_q4_log_likelihood_never_decreases(student, ref, rng):
    """the log-likelihood recorded by fit_plsa never decreases (slack 1e-9 relative)"""
    counts, K = _corpus(rng)
    alpha0, beta0 = ref.random_start(*counts.shape, K, rng)
    _, _, ll, called = _fit(student, counts, alpha0, beta0, 30)
    if not np.all(np.isfinite(ll)):
        raise CheckFailed(f"ll holds NaN or inf (first at iteration {int(np.argmin(np.isfinite(ll)))})"
                          f"\n  called: {called}")
    steps = np.diff(ll.astype(np.float64))
    slack = (1e-6 if ll.dtype == np.float32 else 1e-9) * np.maximum(1.0, np.abs(ll[1:]))
    if np.any(steps < -slack):
        t = int(np.argmax(steps < -slack)) + 1
        raise CheckFailed(f"the log-likelihood decreased at iteration {t}: ll[{t - 1}] = {ll[t - 1]:.12g}, "
                          f"ll[{t}] = {ll[t]:.12g}; EM never decreases it (is the M-step using the "
                          f"posterior of the current parameters?)\n  called: {called}")


@pytest.mark.question("q4", points=4)
def test_q4_ll_length_and_first_entry(student, ref, rng):
    """ll has n_iter + 1 entries and ll[0] is the log-likelihood of the start (n_iter = 0, 1, 5)"""
    counts, K = _corpus(rng)
    alpha0, beta0 = ref.random_start(*counts.shape, K, rng)
    for n_iter in (0, 1, 5):
        alpha, beta, ll, called = _fit(student, counts, alpha0, beta0, n_iter)
        assert_close(ll[:1], np.array([ref.log_likelihood(counts, alpha0, beta0)]), rtol=1e-8,
                     name="ll[0] (the log-likelihood of alpha0, beta0)", called=called)
        if n_iter == 0:
            assert_close(alpha, alpha0, rtol=1e-10, name="alpha after 0 iterations", called=called)
            assert_close(beta, beta0, rtol=1e-10, name="beta after 0 iterations", called=called)


@pytest.mark.question("q4", points=10)
def test_q4_matches_reference_run(student, ref, rng):
    """fit_plsa gives the reference's alpha, beta and ll after 25 iterations from the same start"""
    counts, K = _corpus(rng)
    alpha0, beta0 = ref.random_start(*counts.shape, K, rng)
    alpha, beta, ll, called = _fit(student, counts, alpha0, beta0, 25)
    alpha_ref, beta_ref, ll_ref = ref.fit_plsa(counts, alpha0, beta0, 25)
    assert_close(ll, ll_ref, rtol=1e-8, name="ll", called=called)
    assert_close(alpha, alpha_ref, rtol=1e-6, atol=1e-9, name="alpha", called=called)
    assert_close(beta, beta_ref, rtol=1e-6, atol=1e-9, name="beta", called=called)


@pytest.mark.question("q5", points=15)
def test_q5_fit_at_scale(student, ref, rng):
    """fit_plsa on a 2,000 x 15,000 corpus with K = 20 (no room for (M, N, K)) matches the reference"""
    counts, csr = big_corpus(rng)
    alpha0, beta0 = ref.random_start(BIG_M, BIG_N, BIG_K, rng)
    try:
        alpha, beta, ll, called = _fit(student, counts, alpha0, beta0, BIG_ITER, timeout=SCALE_TIMEOUT)
    except StudentCrashed as exc:
        if exc.kind != "memory":
            raise
        raise CheckFailed(
            f"{exc}. The corpus is {BIG_M:,} x {BIG_N:,} with K = {BIG_K}: an (M, N, K) float64 "
            f"array would take {BIG_M * BIG_N * BIG_K * 8 / 1e9:.1f} GB. Update alpha and beta "
            "without forming gamma — e.g. with r_ij = n_ij / sum_k alpha_ik beta_kj on the "
            "non-zero counts only") from None
    alpha_ref, beta_ref, ll_ref = ref.fit_plsa(csr, alpha0, beta0, BIG_ITER)
    assert_close(ll, ll_ref, rtol=1e-8, name="ll", called=called)
    assert_close(alpha, alpha_ref, rtol=1e-5, atol=1e-9, name="alpha", called=called)
    assert_close(beta, beta_ref, rtol=1e-5, atol=1e-9, name="beta", called=called)


@functools.lru_cache(maxsize=1)  # the same for every submission graded by this process
def _reuters():
    data = load_reuters()
    return data.counts.toarray(), [str(w) for w in data.vocab]


@pytest.mark.question("q6", points=6)
def test_q6_reuters_log_likelihood(student, ref, rng):
    """Reuters, K = 10, 200 iterations: per-token log-likelihood within 1% of the reference's"""
    counts, _ = _reuters()
    M, N = counts.shape
    alpha0, beta0 = ref.random_start(M, N, REUTERS_K, rng)
    alpha, beta, _, called = _fit(student, counts, alpha0, beta0, REUTERS_ITER, timeout=REUTERS_TIMEOUT)
    for name, arr in (("alpha", alpha), ("beta", beta)):
        if not (np.all(arr >= 0) and np.allclose(arr.sum(axis=1, dtype=np.float64), 1.0, atol=1e-5)):
            raise CheckFailed(f"the {name} returned on Reuters is not a probability table (rows must be "
                              f"non-negative and sum to 1)\n  called: {called}")
    tokens = float(counts.sum())
    # computed here from the returned parameters: the student's own ll is not trusted for this
    got = ref.log_likelihood(counts, alpha, beta) / tokens
    want = ref.fit_plsa(counts, alpha0, beta0, REUTERS_ITER)[2][-1] / tokens
    if not abs(got - want) <= 0.01 * abs(want):
        raise CheckFailed(f"on Reuters after {REUTERS_ITER} iterations your alpha, beta give a per-token "
                          f"log-likelihood of {got:.6g}; the reference from the same start reaches "
                          f"{want:.6g} (allowed: within 1%)\n  called: {called}")


def _as_word_lists(result, called):
    if isinstance(result, np.ndarray):
        result = result.tolist()
    if not isinstance(result, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in result):
        raise CheckFailed(f"top_words must return a list with one list of words per topic\n  called: {called}")
    return [[str(w) for w in row] for row in result]


@pytest.mark.question("q6", points=4)
def test_q6_top_words_in_order(student, ref, rng):
    """top_words returns each topic's n most probable words, most probable first"""
    counts, vocab = _reuters()
    M, N = counts.shape
    alpha0, beta0 = ref.random_start(M, N, REUTERS_K, rng)
    beta = ref.fit_plsa(counts, alpha0, beta0, 50)[1]
    small_vocab = [f"w{j}" for j in rng.permutation(12)]
    small_beta = rng.dirichlet(np.ones(12), size=3)
    for b, v, n in ((beta, vocab, 10), (small_beta, small_vocab, 4)):
        called = describe_call("top_words", {"beta": b, "vocab": v, "n": n})
        got = _as_word_lists(student.top_words(b, v, n), called)
        want = ref.top_words(b, v, n)
        if got != want:
            bad = next(k for k in range(len(want)) if k >= len(got) or got[k] != want[k])
            shown = got[bad] if bad < len(got) else "nothing"
            raise CheckFailed(f"top_words: topic {bad} should be {want[bad]} (most probable first); "
                              f"you returned {shown}\n  called: {called}")
