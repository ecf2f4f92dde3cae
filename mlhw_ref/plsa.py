"""PLSA fitted by EM: the reference for assignment ``plsa_em``.

Model: ``P(d_i, z_k, w_j) = (1/M) alpha[i, k] beta[k, j]`` with ``alpha[i, k] = P(z_k | d_i)``
(rows sum to 1) and ``beta[k, j] = P(w_j | z_k)`` (rows sum to 1).

Two levels of the same algorithm live here:

* :func:`e_step` / :func:`m_step` write EM the way the assignment does, with the dense
  posterior ``gamma`` of shape ``(M, N, K)``: fine for small inputs and for tests.
* :func:`fit_plsa` runs the same update on the non-zeros of the count matrix only, never
  forming ``gamma``: with ``r_ij = n_ij / (alpha_i . beta_j)`` on the non-zeros,
  ``alpha_new ∝ alpha ⊙ (R beta^T)`` and ``beta_new ∝ beta ⊙ (alpha^T R)``, both with the
  *old* alpha. Cost O(nnz K) time and O((M + N) K + nnz) memory per iteration. The NumPy/SciPy
  version is here; a numba loop over the CSR non-zeros is in :mod:`mlhw_ref.plsa_fast`.

Conventions for degenerate inputs (the same in every function, so the dense and the sparse
paths agree exactly):

* where ``sum_k alpha[i, k] beta[k, j] = 0`` the posterior ``gamma[i, j, :]`` is uniform,
  ``1/K`` (and the log-likelihood is ``-inf`` if that pair has a count);
* a document with no expected count gets a uniform ``alpha`` row (``1/K``), and a topic
  with no expected count gets a uniform ``beta`` row (``1/N``); such a topic stays unused,
  because its ``alpha`` column is 0;
* a word that never occurs gets ``beta[:, j] = 0`` after one iteration (no NaN: the ratio
  ``n / (alpha beta)`` is only formed where ``n > 0``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # matplotlib is imported only when a plot is made
    from matplotlib.figure import Figure

__all__ = [
    "e_step",
    "em_update",
    "fit_plsa",
    "log_likelihood",
    "m_step",
    "plot_log_likelihood",
    "random_start",
    "top_words",
]

Engine = Literal["auto", "numba", "numpy"]

# Non-zeros handled per block when gathering alpha/beta rows: bounds the temporary arrays to
# _CHUNK * K floats (about 26 MB at K = 50) whatever the corpus size.
_CHUNK = 1 << 16


# ----------------------------------------------------------------------------------------
# validation helpers


def _as_csr(counts) -> sp.csr_array:
    """Return ``counts`` as a canonical float64 CSR array (sorted indices, no duplicates)."""
    if sp.issparse(counts):
        X = sp.csr_array(counts, dtype=np.float64)  # may share the caller's arrays
        if not X.has_canonical_format or not np.all(X.data != 0):
            X = X.copy()  # never sort or prune the caller's matrix in place
            X.sum_duplicates()  # sorts indices, adds duplicate entries
            X.eliminate_zeros()  # an explicit 0 must not count as an occurrence
    else:
        arr = np.asarray(counts)
        if arr.ndim != 2:
            raise ValueError(
                f"counts must be a 2-D (M documents, N words) array; got shape {arr.shape}."
            )
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise TypeError(f"counts must be numeric; got dtype {arr.dtype}.")
        X = sp.csr_array(arr.astype(np.float64, copy=False))
    if X.data.size and not np.all(np.isfinite(X.data)):
        raise ValueError("counts contains NaN or inf; counts must be finite and non-negative.")
    if X.data.size and X.data.min() < 0:
        raise ValueError(
            f"counts must be non-negative; found a minimum of {X.data.min():g}. "
            "Pass word counts n(w_j, d_i), not e.g. centred or log-transformed values."
        )
    return X


def _check_params(
    alpha, beta, shape: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``alpha`` (M, K) and ``beta`` (K, N) as float64 arrays (no copy)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.ndim != 2 or beta.ndim != 2:
        raise ValueError(
            f"alpha must be (M, K) and beta (K, N); got alpha {alpha.shape}, beta {beta.shape}."
        )
    if alpha.shape[1] != beta.shape[0]:
        raise ValueError(
            f"alpha is {alpha.shape} (M, K) but beta is {beta.shape} (K, N): the numbers of "
            "topics K differ."
        )
    if shape is not None and (alpha.shape[0], beta.shape[1]) != tuple(shape):
        raise ValueError(
            f"counts is {tuple(shape)} (M, N) but alpha is {alpha.shape} (M, K) and beta is "
            f"{beta.shape} (K, N): expected alpha with {shape[0]} rows and beta with "
            f"{shape[1]} columns."
        )
    if alpha.shape[1] == 0:
        raise ValueError("need at least one topic: alpha and beta have K = 0.")
    for name, arr in (("alpha", alpha), ("beta", beta)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf; it must hold probabilities.")
        if arr.size and arr.min() < 0:
            raise ValueError(
                f"{name} has a negative entry ({arr.min():g}); it must hold probabilities."
            )
    return alpha, beta


def _normalise_rows(A: np.ndarray) -> np.ndarray:
    """Divide each row of ``A`` (n, m) by its sum, in place; an all-zero row becomes 1/m."""
    s = A.sum(axis=1, keepdims=True)
    empty = s[:, 0] <= 0
    np.divide(A, s, out=A, where=~empty[:, None])
    A[empty] = 1.0 / A.shape[1]
    return A


# ----------------------------------------------------------------------------------------
# the assignment's functions


def _pair_probs(
    alpha: np.ndarray, betaT: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """``p[t] = alpha[rows[t]] . betaT[cols[t]]`` for each non-zero t, in blocks of _CHUNK."""
    p = np.empty(rows.size)
    for s in range(0, rows.size, _CHUNK):
        e = s + _CHUNK
        np.einsum("tk,tk->t", alpha[rows[s:e]], betaT[cols[s:e]], out=p[s:e])
    return p


def log_likelihood(counts, alpha, beta) -> float:
    """Log-likelihood of PLSA, ``sum_ij n_ij log((1/M) sum_k alpha_ik beta_kj)``.

    Computed over the non-zero counts only (a zero count contributes nothing).

    Parameters
    ----------
    counts : ndarray or scipy.sparse matrix, shape (M, N)
        Word counts ``n(w_j, d_i)``.
    alpha : ndarray, shape (M, K)
        ``P(z_k | d_i)``.
    beta : ndarray, shape (K, N)
        ``P(w_j | z_k)``.

    Returns
    -------
    float
        The log-likelihood; ``-inf`` if a pair with a count has probability 0.
    """
    X = _as_csr(counts)
    alpha, beta = _check_params(alpha, beta, X.shape)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    p = _pair_probs(alpha, np.ascontiguousarray(beta.T), rows, X.indices)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer there
        return float(X.data @ np.log(p) - X.data.sum() * np.log(X.shape[0]))


def e_step(alpha, beta) -> np.ndarray:
    """Posterior over topics, ``gamma[i, j, k] = P(z_k | d_i, w_j)``.

    ``gamma_ijk = alpha_ik beta_kj / sum_k' alpha_ik' beta_k'j``; where the denominator is 0
    the posterior is uniform (``1/K``), so the result never holds NaN. Dense: use only for
    small M * N * K.

    Parameters
    ----------
    alpha : ndarray, shape (M, K)
    beta : ndarray, shape (K, N)

    Returns
    -------
    gamma : ndarray, shape (M, N, K)
        Sums to 1 over the last axis.
    """
    alpha, beta = _check_params(alpha, beta)
    joint = alpha[:, None, :] * beta.T[None, :, :]  # (M, N, K)
    s = joint.sum(axis=2, keepdims=True)
    zero = s[..., 0] <= 0
    np.divide(joint, s, out=joint, where=~zero[..., None])
    joint[zero] = 1.0 / alpha.shape[1]
    return joint


def m_step(counts, gamma) -> tuple[np.ndarray, np.ndarray]:
    """Maximise the expected complete log-likelihood given the posterior ``gamma``.

    ``alpha_ik ∝ sum_j n_ij gamma_ijk`` (normalised over k) and
    ``beta_kj ∝ sum_i n_ij gamma_ijk`` (normalised over j). A document or topic with no
    expected count gets a uniform row.

    Parameters
    ----------
    counts : ndarray or scipy.sparse matrix, shape (M, N)
    gamma : ndarray, shape (M, N, K)

    Returns
    -------
    alpha : ndarray, shape (M, K)
    beta : ndarray, shape (K, N)
    """
    gamma = np.asarray(gamma, dtype=np.float64)
    n = _as_csr(counts).toarray()
    if gamma.ndim != 3 or gamma.shape[:2] != n.shape:
        raise ValueError(
            f"gamma must be (M, N, K) matching counts {n.shape}; got gamma {gamma.shape}."
        )
    weighted = n[:, :, None] * gamma  # n_ij gamma_ijk, (M, N, K)
    alpha = _normalise_rows(weighted.sum(axis=1))  # (M, K)
    beta = _normalise_rows(weighted.sum(axis=0).T)  # (K, N)
    return alpha, beta


# ----------------------------------------------------------------------------------------
# EM on the non-zeros


def em_update(
    X: sp.csr_array, alpha: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """One EM iteration on the non-zeros of a canonical CSR matrix (NumPy/SciPy engine).

    Parameters
    ----------
    X : scipy.sparse.csr_array, shape (M, N)
        Counts, float64, canonical (as made by ``fit_plsa``).
    alpha : ndarray, shape (M, K)
    beta : ndarray, shape (K, N)

    Returns
    -------
    alpha_new : ndarray, shape (M, K)
    beta_new : ndarray, shape (K, N)
    ll : float
        Log-likelihood of the *input* alpha, beta (it falls out of the E-step for free).
    """
    M, N = X.shape
    K = alpha.shape[1]
    rows = np.repeat(np.arange(M), np.diff(X.indptr))
    p = _pair_probs(alpha, np.ascontiguousarray(beta.T), rows, X.indices)  # (nnz,)
    pos = p > 0
    # r = n / (alpha_i . beta_j) on the non-zeros only; a pair with p = 0 has a uniform
    # posterior instead, handled below, so it contributes n / K to every topic.
    r = np.divide(X.data, p, out=np.zeros_like(p), where=pos)
    R = sp.csr_array((r, X.indices, X.indptr), shape=X.shape)
    alpha_new = alpha * (R @ beta.T)  # (M, K): sum_j n_ij gamma_ijk
    beta_new = beta * (R.T @ alpha).T  # (K, N): uses the old alpha
    with np.errstate(divide="ignore"):
        ll = float(X.data @ np.log(p) - X.data.sum() * np.log(M))
    if not pos.all():
        zn = X.data[~pos] / K
        alpha_new += np.bincount(rows[~pos], weights=zn, minlength=M)[:, None]
        beta_new += np.bincount(X.indices[~pos], weights=zn, minlength=N)[None, :]
    return _normalise_rows(alpha_new), _normalise_rows(beta_new), ll


def _resolve_engine(engine: str) -> str:
    if engine not in ("auto", "numba", "numpy"):
        raise ValueError(f"engine must be 'auto', 'numba' or 'numpy'; got {engine!r}.")
    if engine == "numpy":
        return engine
    from . import plsa_fast

    if plsa_fast.AVAILABLE:
        return "numba"
    if engine == "numba":
        raise ImportError(
            "engine='numba' needs the numba package, which could not be imported; install "
            "numba or pass engine='numpy' (or 'auto')."
        )
    return "numpy"


def fit_plsa(
    counts,
    alpha0,
    beta0,
    n_iter: int,
    *,
    engine: Engine = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit PLSA by EM from a given start, on the non-zeros of ``counts``.

    Never forms the (M, N, K) posterior: O(nnz K) time and O((M + N) K + nnz) memory per
    iteration. Does not modify its inputs.

    Parameters
    ----------
    counts : scipy.sparse matrix or ndarray, shape (M, N)
        Word counts (non-negative; integers in the assignment, any non-negative reals work).
    alpha0 : ndarray, shape (M, K)
        Starting ``P(z | d)``; rows should sum to 1.
    beta0 : ndarray, shape (K, N)
        Starting ``P(w | z)``; rows should sum to 1.
    n_iter : int
        Number of EM iterations (>= 0).
    engine : {"auto", "numba", "numpy"}
        ``"numba"`` runs the compiled loop of :mod:`mlhw_ref.plsa_fast`, ``"numpy"`` the
        NumPy/SciPy code here; ``"auto"`` picks numba when it can be imported.

    Returns
    -------
    alpha : ndarray, shape (M, K)
    beta : ndarray, shape (K, N)
    ll : ndarray, shape (n_iter + 1,)
        Log-likelihood before the first iteration and after each; never decreases.
    """
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative int; got {n_iter!r}.")
    X = _as_csr(counts)
    alpha, beta = _check_params(alpha0, beta0, X.shape)
    if _resolve_engine(engine) == "numba":
        from .plsa_fast import fit_plsa_csr

        return fit_plsa_csr(X, alpha, beta, int(n_iter))
    ll = np.empty(n_iter + 1)
    for t in range(n_iter):  # em_update returns new arrays: the inputs are never written
        alpha, beta, ll[t] = em_update(X, alpha, beta)
    ll[n_iter] = log_likelihood(X, alpha, beta)
    if n_iter == 0:  # hand back copies, never the caller's own arrays
        alpha, beta = alpha.copy(), beta.copy()
    return alpha, beta, ll


