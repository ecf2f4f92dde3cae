"""Inputs the plsa_em suite draws, and the known mistakes it recognises.

Counts always cross the sandbox boundary as *dense* arrays: the protocol carries plain
NumPy arrays only (no scipy.sparse), so a "sparse" corpus is a dense array that is mostly
zeros, and the large corpus of question 5 travels as dense int16 (1,000 x 6,000 = 12 MB; its
counts stay below 20).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from autograder.checks import Mistake
from mlhw_ref import plsa as ref
from mlhw_ref.datasets.corpora import sample_plsa_corpus

# Question 5: an (M, N, K) float64 array would be 1,000 * 6,000 * 100 * 8 B = 4.8 GB, more
# than twice the worker's 2 GiB address-space cap (float32: 2.4 GB, still too much), while
# (M, N) arrays (48 MB in float64) fit. About 1% of the entries are non-zero. Many topics
# rather than many documents: the same 4.8 GB with a fifth of the counts to send (2,000 x
# 15,000 at K = 20 was 0.6 s of every grading, most of it moving the dense counts).
# Question 5 is about size (memory and time), not convergence, which question 4 grades: two
# iterations tell a fit through the (M, N, K) gamma (out of memory in the first) and a wrong
# update (O(1) off after one) from the reference as surely as ten, and the second starts
# from updated alpha and beta (a fit that keeps using the start shows there).
BIG_M, BIG_N, BIG_K, BIG_ITER = 1_000, 6_000, 100, 2
# The mean document length that gives about 60,000 non-zeros (1%): sample_plsa_corpus(...,
# nnz=60_000) finds it by Newton's method on every draw, 63.1-63.4 over seeds 0-19, a
# quarter of this corpus's 0.06 s; at this length seeds 0-19 give 59,660-60,456 non-zeros.
BIG_DOC_LENGTH = 63.25
# The corpus and start each grading process draws (and fits) once (60,474 non-zeros); every
# grading relabels its documents, words and topics.
BIG_SEED = 20_261_201


def distinct_sizes(rng: np.random.Generator) -> tuple[int, int, int]:
    """M documents, N words, K topics, all different (so a sum over the wrong axis shows)."""
    while True:
        M, N, K = int(rng.integers(4, 12)), int(rng.integers(6, 20)), int(rng.integers(2, 6))
        if len({M, N, K}) == 3:
            return M, N, K


def random_counts(rng: np.random.Generator, M: int, N: int, density: float = 0.6) -> np.ndarray:
    """Integer counts (M, N) with about ``density`` non-zeros; every row and column has one."""
    counts = rng.poisson(rng.uniform(0.5, 6.0, size=(M, 1)), size=(M, N)) + 1
    counts = counts * (rng.random((M, N)) < density)
    for i in np.flatnonzero(counts.sum(axis=1) == 0):
        counts[i, rng.integers(N)] = int(rng.integers(1, 5))
    for j in np.flatnonzero(counts.sum(axis=0) == 0):
        counts[rng.integers(M), j] = int(rng.integers(1, 5))
    return counts.astype(np.int64)


def random_params(rng: np.random.Generator, M: int, N: int, K: int) -> tuple[np.ndarray, np.ndarray]:
    """alpha (M, K) and beta (K, N) with unequal rows (Dirichlet of mixed concentration)."""
    alpha = rng.dirichlet(np.full(K, rng.uniform(0.3, 3.0)), size=M)
    beta = rng.dirichlet(np.full(N, rng.uniform(0.3, 3.0)), size=K)
    # keep every entry away from 0 so that logs and ratios are well conditioned
    alpha = (alpha + 1e-3) / (1 + K * 1e-3)
    beta = (beta + 1e-3) / (1 + N * 1e-3)
    return alpha, beta


def problem(rng: np.random.Generator, density: float = 0.6,
            sizes: tuple[int, int, int] | None = None) -> dict[str, np.ndarray]:
    """Counts (M, N), alpha (M, K), beta (K, N): a random problem of distinct sizes."""
    M, N, K = distinct_sizes(rng) if sizes is None else sizes
    alpha, beta = random_params(rng, M, N, K)
    return {"counts": random_counts(rng, M, N, density), "alpha": alpha, "beta": beta}


def with_zeros(rng: np.random.Generator, alpha: np.ndarray, beta: np.ndarray):
    """alpha and beta with some entries set to exactly 0 (rows renormalised).

    One document and one word are made to have no topic in common, so their joint
    probability sum_k alpha_ik beta_kj is exactly 0 too.
    """
    alpha, beta = alpha.copy(), beta.copy()
    alpha[rng.random(alpha.shape) < 0.3] = 0.0
    beta[rng.random(beta.shape) < 0.3] = 0.0
    K = alpha.shape[1]
    alpha[0, : K // 2 + 1] = 0.0  # document 0 uses only the last topics...
    alpha[0, -1] = 1.0
    beta[K // 2 + 1 :, 0] = 0.0  # ...and word 0 only the first ones
    beta[0, 0] = max(beta[0, 0], 0.1)
    for A in (alpha, beta):
        for row in np.flatnonzero(A.sum(axis=1) == 0):
            A[row, rng.integers(A.shape[1])] = 1.0
        A /= A.sum(axis=1, keepdims=True)
    return alpha, beta


@dataclass(frozen=True)
class BigProblem:
    """Question 5's problem of one grading: the counts (dense int16, as sent to the
    student), the start and the reference's fit from it."""

    counts: np.ndarray
    alpha0: np.ndarray
    beta0: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    ll: np.ndarray


