"""Verify every symbolic step of ``solutions/gd_mnist/derivations.md`` with sympy.

Run ``python solutions/gd_mnist/verify_derivations.py``: one line per check, exit status 1 if
any check fails. Importing this file runs nothing; ``CHECKS`` lists the steps and ``ANSWERS``
holds the final symbolic answers the grader compares students' answers with.

Symbols and assumptions: the curvatures ``a, b`` are positive; the step ``eta`` and the
weights ``w1, w2`` are real.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # solutions/: shared helpers
from sympy_identities import assert_zero as _assert_zero  # noqa: E402

a, b = sp.symbols("a b", positive=True)
eta = sp.Symbol("eta", real=True)
w1, w2 = sp.symbols("w1 w2", real=True)

ANSWERS: dict[str, sp.Basic] = {
    "w_star": sp.Tuple(0, 0),
    "rho1": 1 - eta * a,
    "rho2": 1 - eta * b,
    "eta_max": sp.Min(2 / a, 2 / b),
    "eta_opt": 2 / (a + b),
    "rate_opt": (a - b) / (a + b),
}

_SEED = 20240613

LOSS = (a * w1**2 + b * w2**2) / 2


def _random_curvatures(rng: random.Random) -> tuple[sp.Rational, sp.Rational]:
    """Exact random a > b > 0 (exact rationals, so comparisons below are exact)."""
    lo, hi = sorted(rng.sample(range(1, 400), 2))
    return sp.Rational(hi, rng.randint(1, 20)), sp.Rational(lo, 20 + rng.randint(1, 20))


# ------------------------------------------------------------------------------------------
# Part A, step 1: gradient and minimiser


def check_gradient() -> None:
    """grad L = (a w1, b w2)."""
    grad = sp.Matrix([sp.diff(LOSS, w1), sp.diff(LOSS, w2)])
    _assert_zero(grad - sp.Matrix([a * w1, b * w2]), "grad L")


def check_minimiser(w_star: sp.Basic | None = None) -> None:
    """grad L = 0 only at (0, 0), and the Hessian diag(a, b) is positive definite there."""
    w_star = ANSWERS["w_star"] if w_star is None else w_star
    stationary = sp.solve([sp.diff(LOSS, w1), sp.diff(LOSS, w2)], [w1, w2], dict=True)
    assert stationary == [{w1: 0, w2: 0}], f"stationary points {stationary}"
    assert tuple(w_star) == (0, 0), f"w_star = {w_star}, but grad L = 0 only at (0, 0)"
    eigenvalues = sp.hessian(LOSS, (w1, w2)).eigenvals()
    assert all(ev.is_positive for ev in eigenvalues), f"Hessian eigenvalues {eigenvalues}"


# ------------------------------------------------------------------------------------------
# Part A, step 2: one step of gradient descent


def check_gd_step_scales_each_coordinate(
    rho1: sp.Expr | None = None, rho2: sp.Expr | None = None
) -> None:
    """w - eta grad L = (rho1 w1, rho2 w2) with rho1 = 1 - eta a, rho2 = 1 - eta b."""
    rho1 = ANSWERS["rho1"] if rho1 is None else rho1
    rho2 = ANSWERS["rho2"] if rho2 is None else rho2
    step = sp.Matrix([w1, w2]) - eta * sp.Matrix([sp.diff(LOSS, w1), sp.diff(LOSS, w2)])
    _assert_zero(step - sp.Matrix([rho1 * w1, rho2 * w2]), "one GD step")


def check_gd_closed_form() -> None:
    """w_t = (rho1^t w1_0, rho2^t w2_0): one step maps the formula at t to the one at t + 1."""
    t = sp.Symbol("t", integer=True, nonnegative=True)
    rho1, rho2 = ANSWERS["rho1"], ANSWERS["rho2"]
    w_t = sp.Matrix([rho1**t * w1, rho2**t * w2])  # (w1, w2) play w_0 here
    grad_at_w_t = sp.Matrix([a * w_t[0], b * w_t[1]])
    w_next = w_t - eta * grad_at_w_t
    _assert_zero(
        sp.powsimp(w_next - sp.Matrix([rho1 ** (t + 1) * w1, rho2 ** (t + 1) * w2]), force=True),
        "w_{t+1}",
    )
    _assert_zero(w_t.subs(t, 0) - sp.Matrix([w1, w2]), "w_0")


# ------------------------------------------------------------------------------------------
# Part A, step 3: which steps converge


def check_stable_steps_per_coordinate() -> None:
    """|1 - eta a| < 1 iff 0 < eta < 2/a (and the same with b)."""
    for curvature, rho in ((a, ANSWERS["rho1"]), (b, ANSWERS["rho2"])):
        region = sp.solve_univariate_inequality(sp.Abs(rho) < 1, eta, relational=False)
        assert region == sp.Interval.open(0, 2 / curvature), f"|{rho}| < 1 on {region}"


def check_stable_steps_both_coordinates() -> None:
    """Both contract iff 0 < eta, eta < 2/a and eta < 2/b (reduce_inequalities, a, b > 0)."""
    region = sp.reduce_inequalities([sp.Abs(ANSWERS["rho1"]) < 1, sp.Abs(ANSWERS["rho2"]) < 1], eta)
    expected = sp.And(0 < eta, eta < 2 / a, eta < 2 / b)

    def canonical(rel: sp.Basic) -> set[sp.Basic]:
        return {r.canonical for r in sp.And.make_args(rel)}

    assert canonical(region) == canonical(expected), (
        f"reduce_inequalities gives {region}, expected {expected}"
    )


def check_eta_max_is_supremum(eta_max: sp.Expr | None = None, n_points: int = 20) -> None:
    """sup of (0, 2/a) ∩ (0, 2/b) is Min(2/a, 2/b), and at that step max |rho_i| = 1 exactly.

    sympy leaves the symbolic intersection unevaluated, so this is checked at random exact
    rational (a, b), in both orders.
    """
    eta_max = ANSWERS["eta_max"] if eta_max is None else eta_max
    rng = random.Random(_SEED)
    for _ in range(n_points):
        big, small = _random_curvatures(rng)
        for point in ({a: big, b: small}, {a: small, b: big}):
            stable = sp.Intersection(
                sp.Interval.open(0, 2 / point[a]), sp.Interval.open(0, 2 / point[b])
            )
            boundary = eta_max.xreplace(point)  # xreplace: no symbolic Min(2/a_value, 2/b)
            assert stable.sup == boundary, f"sup {stable.sup} != eta_max {boundary} at {point}"
            radius = max(
                abs(r.subs(point).subs(eta, boundary)) for r in (ANSWERS["rho1"], ANSWERS["rho2"])
            )
            assert radius == 1, f"at eta = eta_max, max |rho| = {radius}, expected 1"


# ------------------------------------------------------------------------------------------
# Part A, step 4: the best step


def _rate(step: sp.Rational, point: dict[sp.Symbol, sp.Rational]) -> sp.Rational:
    """max(|rho1|, |rho2|) at a numeric step and numeric (a, b), in exact arithmetic."""
    at = {**point, eta: step}
    return max(abs(ANSWERS["rho1"].subs(at)), abs(ANSWERS["rho2"].subs(at)))


def check_optimal_step_equalises_rates(eta_opt: sp.Expr | None = None) -> None:
    """At eta = 2/(a + b): |1 - eta a| = |1 - eta b| = (a - b)/(a + b), for a = b + c >= b."""
    eta_opt = ANSWERS["eta_opt"] if eta_opt is None else eta_opt
    c = sp.Symbol("c", nonnegative=True)  # a >= b written as a = b + c
    as_c = {a: b + c}
    r1 = sp.simplify(sp.Abs(ANSWERS["rho1"].subs(eta, eta_opt)).subs(as_c))
    r2 = sp.simplify(sp.Abs(ANSWERS["rho2"].subs(eta, eta_opt)).subs(as_c))
    _assert_zero(r1 - r2, "|rho1| - |rho2| at eta_opt")
    _assert_zero(r2 - ANSWERS["rate_opt"].subs(as_c), "rate at eta_opt vs rate_opt")


def check_optimal_step_is_minimum(n_points: int = 100) -> None:
    """max(|1 - eta a|, |1 - eta b|) grows when eta moves either way from 2/(a + b).

    Checked at random exact a > b > 0 and random exact offsets (an inequality).
    """
    rng = random.Random(_SEED + 1)
    for _ in range(n_points):
        big, small = _random_curvatures(rng)
        point = {a: big, b: small}
        best = ANSWERS["eta_opt"].subs(point)
        best_rate = _rate(best, point)
        assert best_rate == ANSWERS["rate_opt"].subs(point), f"rate at eta_opt, {point}"
        for offset in (
            best * sp.Rational(rng.randint(1, 999), 1000),
            best * sp.Rational(rng.randint(1, 1000), 10 ** rng.randint(3, 9)),
        ):
            for step in (best - offset, best + offset):
                assert _rate(step, point) > best_rate, (
                    f"eta = {step} does as well as eta_opt = {best} at {point}"
                )


# ------------------------------------------------------------------------------------------
# Part B: softmax + cross-entropy, and backprop through the sigmoid MLP


def _softmax(z: sp.Matrix) -> sp.Matrix:
    total = sum(sp.exp(zi) for zi in z)
    return z.applyfunc(lambda zi: sp.exp(zi) / total)


def check_softmax_cross_entropy_gradient(n_classes: int = 3) -> None:
    """L = -sum_c y_c log yhat_c with yhat = softmax(z), sum_c y_c = 1: dL/dz = yhat - y.

    Shown for soft labels (y_3 = 1 - y_1 - y_2) and for each one-hot label.
    """
    z = sp.Matrix(sp.symbols(f"z1:{n_classes + 1}", real=True))
    free = sp.symbols(f"y1:{n_classes}", real=True)
    labels = [sp.Matrix([*free, 1 - sum(free)])]
    labels += [sp.Matrix([int(c == k) for c in range(n_classes)]) for k in range(n_classes)]
    yhat = _softmax(z)
    for y in labels:
        L = -sum(yc * sp.log(pc) for yc, pc in zip(y, yhat))
        grad = sp.Matrix([sp.diff(L, zi) for zi in z])
        _assert_zero(grad - (yhat - y), f"dL/dz for y = {list(y)}")


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i + 1}{j + 1}", real=True))


def check_mlp_backprop(sigma_prime_at_activation: bool = False) -> None:
    """784-32-32-10 in miniature (2-2-2-3), weights (n_in, n_out), one sample, any loss
    ell(z3) of the logits and any activation phi (both generic sympy functions):
    d3 = grad ell(z3), dW3 = h2 d3^T; d2 = phi'(z2) * (W3 d3), dW2 = h1 d2^T;
    d1 = phi'(z1) * (W2 d2), dW1 = x d1^T; db_l = d_l. With ell = cross-entropy of the
    softmax, d3 = yhat - y (``softmax_cross_entropy_gradient``).

    ``sigma_prime_at_activation=True`` plants the mistake phi'(h) instead of phi'(z).
    """
    phi, ell = sp.Function("phi"), sp.Function("ell")
    u = sp.Symbol("u")

    def dphi(v: sp.Expr) -> sp.Expr:
        return sp.diff(phi(u), u).subs(u, v)

    sizes = (2, 2, 2, 3)
    x = sp.Matrix(sp.symbols(f"x1:{sizes[0] + 1}", real=True))
    W = [_matrix(f"W{k + 1}_", sizes[k], sizes[k + 1]) for k in range(3)]
    bias = [sp.Matrix(sp.symbols(f"b{k + 1}_1:{sizes[k + 1] + 1}", real=True)) for k in range(3)]
    z1 = W[0].T * x + bias[0]
    h1 = z1.applyfunc(phi)
    z2 = W[1].T * h1 + bias[1]
    h2 = z2.applyfunc(phi)
    z3 = W[2].T * h2 + bias[2]
    L = ell(*z3)
    slots = sp.symbols(f"v1:{sizes[3] + 1}")
    d3 = sp.Matrix([sp.diff(ell(*slots), v) for v in slots]).subs(dict(zip(slots, z3)))
    at1, at2 = (h1, h2) if sigma_prime_at_activation else (z1, z2)
    d2 = at2.applyfunc(dphi).multiply_elementwise(W[2] * d3)
    d1 = at1.applyfunc(dphi).multiply_elementwise(W[1] * d2)
    for k, inp, delta in ((2, h2, d3), (1, h1, d2), (0, x, d1)):  # backwards, as backprop
        grad_W = W[k].applyfunc(lambda p: sp.diff(L, p))
        _assert_zero(grad_W - inp * delta.T, f"dL/dW{k + 1}")
        grad_b = sp.Matrix([sp.diff(L, bi) for bi in bias[k]])
        _assert_zero(grad_b - delta, f"dL/db{k + 1}")


# ------------------------------------------------------------------------------------------
# The derivations questions 2-4 grade step by step (the notebook's answers, as strings)

DERIVATION_ANSWERS: dict[str, list[str]] = {
    "derivation_rho1": [
        "w1_next = w1 - eta*dL_dw1",
        "w1_next = w1 - eta*a*w1",
        "w1_next = (1 - eta*a)*w1",
    ],
    "derivation_eta_max": ["rho1 = -1", "1 - eta*a = -1", "eta*a = 2", "eta = 2/a"],
    "derivation_eta_opt": [
        "rho2 = -rho1",
        "1 - eta*b = eta*a - 1",
        "eta*(a + b) = 2",
        "eta = 2/(a + b)",
    ],
    "derivation_rate_opt": [
        "rate = 1 - eta_opt*b",
        "rate = 1 - 2*b/(a + b)",
        "rate = (a + b - 2*b)/(a + b)",
        "rate = (a - b)/(a + b)",
    ],
}

_STEP_NAMES = {
    n: sp.Symbol(n, real=True) for n in ("w1_next", "dL_dw1", "rho1", "rho2", "rate", "eta_opt")
}
_STEP_NAMES.update(a=a, b=b, eta=eta, w1=w1)


def _equation(step: str) -> sp.Expr:
    """``"lhs = rhs"`` as the expression lhs - rhs, in the derivations' symbols."""
    lhs, rhs = step.split("=")
    return sp.sympify(lhs, locals=_STEP_NAMES) - sp.sympify(rhs, locals=_STEP_NAMES)


