"""Questions 4-6: EM from a given start, at a scale where (M, N, K) does not fit, on Reuters.

``fit_plsa`` may call the notebook's ``log_likelihood``, ``e_step`` and ``m_step``: a
mistake there is graded in questions 1-3. So each test that runs ``fit_plsa`` first grades
it as it is and, only after a failure, again with correct versions of the wrong ones among
those functions lent (helpers.py: as :func:`autograder.lending.graded_with_lent`, but run in
the sandbox, since their arguments are the fit's largest arrays); if it then passes it keeps
its points and says where the mistake is. Inputs are drawn before the first run, so both runs see the same.
"""

import functools

import numpy as np
import pytest
import scipy.sparse as sp

from autograder.checks import assert_close, describe_call
from autograder.errors import CheckFailed, StudentCrashed
from autograder.suites.plsa_em.helpers import graded_with_helpers_lent
from autograder.suites.plsa_em.inputs import (
    BIG_ITER,
    BIG_K,
    BIG_M,
    BIG_N,
    Relabelling,
    big_problem,
    random_counts,
)
from mlhw_ref.datasets.reuters import load_reuters
from mlhw_ref.plsa import fit_plsa, random_start

REFERENCE = "mlhw_ref.plsa"
# Per-call limits. Measured on 2 cores: the solution (numpy + scipy.sparse over the
# non-zeros) needs about 0.15 s for question 5 (three iterations; it has two now); a loop
# over topics with (M, N) arrays about 1.2 s (far more on a loaded machine);
# a fit through the dense (M, N, K) gamma must not lose question 6, only question 5: on
# Reuters it needs about 0.4 s per iteration (10 iterations in q6) and 5 s for the 200 on
# the first 40 documents.
SCALE_TIMEOUT = 60
REUTERS_TIMEOUT = 150
REUTERS_K, REUTERS_ITER, REUTERS_EARLY = 10, 200, 10
REUTERS_SLICE_DOCS = 40  # q6's long run: Reuters' first documents (see REUTERS_TOL)
REUTERS_SLICE_SEED = 20_261_203  # its start (relabelled per grading)
# The 10 iterations on all of Reuters start from one of REUTERS_STARTS starts, each fitted by
# the reference once per grading process, with the topics relabelled per grading (relabelling
# documents or words would mean sending Reuters' 13 MB to every worker again).
REUTERS_STARTS, REUTERS_START_SEED = 4, 20_261_204
# top_words' table: Reuters' beta after 10 iterations (fitted once per grading process from
# the start TOP_WORDS_SEED draws, relabelled and rescaled per grading), with a tie planted
# among one topic's top words.
TOP_WORDS_ITER, TOP_WORDS_SEED = 10, 20_261_202

HELPERS = {"log_likelihood": "q1", "e_step": "q2", "m_step": "q3"}
# At question 5's size a lent e_step would build the 4.8 GB gamma, and a fit through gamma
# cannot pass there anyway (memory): only the log-likelihood is lent.
SCALE_HELPERS = {"log_likelihood": "q1"}

# Question 5: alpha and beta first. A correct fit that guards a denominator (n / (p + 1e-10))
# moves them by up to 6e-5 relative on this corpus (measured, seeds 0-2), a wrong update by
# O(1); then ll, which such a fit moves by up to 1e-7 relative.
SCALE_RTOL, SCALE_LL_RTOL = 1e-3, 1e-6
# Question 6, per token and without the log(1/M) term (-5.98 nats per token on Reuters, which
# made "within 1%" loose). The long run (200 iterations) is on Reuters' first 40 documents: a
# fit through the dense gamma (a correct answer to q6) does all of Reuters in 60-90 s on a
# quiet machine, too close to the time limit on a loaded one, and a wrong e_step lent from the
# reference would move its 134 MB at every iteration. Measured there over seeds 0-19 after 200
# iterations: float64 fits agree with the reference to 1e-7 nats per token; float32 ones fall
# short by up to 7e-3 (small entries of beta underflow; hence 2e-2 for float32 results); the
# reference stopped after 150 iterations is up to 1e-2 short, after 20 at least 0.025, a fit
# that stops when ll gains less than 1e-5 relative at least 3e-3, one on binary counts 0.18. After 10 iterations on all of
# Reuters a beta update that uses the new alpha is off by 0.03-0.07; float32 by 1e-7.
REUTERS_TOL = {np.dtype(np.float64): 1e-4, np.dtype(np.float32): 2e-2}
REUTERS_EARLY_TOL = 1e-4


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


def _graded(student, ref, check, helpers=HELPERS):
    return graded_with_helpers_lent(student, ref, helpers, check, function="your fit_plsa")