@functools.lru_cache(maxsize=1)
def _big_fit() -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """(rows, columns, counts) of one question-5 corpus, ~1% non-zero, no empty row or
    column, and a random start with the reference's fit from it: drawn and fitted once per
    grading process (0.04 s to draw, most of it beta's Dirichlet draws; 0.03 s to fit)."""
    rng = np.random.default_rng(BIG_SEED)
    X = sample_plsa_corpus(BIG_M, BIG_N, BIG_K, doc_length=BIG_DOC_LENGTH, rng=rng).counts
    rows = np.repeat(np.arange(BIG_M), np.diff(X.indptr))
    empty = np.flatnonzero(np.bincount(X.indices, minlength=BIG_N) == 0)
    extra = rng.integers(BIG_M, size=empty.size)
    rows, cols = np.concatenate([rows, extra]), np.concatenate([X.indices, empty])
    data = np.concatenate([X.data, np.ones(empty.size, dtype=X.data.dtype)])
    if data.max() > np.iinfo(np.int16).max:  # never seen: counts stay below 20
        raise RuntimeError("the question-5 corpus has a count too large for int16")
    csr = sp.csr_array((data.astype(np.float64), (rows, cols)), shape=(BIG_M, BIG_N))
    csr.sum_duplicates()
    alpha0, beta0 = ref.random_start(BIG_M, BIG_N, BIG_K, rng)
    return rows, cols, data, (alpha0, beta0, *ref.fit_plsa(csr, alpha0, beta0, BIG_ITER))


@dataclass(frozen=True)
class Relabelling:
    """New labels for a problem's documents, words and topics: row r of the relabelled
    counts and alpha is document ``docs[r]``, and so on. EM commutes with relabelling (a
    PLSA sample relabelled is one too: the same sizes, counts and sparsity, elsewhere; a
    uniform start relabelled is one too), so a fit relabelled is the fit of the problem
    relabelled, up to the order of its sums: a fit made once serves every grading."""

    docs: np.ndarray
    words: np.ndarray
    topics: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, M: int, N: int, K: int) -> Relabelling:
        return cls(rng.permutation(M), rng.permutation(N), rng.permutation(K))

    def counts(self, counts: np.ndarray) -> np.ndarray:
        return counts[self.docs][:, self.words]

    def alpha(self, alpha: np.ndarray) -> np.ndarray:
        return alpha[self.docs][:, self.topics]

    def beta(self, beta: np.ndarray) -> np.ndarray:
        return beta[self.topics][:, self.words]


def big_problem(rng: np.random.Generator) -> BigProblem:
    """The question-5 problem of one grading: the process's corpus, start and fit,
    relabelled by ``rng``."""
    rows, cols, data, (alpha0, beta0, alpha, beta, ll) = _big_fit()
    new = Relabelling.draw(rng, BIG_M, BIG_N, BIG_K)
    counts = np.zeros((BIG_M, BIG_N), dtype=np.int16)  # the counts' new places, directly
    counts[np.argsort(new.docs)[rows], np.argsort(new.words)[cols]] = data
    return BigProblem(counts, new.alpha(alpha0), new.beta(beta0), new.alpha(alpha),
                      new.beta(beta), ll.copy())


# ------------------------------------------------------------------------------------------
# q1: known wrong log-likelihoods


def joint(alpha, beta) -> np.ndarray:
    """sum_k alpha_ik beta_kj, shape (M, N)."""
    return np.asarray(alpha, dtype=float) @ np.asarray(beta, dtype=float)