def _same_equation(before: sp.Expr, after: sp.Expr, what: str) -> None:
    """``after = 0`` is ``before = 0`` times a non-zero constant."""
    ratio = sp.cancel(before / after)
    assert ratio.is_number and ratio != 0, (
        f"{what}: ({before}) / ({after}) = {ratio} is not a constant"
    )


def _solutions(residual: sp.Expr, unknown: sp.Symbol) -> list[sp.Expr]:
    return sp.solve(residual, unknown)


def check_rho1_derivation(steps: list[str] | None = None) -> None:
    """From the update rule w1_next = w1 - eta dL/dw1 (dL/dw1 = a w1, by differentiating L)
    to w1_next = rho1 w1: every step the same equation as the one before."""
    steps = DERIVATION_ANSWERS["derivation_rho1"] if steps is None else steps
    fact = {_STEP_NAMES["dL_dw1"]: sp.diff(LOSS, w1)}
    residuals = [_equation(st).xreplace(fact) for st in steps]
    _same_equation(
        _equation("w1_next = w1 - eta*dL_dw1").xreplace(fact), residuals[0], "the update rule"
    )
    for i in range(1, len(residuals)):
        _same_equation(residuals[i - 1], residuals[i], f"derivation_rho1 step {i + 1}")
    _same_equation(
        residuals[-1], _STEP_NAMES["w1_next"] - ANSWERS["rho1"] * w1, "w1_next = rho1*w1"
    )