def _single(*arrays) -> bool:
    """Whether a fit computed in float32 (any of its results is float32)."""
    return any(np.asarray(a).dtype == np.float32 for a in arrays)


def _assert_ll_close(ll, ll_ref, rtol, called, name="ll", single=False):
    """ll against the reference's, relative ``rtol`` (1e-6 at least for a float32 ll, or with
    ``single``: one computed in float64 from float32 alpha and beta carries their rounding),
    with enough digits to see the difference (the values are in the millions at question 5)."""
    got = np.asarray(ll, dtype=np.float64)
    rtol = max(rtol, 1e-6) if single or _single(ll) else rtol
    err = np.abs(got - ll_ref)
    bad = ~(err <= rtol * np.abs(ll_ref))
    if bad.any():
        t = int(np.argmax(np.where(bad, err / np.abs(ll_ref), -1.0)))
        where = f"{name}[{t}]" if ll_ref.size > 1 else name
        raise CheckFailed(f"{where} is {got[t]:.12g}; the reference gives {ll_ref[t]:.12g} (a difference "
                          f"of {got[t] - ll_ref[t]:.3g}, {err[t] / abs(ll_ref[t]):.2g} relative; allowed "
                          f"{rtol:g} relative)\n  called: {called}")


@pytest.mark.question("q4", points=6)
def test_q4_log_likelihood_never_decreases(student, ref, rng):
    """the log-likelihood recorded by fit_plsa never decreases (slack 1e-9 relative)"""
    counts, K = _corpus(rng)
    alpha0, beta0 = ref.random_start(*counts.shape, K, rng)

    def check(s):
        _, _, ll, called = _fit(s, counts, alpha0, beta0, 30)
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

    _graded(student, ref, check)


@pytest.mark.question("q4", points=4)
def test_q4_ll_length_and_first_entry(student, ref, rng):
    """ll has n_iter + 1 entries and ll[0] is the log-likelihood of the start (n_iter = 0, 1, 5)"""
    counts, K = _corpus(rng)
    alpha0, beta0 = ref.random_start(*counts.shape, K, rng)
    ll0 = np.array([ref.log_likelihood(counts, alpha0, beta0)])

    def check(s):
        for n_iter in (0, 1, 5):
            alpha, beta, ll, called = _fit(s, counts, alpha0, beta0, n_iter)
            _assert_ll_close(ll[:1], ll0, 1e-8, called, name="ll[0] (the log-likelihood of alpha0, beta0)",
                             single=_single(alpha, beta))
            if n_iter == 0:
                assert_close(alpha, alpha0, rtol=1e-10, name="alpha after 0 iterations", called=called)
                assert_close(beta, beta0, rtol=1e-10, name="beta after 0 iterations", called=called)

    _graded(student, ref, check)


@pytest.mark.question("q4", points=10)
def test_q4_matches_reference_run(student, ref, rng):
    """fit_plsa gives the reference's alpha, beta and ll after 25 iterations from the same start"""
    counts, K = _corpus(rng)
    alpha0, beta0 = ref.random_start(*counts.shape, K, rng)
    alpha_ref, beta_ref, ll_ref = ref.fit_plsa(counts, alpha0, beta0, 25)

    def check(s):
        alpha, beta, ll, called = _fit(s, counts, alpha0, beta0, 25)
        assert_close(alpha, alpha_ref, rtol=1e-6, atol=1e-9, name="alpha", called=called)
        assert_close(beta, beta_ref, rtol=1e-6, atol=1e-9, name="beta", called=called)
        _assert_ll_close(ll, ll_ref, 1e-8, called, single=_single(alpha, beta))

    _graded(student, ref, check)


@pytest.mark.question("q5", points=15)
def test_q5_fit_at_scale(student, ref, rng):
    """fit_plsa on a 1,000 x 6,000 corpus with K = 100 (no room for (M, N, K)) matches the reference"""
    big = big_problem(rng)

    def check(s):
        try:
            alpha, beta, ll, called = _fit(s, big.counts, big.alpha0, big.beta0, BIG_ITER,
                                           timeout=SCALE_TIMEOUT)
        except StudentCrashed as exc:
            if exc.kind != "memory":
                raise
            raise CheckFailed(
                f"{exc}. The corpus is {BIG_M:,} x {BIG_N:,} with K = {BIG_K}: an (M, N, K) float64 "
                f"array would take {BIG_M * BIG_N * BIG_K * 8 / 1e9:.1f} GB. Update alpha and beta "
                "without forming gamma — e.g. with r_ij = n_ij / sum_k alpha_ik beta_kj on the "
                "non-zero counts only") from None
        assert_close(alpha, big.alpha, rtol=SCALE_RTOL, atol=1e-9, name="alpha", called=called)
        assert_close(beta, big.beta, rtol=SCALE_RTOL, atol=1e-9, name="beta", called=called)
        _assert_ll_close(ll, big.ll, SCALE_LL_RTOL, called, single=_single(alpha, beta))

    _graded(student, ref, check, SCALE_HELPERS)