def loglik_mistakes(counts, alpha, beta) -> list[tuple[Mistake, float]]:
    n = np.asarray(counts, dtype=float)
    M = n.shape[0]
    p = joint(alpha, beta)
    nz = n > 0
    right = ref.log_likelihood(n, alpha, beta)
    return [
        (Mistake("dropped log(1/M)",
                 "you dropped the log(1/M) term: P(d_i, w_j) = (1/M) sum_k alpha_ik beta_kj, so "
                 "the log-likelihood includes -(sum_ij n_ij) log M (your value is larger by exactly "
                 "that)", None),
         right + n.sum() * np.log(M)),
        (Mistake("log of the weighted sum",
                 "you took the log of the count-weighted sum, log(sum_ij n_ij P(d_i, w_j)); the "
                 "counts weight the logs: sum_ij n_ij log P(d_i, w_j) (log of the sum over topics "
                 "inside, counts outside)", None),
         float(np.log(np.sum(n * p / M)))),
        (Mistake("log of the weighted sum, no 1/M",
                 "you took the log of the count-weighted sum, log(sum_ij n_ij sum_k alpha_ik "
                 "beta_kj); the counts weight the logs: sum_ij n_ij log((1/M) sum_k alpha_ik "
                 "beta_kj)", None),
         float(np.log(np.sum(n * p)))),
        (Mistake("count inside the log",
                 "you put the count inside the log, log(n_ij P(d_i, w_j)); the count multiplies "
                 "the log: sum_ij n_ij log P(d_i, w_j)", None),
         float(np.sum(np.log(n[nz] * p[nz] / M)))),
        (Mistake("sum of logs over topics",
                 "you summed the logs over topics, sum_k log(alpha_ik beta_kj); the log is of "
                 "the sum over topics: log sum_k alpha_ik beta_kj", None),
         float(np.sum(n[..., None] * np.log(alpha[:, None, :] * beta.T[None] / M)))),
    ]


# ------------------------------------------------------------------------------------------
# q2: gamma normalised over the wrong axis


def gamma_mistakes(alpha, beta) -> list[tuple[Mistake, np.ndarray]]:
    j = np.asarray(alpha, dtype=float)[:, None, :] * np.asarray(beta, dtype=float).T[None]
    return [
        (Mistake("normalised over documents",
                 "you normalised gamma over documents (axis 0): gamma_ijk = P(z_k | d_i, w_j) is "
                 "a distribution over topics, so divide by sum_k' alpha_ik' beta_k'j (sum over "
                 "the last axis)", None),
         j / j.sum(axis=0, keepdims=True)),
        (Mistake("normalised over words",
                 "you normalised gamma over words (axis 1): gamma_ijk = P(z_k | d_i, w_j) is a "
                 "distribution over topics, so divide by sum_k' alpha_ik' beta_k'j (sum over the "
                 "last axis)", None),
         j / j.sum(axis=1, keepdims=True)),
        (Mistake("not normalised",
                 "you did not normalise gamma: divide alpha_ik beta_kj by sum_k' alpha_ik' beta_k'j",
                 None), j),
    ]


def wrong_axis_sums(gamma: np.ndarray) -> str | None:
    """Name the axis a wrongly normalised gamma sums to 1 over, if any."""
    for axis, what in ((0, "documents (axis 0)"), (1, "words (axis 1)")):
        if np.allclose(gamma.sum(axis=axis), 1.0, rtol=1e-8, atol=1e-10):
            return f"your gamma sums to 1 over {what}: it must sum to 1 over topics (the last axis)"
    return None


# ------------------------------------------------------------------------------------------
# q3: known wrong M-steps


def _rows(A: np.ndarray) -> np.ndarray:
    return A / A.sum(axis=1, keepdims=True)


def mstep_mistakes(counts, gamma) -> dict[str, list[tuple[Mistake, np.ndarray]]]:
    """Per returned array ("alpha", "beta"): the mistakes and the values they give."""
    n = np.asarray(counts, dtype=float)
    weighted = n[:, :, None] * gamma
    no_counts = Mistake("forgot the counts",
                        "you forgot the counts in the M-step: alpha_ik is proportional to "
                        "sum_j n_ij gamma_ijk, and beta_kj to sum_i n_ij gamma_ijk (each "
                        "posterior weighted by how often the word occurs in the document)", None)
    over_docs = Mistake("alpha over documents",
                        "you normalised alpha over documents (its columns sum to 1): alpha_ik = "
                        "P(z_k | d_i) must sum to 1 over topics k for each document", None)
    beta_over_topics = Mistake("beta over topics",
                               "you normalised beta over topics (its columns sum to 1): beta_kj = "
                               "P(w_j | z_k) must sum to 1 over words j for each topic", None)
    S, T = weighted.sum(axis=1), weighted.sum(axis=0).T  # (M, K), (K, N)
    return {
        "alpha": [(no_counts, _rows(gamma.sum(axis=1))), (over_docs, S / S.sum(axis=0))],
        "beta": [(no_counts, _rows(gamma.sum(axis=0).T)), (beta_over_topics, T / T.sum(axis=0))],
    }


def expected_complete_loglik(counts, gamma, alpha, beta) -> float:
    """Q(alpha, beta) = sum_ijk n_ij gamma_ijk (log alpha_ik + log beta_kj) (1/M dropped)."""
    n = np.asarray(counts, dtype=float)
    w = n[:, :, None] * gamma
    with np.errstate(divide="ignore", invalid="ignore"):
        la = np.where(w.sum(axis=1) > 0, np.log(alpha), 0.0)
        lb = np.where(w.sum(axis=0).T > 0, np.log(beta), 0.0)
    return float(np.sum(w.sum(axis=1) * la) + np.sum(w.sum(axis=0).T * lb))
