"""Questions 1-3: the log-likelihood, the E-step and the M-step, on grader-drawn inputs."""

import numpy as np
import pytest

from autograder.checks import assert_close, assert_close_or_diagnose, describe_call
from autograder.errors import CheckFailed
from autograder.suites.plsa_em.inputs import (
    expected_complete_loglik,
    gamma_mistakes,
    joint,
    loglik_mistakes,
    mstep_mistakes,
    problem,
    with_zeros,
    wrong_axis_sums,
)

REFERENCE = "mlhw_ref.plsa"


# -- q1 ----------------------------------------------------------------------------------------


def _loglik_matches(student, ref, p):
    called = describe_call("log_likelihood", {k: p[k] for k in ("counts", "alpha", "beta")})
    got = student.log_likelihood(p["counts"], p["alpha"], p["beta"])
    expected = ref.log_likelihood(p["counts"], p["alpha"], p["beta"])
    assert_close_or_diagnose(got, expected, lambda: loglik_mistakes(p["counts"], p["alpha"], p["beta"]),
                             rtol=1e-10, atol=0.0, name="log_likelihood", called=called,
                             allow_list=False)


@pytest.mark.question("q1", points=5)
def test_q1_log_likelihood_random(student, ref, rng):
    """log_likelihood matches the reference (rtol 1e-10) on random counts and parameters"""
    for _ in range(3):
        _loglik_matches(student, ref, problem(rng))


@pytest.mark.question("q1", points=5)
def test_q1_log_likelihood_sparse(student, ref, rng):
    """log_likelihood on sparse counts (about 5% non-zero): zero counts contribute nothing"""
    for _ in range(2):
        M, N, K = int(rng.integers(20, 40)), int(rng.integers(60, 120)), int(rng.integers(3, 8))
        _loglik_matches(student, ref, problem(rng, density=0.05, sizes=(M, N, K)))


# -- q2 ----------------------------------------------------------------------------------------


def _gamma(student, alpha, beta):
    called = describe_call("e_step", {"alpha": alpha, "beta": beta})
    gamma = student.e_step(alpha, beta)
    M, K = alpha.shape
    N = beta.shape[1]
    arr = np.asarray(gamma) if isinstance(gamma, np.ndarray) else None
    if arr is None or arr.shape != (M, N, K):
        what = f"shape {arr.shape}" if arr is not None else f"a {type(gamma).__name__}"
        raise CheckFailed(f"e_step returned {what}; expected an array of shape (M, N, K) = "
                          f"({M}, {N}, {K}), gamma[i, j, k] = P(z_k | d_i, w_j)\n  called: {called}")
    return arr, called


def _atol(arr) -> float:
    """Tolerance of a sum to 1: float32 results (accepted by the contract) get float32's."""
    return 1e-5 if arr.dtype == np.float32 else 1e-8


@pytest.mark.question("q2", points=7)
def test_q2_e_step_matches_reference(student, ref, rng):
    """e_step matches the reference gamma_ijk = alpha_ik beta_kj / sum_k' alpha_ik' beta_k'j"""
    for _ in range(3):
        p = problem(rng)
        gamma, called = _gamma(student, p["alpha"], p["beta"])
        assert_close_or_diagnose(gamma, ref.e_step(p["alpha"], p["beta"]),
                                 lambda: gamma_mistakes(p["alpha"], p["beta"]), rtol=1e-8, atol=1e-12,
                                 name="gamma", called=called)


def _sums_to_one_over_topics(gamma, called, where=None):
    sums = gamma.sum(axis=2, dtype=np.float64)
    bad = ~np.isclose(sums, 1.0, rtol=0.0, atol=_atol(gamma))
    if where is not None:
        bad &= where
    if bad.any():
        i, j = np.argwhere(bad)[0]
        lead = wrong_axis_sums(gamma) if where is None else None
        raise CheckFailed((f"{lead}\n" if lead else "")
                          + f"gamma[{i}, {j}, :] sums to {sums[i, j]:.10g}, not 1: the posterior over "
                          f"topics must sum to 1 over k for every document i and word j\n  called: {called}")


@pytest.mark.question("q2", points=4)
def test_q2_e_step_normalises_over_topics(student, ref, rng):
    """gamma sums to 1 over topics k for every (document, word) pair"""
    p = problem(rng)
    gamma, called = _gamma(student, p["alpha"], p["beta"])
    _sums_to_one_over_topics(gamma, called)


@pytest.mark.question("q2", points=4)
def test_q2_e_step_zeros_give_no_nan(student, ref, rng):
    """with zeros in alpha and beta gamma has no NaN, sums to 1 over k and matches elsewhere"""
    p = problem(rng)
    alpha, beta = with_zeros(rng, p["alpha"], p["beta"])
    gamma, called = _gamma(student, alpha, beta)
    if not np.all(np.isfinite(gamma)):
        i, j, k = np.argwhere(~np.isfinite(gamma))[0]
        denom = joint(alpha, beta)[i, j]
        raise CheckFailed(f"gamma[{i}, {j}, {k}] is {gamma[i, j, k]}: with zeros in alpha and beta "
                          f"sum_k alpha_ik beta_kj can be 0 (here it is {denom:g}); do not divide 0 by 0 "
                          "— use the uniform posterior 1/K for such a pair\n  called: " + called)
    _sums_to_one_over_topics(gamma, called)
    positive = joint(alpha, beta) > 0
    assert_close(gamma[positive], ref.e_step(alpha, beta)[positive], rtol=1e-8, atol=1e-12,
                 name="gamma (pairs with sum_k alpha_ik beta_kj > 0)", called=called)