@functools.lru_cache(maxsize=1)  # the same for every submission graded by this process
def _reuters():
    """Reuters' counts as the dense array students get (read-only: sent to a worker once),
    its vocabulary, and the same counts as the float64 CSR the reference would make of
    them (made once here instead of in every reference call)."""
    data = load_reuters()
    dense = data.counts.toarray()
    dense.flags.writeable = False
    return dense, [str(w) for w in data.vocab], sp.csr_array(dense.astype(np.float64))


def _per_token(ref, counts, alpha, beta) -> float:
    """(1/T) sum_ij n_ij log sum_k alpha_ik beta_kj: the log-likelihood per token without its
    constant log(1/M), computed here (the student's own ll is not trusted for this)."""
    return ref.log_likelihood(counts, alpha, beta) / float(counts.sum()) + np.log(counts.shape[0])


def _probability_tables(alpha, beta, called):
    for name, arr in (("alpha", alpha), ("beta", beta)):
        if not (np.all(arr >= 0) and np.allclose(arr.sum(axis=1, dtype=np.float64), 1.0, atol=1e-5)):
            raise CheckFailed(f"the {name} returned on Reuters is not a probability table (rows must be "
                              f"non-negative and sum to 1)\n  called: {called}")


@functools.lru_cache(maxsize=REUTERS_STARTS)  # each fitted once per grading process
def _reuters_early_run(start: int):
    """Start number ``start`` on all of Reuters and the reference's per-token log-likelihood
    (without log(1/M)) after REUTERS_EARLY iterations from it."""
    counts, _, csr = _reuters()
    M, N = counts.shape
    alpha0, beta0 = random_start(M, N, REUTERS_K, np.random.default_rng([REUTERS_START_SEED, start]))
    ll = fit_plsa(csr, alpha0, beta0, REUTERS_EARLY)[2][REUTERS_EARLY]
    return alpha0, beta0, ll / float(csr.sum()) + np.log(M)


@pytest.mark.question("q6", points=3)
def test_q6_reuters_first_iterations(student, ref, rng):
    """Reuters, K = 10: after 10 iterations your alpha, beta give the reference's log-likelihood"""
    counts, _, csr = _reuters()
    alpha0, beta0, want = _reuters_early_run(int(rng.integers(REUTERS_STARTS)))
    topics = rng.permutation(REUTERS_K)  # EM commutes with relabelling the topics
    alpha0, beta0 = alpha0[:, topics], beta0[topics]

    def check(s):
        alpha, beta, _, called = _fit(s, counts, alpha0, beta0, REUTERS_EARLY, timeout=REUTERS_TIMEOUT)
        _probability_tables(alpha, beta, called)
        got = _per_token(ref, csr, alpha, beta)
        if not abs(got - want) <= REUTERS_EARLY_TOL:
            raise CheckFailed(
                f"on Reuters after {REUTERS_EARLY} iterations your alpha, beta give "
                f"(1/T) sum_ij n_ij log sum_k alpha_ik beta_kj = {got:.8f} nats per token (T tokens; "
                f"the constant log(1/M) left out); the reference from the same start gives {want:.8f} "
                f"(allowed: ±{REUTERS_EARLY_TOL:g}). Each iteration must be one exact EM step: gamma "
                "from the current alpha and beta, both updated from it (beta with the old alpha), "
                f"every posterior weighted by its count\n  called: {called}")

    _graded(student, ref, check)


@functools.lru_cache(maxsize=1)  # the same for every submission graded by this process
def _reuters_slice_run():
    """The first REUTERS_SLICE_DOCS documents and the words they use, a random start on
    them and the reference's per-token log-likelihood after each of REUTERS_ITER iterations
    from it (fitted once per grading process; each grading relabels the documents, words and
    topics)."""
    full = _reuters()[0]
    words = np.flatnonzero(full[:REUTERS_SLICE_DOCS].sum(axis=0) > 0)
    counts = full[:REUTERS_SLICE_DOCS][:, words]
    alpha0, beta0 = random_start(*counts.shape, REUTERS_K, np.random.default_rng(REUTERS_SLICE_SEED))
    trace = fit_plsa(counts, alpha0, beta0, REUTERS_ITER)[2] / float(counts.sum()) + np.log(counts.shape[0])
    return counts, alpha0, beta0, trace


