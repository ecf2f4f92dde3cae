"""Tests of the PLSA corpora: the Reuters loader and the synthetic PLSA sampler."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlhw_ref.datasets.corpora import SyntheticCorpus, sample_plsa_corpus
from mlhw_ref.datasets.reuters import Reuters, load_reuters

# ---------------------------------------------------------------------------------------
# Reuters


@pytest.fixture(scope="module")
def reuters():
    return load_reuters()


def test_reuters_matches_the_lda_package(reuters):
    import lda.datasets

    assert isinstance(reuters, Reuters)
    assert sp.issparse(reuters.counts) and reuters.counts.format == "csr"
    np.testing.assert_array_equal(reuters.counts.toarray(), lda.datasets.load_reuters())
    assert reuters.vocab == list(lda.datasets.load_reuters_vocab())
    assert reuters.titles == list(lda.datasets.load_reuters_titles())


def test_reuters_has_the_documented_shape_and_no_empty_rows_or_columns(reuters):
    assert reuters.shape == (395, 4258)
    assert len(reuters.vocab) == 4258 and len(reuters.titles) == 395
    assert np.issubdtype(reuters.counts.dtype, np.integer)
    assert reuters.counts.min() >= 0
    assert np.all(reuters.counts.sum(axis=1) > 0) and np.all(reuters.counts.sum(axis=0) > 0)


def test_reuters_is_frozen(reuters):
    with pytest.raises(dataclasses.FrozenInstanceError):
        reuters.vocab = []


# ---------------------------------------------------------------------------------------
# sample_plsa_corpus


@given(
    st.integers(1, 40),
    st.integers(1, 60),
    st.integers(1, 6),
    st.floats(1, 50),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_sampled_corpus_is_well_formed(M, N, K, doc_length, seed):
    c = sample_plsa_corpus(M, N, K, rng=np.random.default_rng(seed), doc_length=doc_length)
    assert isinstance(c, SyntheticCorpus)
    assert c.shape == (M, N) and c.alpha.shape == (M, K) and c.beta.shape == (K, N)
    assert c.counts.format == "csr" and c.counts.has_canonical_format
    assert np.issubdtype(c.counts.dtype, np.integer) and c.counts.data.min() >= 1
    assert np.all(np.diff(c.counts.indptr) > 0), "every document must be non-empty"
    np.testing.assert_allclose(c.alpha.sum(axis=1), 1.0)
    np.testing.assert_allclose(c.beta.sum(axis=1), 1.0)
    # a word is only ever drawn where the model gives it positive probability
    p = c.alpha @ c.beta
    rows, cols = c.counts.nonzero()
    assert np.all(p[rows, cols] > 0)


def test_sampling_is_a_function_of_the_rng_state():
    a = sample_plsa_corpus(30, 50, 3, rng=np.random.default_rng(1), doc_length=20)
    b = sample_plsa_corpus(30, 50, 3, rng=np.random.default_rng(1), doc_length=20)
    c = sample_plsa_corpus(30, 50, 3, rng=np.random.default_rng(2), doc_length=20)
    assert (a.counts != b.counts).nnz == 0
    np.testing.assert_array_equal(a.beta, b.beta)
    assert (a.counts != c.counts).nnz > 0


def test_documents_follow_their_word_distribution():
    """With long documents the empirical word frequencies approach alpha_i @ beta."""
    c = sample_plsa_corpus(
        12, 40, 3, rng=np.random.default_rng(3), doc_length=40_000, topic_concentration=0.5
    )
    n = c.counts.toarray().astype(float)
    freq = n / n.sum(axis=1, keepdims=True)
    p = c.alpha @ c.beta
    tv = 0.5 * np.abs(freq - p).sum(axis=1)
    # sampling noise: E[TV] ~ sum_j sqrt(p_j / (2 pi L)) < 0.02 here
    assert tv.max() < 0.03
    # and topics must be mixed per document: a shuffled alpha is much further away
    tv_wrong = 0.5 * np.abs(freq - c.alpha[::-1] @ c.beta).sum(axis=1)
    assert tv_wrong.mean() > 5 * tv.mean()


def test_mean_document_length_is_as_asked():
    c = sample_plsa_corpus(2000, 100, 4, rng=np.random.default_rng(4), doc_length=30)
    lengths = np.asarray(c.counts.sum(axis=1)).ravel()
    assert lengths.min() >= 1
    # 1 + Poisson(29): mean 30, standard error 5.4 / sqrt(2000) = 0.12
    assert abs(lengths.mean() - 30) < 0.6


@pytest.mark.parametrize("target", [20_000, 120_000])
def test_nnz_target_is_met_within_a_few_percent(target):
    c = sample_plsa_corpus(2000, 3000, 10, rng=np.random.default_rng(5), nnz=target)
    assert abs(c.counts.nnz - target) < 0.05 * target


def test_small_concentration_gives_sparse_topics():
    rng = np.random.default_rng(6)
    sparse = sample_plsa_corpus(10, 2000, 5, rng=rng, topic_concentration=0.01).beta
    dense = sample_plsa_corpus(10, 2000, 5, rng=rng, topic_concentration=1.0).beta

    def effective_words(beta):  # exp(entropy) of each topic
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(beta > 0, beta * np.log(beta), 0.0).sum(axis=1)
        return np.exp(h)

    assert effective_words(sparse).max() < 0.5 * effective_words(dense).min()


def test_sampler_rejects_bad_arguments_with_useful_messages():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="not both"):
        sample_plsa_corpus(5, 5, 2, rng=rng, doc_length=3, nnz=10)
    with pytest.raises(ValueError, match=">= 1"):
        sample_plsa_corpus(0, 5, 2, rng=rng)
    with pytest.raises(ValueError, match="cells"):
        sample_plsa_corpus(5, 5, 2, rng=rng, nnz=26)
    with pytest.raises(ValueError, match="concentration"):
        sample_plsa_corpus(5, 5, 2, rng=rng, topic_concentration=0.0)


def test_reuters_counts_come_from_the_cache_only_when_it_is_sound(tmp_path, monkeypatch):
    """The parsed Reuters counts are kept in the cache folder: the cached copy equals lda's
    own parse, and an unreadable cache file is parsed again (and replaced)."""
    import lda.datasets

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    parsed = np.asarray(lda.datasets.load_reuters(), dtype=np.int64)
    first = load_reuters().counts.toarray()  # parses and writes the cache
    (cache,) = (tmp_path / "mlhw").glob("reuters-*.npy")
    np.testing.assert_array_equal(np.load(cache), parsed)
    np.testing.assert_array_equal(load_reuters().counts.toarray(), parsed)  # from the cache
    cache.write_bytes(b"not an array")
    np.testing.assert_array_equal(load_reuters().counts.toarray(), first)
    np.testing.assert_array_equal(np.load(cache), parsed)
