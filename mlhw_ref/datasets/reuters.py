"""The Reuters corpus shipped by the ``lda`` package: 395 documents, 4,258 words, offline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Reuters", "load_reuters"]


@dataclass(frozen=True)
class Reuters:
    """Document-term counts of 395 Reuters news stories.

    Attributes
    ----------
    counts : scipy.sparse.csr_array of int64, shape (M, N) = (395, 4258)
        ``counts[i, j]`` = number of times word j occurs in document i. Every document and
        every word has at least one count.
    vocab : list of str, length N
    titles : list of str, length M
    """

    counts: sp.csr_array
    vocab: list[str]
    titles: list[str]

    def __post_init__(self) -> None:
        M, N = self.counts.shape
        if len(self.vocab) != N or len(self.titles) != M:
            raise ValueError(
                f"counts is {self.counts.shape} but there are {len(self.vocab)} words and "
                f"{len(self.titles)} titles."
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(M documents, N words)."""
        return self.counts.shape


def load_reuters() -> Reuters:
    """Load the Reuters corpus bundled with the ``lda`` package (no network).

    Returns
    -------
    Reuters
        ``counts`` (395, 4258) CSR int64, ``vocab`` (4258 words), ``titles`` (395 titles).
    """
    try:
        import lda.datasets
    except ImportError as e:  # pragma: no cover - lda is a declared dependency
        raise ImportError(
            "load_reuters needs the 'lda' package (it ships the Reuters corpus): "
            "pip install 'lda>=3.0.2'."
        ) from e
    X = np.asarray(lda.datasets.load_reuters(), dtype=np.int64)
    vocab = [str(w) for w in lda.datasets.load_reuters_vocab()]
    titles = [str(t) for t in lda.datasets.load_reuters_titles()]
    counts = sp.csr_array(X)
    counts.sort_indices()
    return Reuters(counts=counts, vocab=vocab, titles=titles)