@pytest.mark.question("q6", points=3)
def test_q6_reuters_log_likelihood(student, ref, rng):
    """Reuters' first 40 documents, K = 10, 200 iterations: your alpha, beta give the reference's per-token log-likelihood"""
    counts, alpha0, beta0, trace = _reuters_slice_run()
    new = Relabelling.draw(rng, *counts.shape, REUTERS_K)
    counts, alpha0, beta0 = new.counts(counts), new.alpha(alpha0), new.beta(beta0)
    want = trace[REUTERS_ITER]

    def check(s):
        alpha, beta, _, called = _fit(s, counts, alpha0, beta0, REUTERS_ITER, timeout=REUTERS_TIMEOUT)
        _probability_tables(alpha, beta, called)
        got = _per_token(ref, counts, alpha, beta)
        single = _single(alpha, beta)
        tol = REUTERS_TOL[np.dtype(np.float32 if single else np.float64)]
        if abs(got - want) <= tol:
            return
        t = int(np.argmin(np.abs(trace - got)))
        hint = (f"; that is where the reference is after {t} iterations: does your loop run all "
                "n_iter iterations?") if t < REUTERS_ITER and abs(trace[t] - got) <= tol else ""
        raise CheckFailed(
            f"on the first {REUTERS_SLICE_DOCS} Reuters documents after {REUTERS_ITER} iterations your "
            f"alpha, beta give (1/T) sum_ij n_ij log sum_k alpha_ik beta_kj = {got:.8f} nats per token "
            f"(T tokens; the constant log(1/M) left out); the reference from the same start reaches "
            f"{want:.8f} (allowed: ±{tol:g}{' for float32 results' if single else ''}){hint}\n"
            f"  called: {called}")

    _graded(student, ref, check)


def _as_word_lists(result, called):
    if isinstance(result, np.ndarray):
        result = result.tolist()
    if not isinstance(result, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in result):
        raise CheckFailed(f"top_words must return a list with one list of words per topic\n  called: {called}")
    return [[str(w) for w in row] for row in result]


def _check_top_words(got, beta, vocab, n, called):
    """Each row: the n most probable words, most probable first; words of equal probability
    may come in any order (on Reuters "parker" and "bowles" always occur together)."""
    index = {w: j for j, w in enumerate(vocab)}
    n = min(n, len(vocab))
    if len(got) != beta.shape[0]:
        raise CheckFailed(f"top_words returned {len(got)} lists; expected one per topic ({beta.shape[0]})"
                          f"\n  called: {called}")
    for k, row in enumerate(got):
        top = np.sort(beta[k])[::-1][:n]
        ok = (len(row) == n and len(set(row)) == n and all(w in index for w in row)
              and np.array_equal(beta[k, [index[w] for w in row]], top))
        if not ok:
            order = np.argsort(-beta[k], kind="stable")[:n]
            want = [vocab[j] for j in order]
            raise CheckFailed(f"top_words: topic {k} should be {want} (most probable first; words of "
                              f"equal probability in any order); you returned {row}\n  called: {called}")


@functools.lru_cache(maxsize=1)  # the same for every submission graded by this process
def _reuters_topics():
    """Reuters' beta after TOP_WORDS_ITER iterations from one fixed start. Each grading
    takes its topics in an order of its own and scales every probability by a random
    factor (rows renormalised), so that its top words are its own."""
    counts, _, csr = _reuters()
    alpha0, beta0 = random_start(*counts.shape, REUTERS_K, np.random.default_rng(TOP_WORDS_SEED))
    return fit_plsa(csr, alpha0, beta0, TOP_WORDS_ITER)[1]


def _tie_second_and_third(row):
    """Give a row's third most probable word the second's probability (row renormalised):
    a tie among the top words, as Reuters has ("parker" and "bowles" always occur together)."""
    top = np.argsort(-row)
    row[top[2]] = row[top[1]]
    row /= row.sum()


@pytest.mark.question("q6", points=4)
def test_q6_top_words_in_order(student, rng):
    """top_words returns each topic's n most probable words, most probable first"""
    vocab = _reuters()[1]
    beta = _reuters_topics()[rng.permutation(REUTERS_K)] * rng.uniform(0.7, 1.4, (REUTERS_K, len(vocab)))
    beta /= beta.sum(axis=1, keepdims=True)
    _tie_second_and_third(beta[int(rng.integers(REUTERS_K))])
    small_vocab = [f"w{j}" for j in rng.permutation(12)]
    small_beta = rng.dirichlet(np.ones(12), size=3)
    _tie_second_and_third(small_beta[0])
    for b, v, n in ((beta, vocab, 10), (small_beta, small_vocab, 4)):
        called = describe_call("top_words", {"beta": b, "vocab": v, "n": n})
        _check_top_words(_as_word_lists(student.top_words(b, v, n), called), b, v, n, called)