def random_start(M: int, N: int, K: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random starting point for EM: rows drawn uniformly from the simplex.

    Parameters
    ----------
    M, N, K : int
        Documents, words, topics.
    rng : numpy.random.Generator

    Returns
    -------
    alpha0 : ndarray, shape (M, K)
        Rows ~ Dirichlet(1, ..., 1); all entries positive.
    beta0 : ndarray, shape (K, N)
        Rows ~ Dirichlet(1, ..., 1).
    """
    for name, v in (("M", M), ("N", N), ("K", K)):
        if int(v) < 1:
            raise ValueError(f"{name} must be a positive int; got {v!r}.")
    # Exponential(1) draws normalised per row are Dirichlet(1); all entries > 0 almost surely.
    alpha0 = _normalise_rows(rng.standard_exponential((M, K)))
    beta0 = _normalise_rows(rng.standard_exponential((K, N)))
    return alpha0, beta0


# ----------------------------------------------------------------------------------------
# reading the result


def top_words(beta, vocab, n: int = 10) -> list[list[str]]:
    """The ``n`` most probable words of each topic, most probable first.

    Parameters
    ----------
    beta : ndarray, shape (K, N)
    vocab : sequence of str, length N
    n : int
        Words per topic; at most N are returned. Ties keep vocabulary order.

    Returns
    -------
    list of K lists of min(n, N) str
    """
    beta = np.asarray(beta, dtype=np.float64)
    vocab = list(vocab)
    if beta.ndim != 2 or beta.shape[1] != len(vocab):
        raise ValueError(
            f"beta must be (K, N) with N = len(vocab) = {len(vocab)}; got beta {beta.shape}."
        )
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}.")
    order = np.argsort(-beta, axis=1, kind="stable")[:, :n]
    return [[vocab[j] for j in row] for row in order]


def plot_log_likelihood(ll) -> Figure:
    """Plot the log-likelihood against the EM iteration.

    Parameters
    ----------
    ll : array_like, shape (n_iter + 1,)
        As returned by :func:`fit_plsa`.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one line with x = 0..n_iter and y = ll (no pyplot state is touched).
    """
    ll = np.asarray(ll, dtype=np.float64)
    if ll.ndim != 1 or ll.size == 0:
        raise ValueError(f"ll must be a non-empty 1-D sequence; got shape {ll.shape}.")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(np.arange(ll.size), ll, marker="." if ll.size <= 50 else None)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("log-likelihood")
    ax.set_title("PLSA: log-likelihood during EM")
    ax.grid(True, alpha=0.3)
    return fig
