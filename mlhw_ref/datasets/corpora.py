"""Synthetic corpora drawn from a known PLSA model (for tests, grading and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["SyntheticCorpus", "sample_plsa_corpus"]

# Documents used to calibrate the mean length when a number of non-zeros is asked for.
_PILOT_DOCS = 128


@dataclass(frozen=True)
class SyntheticCorpus:
    """A corpus sampled from PLSA, with the parameters that generated it.

    Attributes
    ----------
    counts : scipy.sparse.csr_array of int64, shape (M, N)
        Word counts; every document has at least one word (a word may have no count).
    alpha : ndarray, shape (M, K)
        True ``P(z | d)``.
    beta : ndarray, shape (K, N)
        True ``P(w | z)``.
    """

    counts: sp.csr_array
    alpha: np.ndarray
    beta: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(M documents, N words)."""
        return self.counts.shape


def _expected_nnz(p: np.ndarray, length: float, scale: float) -> float:
    """Expected distinct (doc, word) pairs for docs with word probabilities ``p`` (m, N)."""
    # P(word j appears in a document of L tokens) = 1 - (1 - p)^L ≈ 1 - exp(-L p), stably.
    return -scale * float(np.expm1(-length * p).sum())


def _length_for_nnz(alpha: np.ndarray, beta: np.ndarray, nnz: int) -> float:
    """Mean document length whose expected number of non-zeros is about ``nnz``."""
    M, N = alpha.shape[0], beta.shape[1]
    m = min(M, _PILOT_DOCS)
    p = alpha[:m] @ beta  # (m, N): word distribution of each pilot document
    scale = M / m
    if nnz > M * N:
        raise ValueError(f"nnz={nnz} is more than the {M} x {N} = {M * N} cells of the matrix.")
    lo, hi = 1.0, 2.0
    while _expected_nnz(p, hi, scale) < nnz:
        lo, hi = hi, 2 * hi
        if hi > 1e12:
            raise ValueError(
                f"cannot reach nnz={nnz}: too few words have positive probability; raise "
                "topic_concentration or lower nnz."
            )
    # Newton's method on the increasing, concave E[nnz](L), kept inside [lo, hi] by bisection
    # where a step would leave it; to 1e-13 relative in a handful of steps (bisection to the
    # same precision evaluated the sum 40 times, a third of a second for 128 x 15,000).
    length = hi
    for _ in range(100):
        q = np.expm1(-length * p)  # (m, N)
        excess = -scale * float(q.sum()) - nnz
        lo, hi = (length, hi) if excess < 0 else (lo, length)
        slope = scale * float((p * (1.0 + q)).sum())  # d E[nnz] / dL
        step = excess / slope if slope > 0 else 0.0
        nxt = length - step if lo < length - step < hi else 0.5 * (lo + hi)
        if abs(nxt - length) <= 1e-13 * length or hi - lo <= 1e-13 * hi:
            return nxt
        length = nxt
    return hi


def sample_plsa_corpus(
    n_docs: int,
    n_words: int,
    n_topics: int,
    *,
    rng: np.random.Generator,
    doc_length: float | None = None,
    nnz: int | None = None,
    doc_concentration: float = 0.1,
    topic_concentration: float = 0.01,
) -> SyntheticCorpus:
    """Sample a document-term count matrix from a random PLSA model.

    ``alpha[i] ~ Dirichlet(doc_concentration)`` over K topics and
    ``beta[k] ~ Dirichlet(topic_concentration)`` over N words (small concentrations give
    sparse, well separated, recoverable topics). Document i has ``L_i = 1 + Poisson(L - 1)``
    tokens; each token draws a topic from ``alpha[i]`` and a word from that topic's ``beta``.
    Vectorised: one multinomial per document for the topic counts, then one inverse-CDF
    lookup per token, topic by topic (20,000 x 30,000 with 2M non-zeros takes a few seconds).

    Parameters
    ----------
    n_docs, n_words, n_topics : int
        M, N, K.
    rng : numpy.random.Generator
        The only source of randomness: the result is a function of its state.
    doc_length : float, optional
        Mean tokens per document L (>= 1). Default 100 when ``nnz`` is not given either.
    nnz : int, optional
        Instead of ``doc_length``: the number of non-zeros wanted. L is chosen so that the
        expected count of distinct (document, word) pairs is ``nnz``; the sample has about
        that many (within a few per cent for large corpora).
    doc_concentration, topic_concentration : float
        Dirichlet parameters (> 0) of the rows of alpha and beta.

    Returns
    -------
    SyntheticCorpus
        ``counts`` (M, N) CSR int64, true ``alpha`` (M, K) and ``beta`` (K, N).
    """
    M, N, K = int(n_docs), int(n_words), int(n_topics)
    if min(M, N, K) < 1:
        raise ValueError(f"n_docs, n_words, n_topics must be >= 1; got {M}, {N}, {K}.")
    if doc_concentration <= 0 or topic_concentration <= 0:
        raise ValueError(
            "doc_concentration and topic_concentration must be > 0; got "
            f"{doc_concentration}, {topic_concentration}."
        )
    if doc_length is not None and nnz is not None:
        raise ValueError("give doc_length or nnz, not both.")
    if doc_length is not None and not doc_length >= 1:
        raise ValueError(f"doc_length must be >= 1; got {doc_length}.")
    if nnz is not None and not nnz >= M:
        raise ValueError(f"nnz must be at least n_docs = {M} (no empty documents); got {nnz}.")

    alpha = rng.dirichlet(np.full(K, doc_concentration), size=M)  # (M, K)
    beta = rng.dirichlet(np.full(N, topic_concentration), size=K)  # (K, N)
    if nnz is not None:
        L = _length_for_nnz(alpha, beta, int(nnz))
    else:
        L = 100.0 if doc_length is None else float(doc_length)

    lengths = 1 + rng.poisson(L - 1, size=M)  # every document non-empty
    # renormalise in float64 so multinomial's sum(pvals[:-1]) <= 1 check cannot trip
    z_counts = rng.multinomial(lengths, alpha / alpha.sum(axis=1, keepdims=True))  # (M, K)

    cdf = np.cumsum(beta, axis=1)
    cdf /= cdf[:, -1:]  # exact 1.0 at the end whatever the rounding
    docs, words = [], []
    for k in range(K):  # loop over topics; tokens of one topic are drawn at once
        d = np.repeat(np.arange(M, dtype=np.int64), z_counts[:, k])
        w = np.searchsorted(cdf[k], rng.random(d.size), side="right")
        docs.append(d)
        words.append(np.minimum(w, N - 1))
    d = np.concatenate(docs)
    w = np.concatenate(words)
    counts = sp.csr_array(
        sp.coo_array((np.ones(d.size, dtype=np.int64), (d, w)), shape=(M, N)).tocsr()
    )  # tocsr sums the duplicate (doc, word) tokens into counts
    counts.sort_indices()
    return SyntheticCorpus(counts=counts, alpha=alpha, beta=beta)