# -- q3 ----------------------------------------------------------------------------------------


def _m_step(student, ref, rng):
    p = problem(rng)
    gamma = ref.e_step(p["alpha"], p["beta"])
    called = describe_call("m_step", {"counts": p["counts"], "gamma": gamma})
    out = student.m_step(p["counts"], gamma)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"m_step must return a tuple (alpha, beta)\n  called: {called}")
    M, N, K = gamma.shape
    alpha, beta = out
    for name, arr, shape in (("alpha", alpha, (M, K)), ("beta", beta, (K, N))):
        if not isinstance(arr, np.ndarray) or arr.shape != shape:
            got = f"shape {arr.shape}" if isinstance(arr, np.ndarray) else f"a {type(arr).__name__}"
            raise CheckFailed(f"m_step returned {name} with {got}; expected shape {shape}\n  called: {called}")
    return p["counts"], gamma, alpha, beta, called


@pytest.mark.question("q3", points=6)
def test_q3_m_step_matches_reference(student, ref, rng):
    """m_step matches the reference: alpha_ik ∝ sum_j n_ij gamma_ijk, beta_kj ∝ sum_i n_ij gamma_ijk"""
    for _ in range(2):
        counts, gamma, alpha, beta, called = _m_step(student, ref, rng)
        alpha_ref, beta_ref = ref.m_step(counts, gamma)
        assert_close_or_diagnose(alpha, alpha_ref, lambda: mstep_mistakes(counts, gamma)["alpha"],
                                 rtol=1e-8, atol=1e-12, name="alpha", called=called)
        assert_close_or_diagnose(beta, beta_ref, lambda: mstep_mistakes(counts, gamma)["beta"],
                                 rtol=1e-8, atol=1e-12, name="beta", called=called)


def _rows_sum_to_one(name, arr, axis_name, called):
    sums = arr.sum(axis=1, dtype=np.float64)
    if not np.all(np.abs(sums - 1.0) <= _atol(arr)) or np.any(arr < 0):
        cols = np.allclose(arr.sum(axis=0, dtype=np.float64), 1.0, atol=_atol(arr))
        hint = (f" (its columns sum to 1 instead: you normalised over the wrong axis; {name} must "
                f"sum to 1 over {axis_name})") if cols else ""
        worst = int(np.argmax(np.abs(sums - 1.0)))
        raise CheckFailed(f"{name} is not a probability table{hint}: row {worst} sums to "
                          f"{sums[worst]:.10g} (min entry {arr.min():.3g}); every row must be "
                          f"non-negative and sum to 1 over {axis_name}\n  called: {called}")


@pytest.mark.question("q3", points=3)
def test_q3_m_step_rows_sum_to_one(student, ref, rng):
    """alpha rows sum to 1 over topics and beta rows sum to 1 over words"""
    _, _, alpha, beta, called = _m_step(student, ref, rng)
    _rows_sum_to_one("alpha", alpha, "topics k", called)
    _rows_sum_to_one("beta", beta, "words j", called)


def _simplex_moves(rng, X, toward, n_random=12):
    """Points on the simplex near X (rows), random and toward ``toward``."""
    for _ in range(n_random):
        t = float(10 ** rng.uniform(-3, -1))
        yield (1 - t) * X + t * rng.dirichlet(np.ones(X.shape[1]), size=X.shape[0]), t
    for t in (1e-3, 1e-2, 1e-1):
        yield (1 - t) * X + t * toward, t


@pytest.mark.question("q3", points=6)
def test_q3_m_step_is_the_argmax(student, ref, rng):
    """no move within the simplex away from (alpha, beta) improves the expected complete log-likelihood"""
    counts, gamma, alpha, beta, called = _m_step(student, ref, rng)
    _rows_sum_to_one("alpha", alpha, "topics k", called)
    _rows_sum_to_one("beta", beta, "words j", called)
    alpha_ref, beta_ref = ref.m_step(counts, gamma)
    single = alpha.dtype == np.float32 or beta.dtype == np.float32
    alpha, beta = alpha.astype(np.float64), beta.astype(np.float64)
    q0 = expected_complete_loglik(counts, gamma, alpha, beta)
    slack = (1e-6 if single else 1e-9) * max(1.0, abs(q0))
    for which, X, toward in (("alpha", alpha, alpha_ref), ("beta", beta, beta_ref)):
        for moved, t in _simplex_moves(rng, X, toward):
            q = (expected_complete_loglik(counts, gamma, moved, beta) if which == "alpha"
                 else expected_complete_loglik(counts, gamma, alpha, moved))
            if not q0 >= q - slack:
                raise CheckFailed(
                    f"your (alpha, beta) does not maximise the expected complete log-likelihood "
                    f"Q = sum_ijk n_ij gamma_ijk (log alpha_ik + log beta_kj): moving {which} a step "
                    f"t = {t:.3g} within the simplex raises Q from {q0:.10g} to {q:.10g}. The M-step "
                    f"must return its maximiser\n  called: {called}")