def check_eta_max_derivation(steps: list[str] | None = None) -> None:
    """From rho1 = -1 (rho1 = 1 - eta a) to eta = 2/a: every step has the same solution in
    eta; 2/a is the first coordinate's bound, and eta_max = Min(2/a, 2/b) the smaller of the two
    bounds (the second coordinate's is 2/b by symmetry)."""
    steps = DERIVATION_ANSWERS["derivation_eta_max"] if steps is None else steps
    fact = {_STEP_NAMES["rho1"]: ANSWERS["rho1"]}
    found = [_solutions(_equation(st).xreplace(fact), eta) for st in steps]
    for i, sol in enumerate(found):
        assert sol == [2 / a], f"derivation_eta_max step {i + 1} gives eta = {sol}, expected [2/a]"
    bound_b = _solutions((ANSWERS["rho2"] + 1), eta)
    assert bound_b == [2 / b], f"rho2 = -1 at eta = {bound_b}"
    assert ANSWERS["eta_max"] == sp.Min(2 / a, bound_b[0]), f"eta_max = {ANSWERS['eta_max']}"


def check_eta_opt_derivation(steps: list[str] | None = None) -> None:
    """From rho2 = -rho1 to eta = 2/(a + b): every step has the same solution in eta, eta_opt."""
    steps = DERIVATION_ANSWERS["derivation_eta_opt"] if steps is None else steps
    fact = {_STEP_NAMES["rho1"]: ANSWERS["rho1"], _STEP_NAMES["rho2"]: ANSWERS["rho2"]}
    for i, st in enumerate(steps):
        sol = _solutions(_equation(st).xreplace(fact), eta)
        assert len(sol) == 1, f"derivation_eta_opt step {i + 1} gives eta = {sol}"
        _assert_zero(sol[0] - ANSWERS["eta_opt"], f"derivation_eta_opt step {i + 1}")


