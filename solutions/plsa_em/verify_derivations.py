"""Verify every symbolic step of ``solutions/plsa_em/derivations.md`` with sympy.

Run ``python solutions/plsa_em/verify_derivations.py``: one line per check, exit status 1 if
any check fails. Importing this file runs nothing; ``CHECKS`` lists the steps and ``ANSWERS``
holds the final symbolic answers the grader compares students' answers with.

Symbols and assumptions: ``s1, s2, s3`` (expected topic counts of one document) are positive.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # solutions/: shared helpers
from sympy_identities import assert_zero as _assert_zero  # noqa: E402

s1, s2, s3 = sp.symbols("s1 s2 s3", positive=True)

ANSWERS: dict[str, sp.Expr] = {
    "alpha_1": s1 / (s1 + s2 + s3),
}

_SEED = 20240611


def _rationals(rng: random.Random, n: int, lo: int = 1, hi: int = 50) -> list[sp.Rational]:
    """``n`` random positive rationals (exact, so comparisons below are exact)."""
    return [sp.Rational(rng.randint(lo, hi), rng.randint(1, 10)) for _ in range(n)]


def _simplex_maximiser(weights: Sequence[sp.Expr]) -> list[sp.Expr]:
    """Solve the Lagrange conditions of ``max sum_k c_k log p_k  s.t.  sum_k p_k = 1``.

    Returns the unique stationary point ``[p_1, ..., p_K]`` found by ``sympy.solve``.
    """
    K = len(weights)
    p = sp.symbols(f"p1:{K + 1}", positive=True)
    lam = sp.Symbol("lambda", positive=True)
    lagrangian = sum(c * sp.log(pk) for c, pk in zip(weights, p)) + lam * (1 - sum(p))
    equations = [sp.diff(lagrangian, v) for v in (*p, lam)]
    solutions = sp.solve(equations, [*p, lam], dict=True)
    assert len(solutions) == 1, f"expected one stationary point, sympy found {solutions}"
    return [solutions[0][pk] for pk in p]


# ------------------------------------------------------------------------------------------
# Step 1: the model and the log-likelihood


def check_log_likelihood_splits_off_log_M() -> None:
    """sum_ij n_ij log((1/M) sum_k a b) = sum_ij n_ij log(sum_k a b) - (sum_ij n_ij) log M."""
    M = sp.Symbol("M", positive=True, integer=True)
    n = sp.symbols("n11 n12 n21 n22", positive=True)
    mix = sp.symbols("q11 q12 q21 q22", positive=True)  # q_ij = sum_k alpha_ik beta_kj
    lhs = sum(nij * sp.log(qij / M) for nij, qij in zip(n, mix))
    rhs = sum(nij * sp.log(qij) for nij, qij in zip(n, mix)) - sum(n) * sp.log(M)
    _assert_zero(sp.expand_log(lhs - rhs), "log-likelihood with the 1/M term")


# ------------------------------------------------------------------------------------------
# Step 2: the E-step is Bayes' rule


def check_e_step_is_bayes_rule(K: int = 3) -> None:
    """P(z_k | d, w) = P(d) a_k b_k / sum_k' P(d) a_k' b_k' = a_k b_k / sum_k' a_k' b_k'."""
    M = sp.Symbol("M", positive=True)
    alpha = sp.symbols(f"alpha1:{K + 1}", positive=True)  # P(z_k | d_i)
    beta = sp.symbols(f"beta1:{K + 1}", positive=True)  # P(w_j | z_k)
    joint = [alpha[k] * beta[k] / M for k in range(K)]  # P(d_i, z_k, w_j)
    for k in range(K):
        posterior = joint[k] / sum(joint)  # Bayes: joint over the marginal P(d_i, w_j)
        gamma = alpha[k] * beta[k] / sum(a * b for a, b in zip(alpha, beta))
        _assert_zero(posterior - gamma, f"posterior of topic {k + 1}")


def check_e_step_sums_to_one_over_topics(K: int = 3) -> None:
    """sum_k gamma_ijk = 1: gamma is normalised over topics, not documents or words."""
    alpha = sp.symbols(f"alpha1:{K + 1}", positive=True)
    beta = sp.symbols(f"beta1:{K + 1}", positive=True)
    norm = sum(a * b for a, b in zip(alpha, beta))
    _assert_zero(sum(a * b / norm for a, b in zip(alpha, beta)) - 1, "sum_k gamma_k")


# ------------------------------------------------------------------------------------------
# Step 3: Jensen's bound, tight at the posterior


def check_jensen_gap_is_kl(K: int = 3) -> None:
    """log sum_k x_k - sum_k g_k log(x_k / g_k) = KL(g || x / sum x) for g on the simplex."""
    x = sp.symbols(f"x1:{K + 1}", positive=True)
    g = sp.symbols(f"g1:{K}", positive=True)
    gamma = [*g, 1 - sum(g)]  # a point of the simplex
    total = sum(x)
    lhs = sp.log(sum(gk * (xk / gk) for gk, xk in zip(gamma, x)))  # = log sum_k x_k
    bound = sum(gk * (sp.log(xk) - sp.log(gk)) for gk, xk in zip(gamma, x))
    kl = sum(gk * (sp.log(gk) - sp.log(xk / total)) for gk, xk in zip(gamma, x))
    _assert_zero(sp.expand(sp.expand_log(lhs - bound - kl, force=True)), "Jensen gap vs KL")


def check_jensen_equality_at_posterior(K: int = 3) -> None:
    """With gamma_k = x_k / sum x the bound equals log sum_k x_k exactly."""
    x = sp.symbols(f"x1:{K + 1}", positive=True)
    total = sum(x)
    bound = sum((xk / total) * sp.log(xk / (xk / total)) for xk in x)
    _assert_zero(bound - sp.log(total), "Jensen bound at gamma = x / sum(x)")


def check_jensen_inequality_random_points(K: int = 3, n_points: int = 60) -> None:
    """log sum_k g_k (x_k/g_k) >= sum_k g_k log(x_k/g_k) at random positive x and g.

    An inequality, so it is checked numerically (30 significant digits) at random points.
    """
    rng = random.Random(_SEED)
    for _ in range(n_points):
        x = _rationals(rng, K)
        g = _rationals(rng, K)
        g = [gk / sum(g) for gk in g]
        lhs = sp.log(sum(x))
        rhs = sum(gk * sp.log(xk / gk) for gk, xk in zip(g, x))
        gap = sp.N(lhs - rhs, 30)
        assert gap >= -sp.Float("1e-25"), f"Jensen fails at x={x}, gamma={g}: gap {gap}"


# ------------------------------------------------------------------------------------------
# Step 4: the M-step


def check_expected_loglik_gradient_uses_weighted_counts() -> None:
    """dQ/d alpha_ik = s_ik / alpha_ik with s_ik = sum_j n_ij gamma_ijk (M = N = K = 2)."""
    M_, N_, K_ = 2, 2, 2
    n = sp.Matrix(M_, N_, lambda i, j: sp.Symbol(f"n{i + 1}{j + 1}", positive=True))
    alpha = sp.Matrix(M_, K_, lambda i, k: sp.Symbol(f"alpha{i + 1}{k + 1}", positive=True))
    beta = sp.Matrix(K_, N_, lambda k, j: sp.Symbol(f"beta{k + 1}{j + 1}", positive=True))
    gamma = {
        (i, j, k): sp.Symbol(f"gamma{i + 1}{j + 1}{k + 1}", positive=True)
        for i in range(M_)
        for j in range(N_)
        for k in range(K_)
    }
    Q = sum(
        n[i, j]
        * gamma[i, j, k]
        * (sp.log(sp.Rational(1, M_)) + sp.log(alpha[i, k]) + sp.log(beta[k, j]))
        for (i, j, k) in gamma
    )
    for i in range(M_):
        for k in range(K_):
            s_ik = sum(n[i, j] * gamma[i, j, k] for j in range(N_))
            _assert_zero(sp.diff(Q, alpha[i, k]) - s_ik / alpha[i, k], f"dQ/dalpha{i + 1}{k + 1}")
    for k in range(K_):
        for j in range(N_):
            t_kj = sum(n[i, j] * gamma[i, j, k] for i in range(M_))
            _assert_zero(sp.diff(Q, beta[k, j]) - t_kj / beta[k, j], f"dQ/dbeta{k + 1}{j + 1}")


def check_alpha_stationary_point(alpha_1: sp.Expr | None = None) -> None:
    """Lagrange conditions for max sum_k s_k log alpha_k s.t. sum alpha = 1 give s_k / sum s."""
    alpha_1 = ANSWERS["alpha_1"] if alpha_1 is None else alpha_1
    solution = _simplex_maximiser([s1, s2, s3])
    total = s1 + s2 + s3
    _assert_zero(solution[0] - alpha_1, "alpha_1 from the Lagrangian vs the stated answer")
    for k, sk in enumerate((s1, s2, s3)):
        _assert_zero(solution[k] - sk / total, f"alpha_{k + 1}")


def check_alpha_is_maximum() -> None:
    """On the simplex (alpha_3 = 1 - alpha_1 - alpha_2) the Hessian is negative definite."""
    a1, a2, a3 = sp.symbols("alpha1 alpha2 alpha3", positive=True)
    objective = s1 * sp.log(a1) + s2 * sp.log(a2) + s3 * sp.log(1 - a1 - a2)
    hessian = sp.hessian(objective, (a1, a2)).subs(1 - a1 - a2, a3)
    # A 2x2 symmetric matrix is negative definite iff H11 < 0 and det H > 0.
    h11 = sp.simplify(hessian[0, 0])
    det = sp.factor(sp.simplify(hessian.det().subs(1 - a1 - a2, a3)))
    assert h11.is_negative, f"H11 = {h11} is not provably negative"
    assert det.is_positive, f"det H = {det} is not provably positive"


def check_alpha_beats_random_points(n_points: int = 60) -> None:
    """f(alpha*) - f(alpha) = S * KL(alpha* || alpha) >= 0: numerically at random points."""
    rng = random.Random(_SEED + 1)
    s = sp.symbols("s1:4", positive=True)
    for _ in range(n_points):
        sv = _rationals(rng, 3)
        other = _rationals(rng, 3)
        other = [o / sum(other) for o in other]
        best = [ANSWERS["alpha_1"].subs(dict(zip(s, sv)))] + [v / sum(sv) for v in sv[1:]]

        def objective(p: list[sp.Expr], sv: list[sp.Rational] = sv) -> sp.Expr:
            return sum(c * sp.log(pk) for c, pk in zip(sv, p))

        gain = sp.N(objective(best) - objective(other), 30)
        assert gain >= -sp.Float("1e-25"), f"alpha={other} beats alpha*={best} for s={sv}"


def check_beta_stationary_point(N: int = 4) -> None:
    """The same Lagrangian over words: beta_kj = t_kj / sum_j' t_kj' (N = 4 words)."""
    t = sp.symbols(f"t1:{N + 1}", positive=True)  # t_j = sum_i n_ij gamma_ijk for one topic k
    solution = _simplex_maximiser(list(t))
    for j in range(N):
        _assert_zero(solution[j] - t[j] / sum(t), f"beta_{j + 1}")


# The worked derivation question 7 grades step by step (the notebook's answers): each step
# has the same solution as the one before, once the named result lam = s1 + s2 + s3 (or
# mu = t1 + t2 + t3) is substituted.
LAGRANGE_STEPS: dict[str, tuple[str, str, list[str]]] = {
    "derivation_alpha": ("alpha1", "lam = s1 + s2 + s3",
                         ["s1/alpha1 - lam = 0", "s1 = lam*alpha1", "alpha1 = s1/lam",
                          "alpha1 = s1/(s1 + s2 + s3)"]),
    "derivation_beta": ("beta1", "mu = t1 + t2 + t3",
                        ["t1/beta1 - mu = 0", "beta1 = t1/mu", "beta1 = t1/(t1 + t2 + t3)"]),
}


def check_lagrange_steps() -> None:
    """Each step of question 7's worked derivations follows from the one before, the first is
    the stationarity condition of the Lagrangian and the multiplier is the one the
    constraint gives."""
    names = ("s1", "s2", "s3", "t1", "t2", "t3", "alpha1", "alpha2", "alpha3", "beta1", "beta2",
             "beta3", "lam", "mu")
    sym = {n: sp.Symbol(n, positive=True) for n in names}

    def equation(text: str) -> sp.Expr:
        lhs, rhs = text.split("=")
        return sp.sympify(lhs, locals=sym) - sp.sympify(rhs, locals=sym)

    for name, (unknown, fact, steps) in LAGRANGE_STEPS.items():
        weights, params, mult = (("s", "alpha", "lam") if unknown == "alpha1" else ("t", "beta", "mu"))
        lagrangian = sum(sym[f"{weights}{k}"] * sp.log(sym[f"{params}{k}"]) for k in (1, 2, 3)) \
            + sym[mult] * (1 - sum(sym[f"{params}{k}"] for k in (1, 2, 3)))
        stationarity = sp.diff(lagrangian, sym[unknown])
        _assert_zero(equation(steps[0]) - stationarity, f"{name}: step 1 vs dL/d{unknown}")
        # the constraint with each parameter at its stationary value gives the multiplier
        total = sum(sp.solve(sp.diff(lagrangian, sym[f"{params}{k}"]), sym[f"{params}{k}"])[0]
                    for k in (1, 2, 3))
        value = sp.solve(sp.Eq(total, 1), sym[mult])
        fact_value = sp.sympify(fact.split("=")[1], locals=sym)
        assert value == [fact_value], f"{name}: the constraint gives {mult} = {value}"
        solutions = [sp.solve(equation(st).subs(sym[mult], fact_value), sym[unknown]) for st in steps]
        for i in range(1, len(steps)):
            assert solutions[i] == solutions[i - 1], f"{name}: step {i + 1} does not follow from step {i}"


def check_sparse_m_step_identity() -> None:
    """sum_j n_ij gamma_ijk = alpha_ik sum_j (n_ij / sum_k' alpha_ik' beta_k'j) beta_kj.

    This is why the E- and M-steps can be fused over the non-zeros of ``counts``: the
    (M, N, K) array gamma is never needed (M = N = K = 2 here).
    """
    M_, N_, K_ = 2, 2, 2
    n = sp.Matrix(M_, N_, lambda i, j: sp.Symbol(f"n{i + 1}{j + 1}", positive=True))
    alpha = sp.Matrix(M_, K_, lambda i, k: sp.Symbol(f"alpha{i + 1}{k + 1}", positive=True))
    beta = sp.Matrix(K_, N_, lambda k, j: sp.Symbol(f"beta{k + 1}{j + 1}", positive=True))
    mix = alpha * beta  # mix[i, j] = sum_k alpha_ik beta_kj
    R = sp.Matrix(M_, N_, lambda i, j: n[i, j] / mix[i, j])
    fused_alpha = alpha.multiply_elementwise(R * beta.T)
    fused_beta = beta.multiply_elementwise(alpha.T * R)
    for i in range(M_):
        for k in range(K_):
            s_ik = sum(n[i, j] * alpha[i, k] * beta[k, j] / mix[i, j] for j in range(N_))
            _assert_zero(fused_alpha[i, k] - s_ik, f"fused s_{i + 1}{k + 1}")
    for k in range(K_):
        for j in range(N_):
            t_kj = sum(n[i, j] * alpha[i, k] * beta[k, j] / mix[i, j] for i in range(M_))
            _assert_zero(fused_beta[k, j] - t_kj, f"fused t_{k + 1}{j + 1}")


CHECKS: list[tuple[str, Callable[[], None]]] = [
    ("log_likelihood_splits_off_log_M", check_log_likelihood_splits_off_log_M),
    ("e_step_is_bayes_rule", check_e_step_is_bayes_rule),
    ("e_step_sums_to_one_over_topics", check_e_step_sums_to_one_over_topics),
    ("jensen_gap_is_kl", check_jensen_gap_is_kl),
    ("jensen_equality_at_posterior", check_jensen_equality_at_posterior),
    ("jensen_inequality_random_points", check_jensen_inequality_random_points),
    (
        "expected_loglik_gradient_uses_weighted_counts",
        check_expected_loglik_gradient_uses_weighted_counts,
    ),
    ("alpha_stationary_point", check_alpha_stationary_point),
    ("alpha_is_maximum", check_alpha_is_maximum),
    ("alpha_beats_random_points", check_alpha_beats_random_points),
    ("beta_stationary_point", check_beta_stationary_point),
    ("sparse_m_step_identity", check_sparse_m_step_identity),
    ("lagrange_steps", check_lagrange_steps),
]


def main() -> int:
    """Run every check, print one line each, return 1 if any failed (else 0)."""
    failed = 0
    for name, check in CHECKS:
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - report every failure, keep going
            failed += 1
            print(f"{name}: FAILED: {type(exc).__name__}: {exc}")
        else:
            print(f"{name}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