def check_rate_opt_derivation(steps: list[str] | None = None) -> None:
    """From rate = 1 - eta_opt b (rho2 at the best step, >= 0 for a >= b) to (a - b)/(a + b):
    every step the same equation once eta_opt = 2/(a + b) is substituted."""
    steps = DERIVATION_ANSWERS["derivation_rate_opt"] if steps is None else steps
    fact = {_STEP_NAMES["eta_opt"]: ANSWERS["eta_opt"]}
    residuals = [_equation(st).xreplace(fact) for st in steps]
    _same_equation(
        _STEP_NAMES["rate"] - ANSWERS["rho2"].subs(eta, ANSWERS["eta_opt"]),
        residuals[0],
        "rate = rho2 at eta_opt",
    )
    for i in range(1, len(residuals)):
        _same_equation(residuals[i - 1], residuals[i], f"derivation_rate_opt step {i + 1}")
    _same_equation(residuals[-1], _STEP_NAMES["rate"] - ANSWERS["rate_opt"], "rate = rate_opt")


CHECKS: list[tuple[str, Callable[[], None]]] = [
    ("gradient", check_gradient),
    ("minimiser", check_minimiser),
    ("gd_step_scales_each_coordinate", check_gd_step_scales_each_coordinate),
    ("gd_closed_form", check_gd_closed_form),
    ("stable_steps_per_coordinate", check_stable_steps_per_coordinate),
    ("stable_steps_both_coordinates", check_stable_steps_both_coordinates),
    ("eta_max_is_supremum", check_eta_max_is_supremum),
    ("optimal_step_equalises_rates", check_optimal_step_equalises_rates),
    ("optimal_step_is_minimum", check_optimal_step_is_minimum),
    ("softmax_cross_entropy_gradient", check_softmax_cross_entropy_gradient),
    ("mlp_backprop", check_mlp_backprop),
    ("rho1_derivation", check_rho1_derivation),
    ("eta_max_derivation", check_eta_max_derivation),
    ("eta_opt_derivation", check_eta_opt_derivation),
    ("rate_opt_derivation", check_rate_opt_derivation),
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
