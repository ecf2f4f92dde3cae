"""Verify every symbolic step of ``solutions/sigmoid_mlp/derivations.md`` with sympy.

Run ``python solutions/sigmoid_mlp/verify_derivations.py``: one line per check, exit status 1
if any check fails. Importing this file runs nothing; ``CHECKS`` lists the steps and
``ANSWERS`` holds the final symbolic answers the grader compares students' answers with.

Symbols and assumptions: ``n`` (fan-in of a layer) and ``eps`` (the eigenvalue margin) are
positive; ``x`` is real.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # solutions/: shared helpers
from sympy_identities import assert_zero as _assert_zero  # noqa: E402

n = sp.Symbol("n", positive=True)
eps = sp.Symbol("eps", positive=True)
x = sp.Symbol("x", real=True)

ANSWERS: dict[str, sp.Expr] = {
    "sigma_sq": 2 / n,
    "max_dsigmoid": sp.Rational(1, 4),
    "contraction": (4 - eps) / 4,
}

_SEED = 20240612


def sigmoid(z: sp.Expr) -> sp.Expr:
    """The logistic function 1 / (1 + e^{-z})."""
    return 1 / (1 + sp.exp(-z))


def _normal_pdf(z: sp.Expr, var: sp.Expr) -> sp.Expr:
    """Density of N(0, var) at z."""
    return sp.exp(-(z**2) / (2 * var)) / sp.sqrt(2 * sp.pi * var)


# ------------------------------------------------------------------------------------------
# Step 1: He initialisation, derived


def check_relu_second_moment_is_half_the_variance() -> None:
    """z ~ N(0, v): E[ReLU(z)^2] = int_0^oo z^2 p(z) dz = v/2 (the density integrates to 1)."""
    v = sp.Symbol("v", positive=True)
    z = sp.Symbol("z", real=True)
    total = sp.integrate(_normal_pdf(z, v), (z, -sp.oo, sp.oo))
    assert sp.simplify(total - 1) == 0, f"the N(0, v) density integrates to {total}, not 1"
    second_moment = sp.integrate(z**2 * _normal_pdf(z, v), (z, 0, sp.oo))
    _assert_zero(second_moment - v / 2, "E[ReLU(z)^2]")


def check_weight_moments() -> None:
    """w ~ N(0, q): E[w] = 0 and E[w^2] = q (used to drop the cross terms below)."""
    q = sp.Symbol("q", positive=True)
    w = sp.Symbol("w", real=True)
    _assert_zero(sp.integrate(w * _normal_pdf(w, q), (w, -sp.oo, sp.oo)), "E[w]")
    _assert_zero(sp.integrate(w**2 * _normal_pdf(w, q), (w, -sp.oo, sp.oo)) - q, "E[w^2]")


def check_preactivation_variance(n_terms: int = 4) -> None:
    """z = sum_i w_i h_i, w_i iid zero-mean (variance q), independent of h: E[z^2] = n q E[h^2].

    Expectation by moments: expand z^2, then E[w_i w_j] = q [i = j] (independence, zero
    mean); the same count holds for every n, shown here for n = 4 terms.
    """
    q, m2 = sp.symbols("q m2", positive=True)  # m2 = E[h_i^2]
    w = sp.symbols(f"w1:{n_terms + 1}", real=True)
    h = sp.symbols(f"h1:{n_terms + 1}", real=True)
    z = sum(wi * hi for wi, hi in zip(w, h))
    mean = sp.expand(z).subs({wi: 0 for wi in w})  # E[w_i] = 0 and independence
    expanded = sp.Poly(sp.expand(z**2), *w)
    second = 0
    for powers, coeff in expanded.terms():
        if sorted(powers) == [0] * (n_terms - 1) + [2]:  # a w_i^2 term: E[w_i^2] = q
            second += q * coeff.subs({hi: sp.sqrt(m2) for hi in h})
        # any other monomial contains some w_i to the first power: expectation 0
    _assert_zero(mean, "E[z]")
    _assert_zero(second - n_terms * q * m2, "E[z^2]")


def check_he_variance_preserves_variance(var_w: sp.Expr | None = None) -> None:
    """Var(z) = n Var(w) v/2 equals v for every v iff Var(w) = 2/n."""
    var_w = ANSWERS["sigma_sq"] if var_w is None else var_w
    v, q = sp.symbols("v q", positive=True)
    layer_variance = n * q * v / 2  # E[z^2] = n q E[h^2] with E[h^2] = v/2
    solutions = sp.solve(sp.Eq(layer_variance, v), q)
    assert solutions == [2 / n], f"Var(z) = v needs Var(w) in {solutions}"
    _assert_zero(layer_variance.subs(q, var_w) - v, f"Var(z) with Var(w) = {var_w}")


def check_he_std_is_square_root() -> None:
    """The standard deviation for sampling is sqrt(2/n); (sqrt(2/n))^2 = sigma_sq."""
    std = sp.sqrt(2 / n)
    _assert_zero(std**2 - ANSWERS["sigma_sq"], "he_std^2")
    assert sp.simplify(std - ANSWERS["sigma_sq"]) != 0, "std and variance should differ"


# The same derivation in the form question 3 grades: expectations as named symbols, the
# stated rules (linearity over the n terms, independence, zero mean) as substitutions.
E = {name: sp.Symbol(name, positive=True) for name in ("E_z2", "E_w2", "E_h2", "Var_a", "Var_z", "s")}
E |= {name: sp.Symbol(name, real=True) for name in ("E_z", "E_w", "E_h", "E_hh")}
GRADED_RULES = {
    "linearity": {E["E_z"]: n * E["E_w"] * E["E_h"],  # independence already applied
                  E["E_z2"]: n * E["E_w2"] * E["E_h2"] + n * (n - 1) * E["E_w"] ** 2 * E["E_hh"]},
    "zero mean": {E["E_w"]: 0, E["E_w2"]: E["s"] ** 2},
}
# The worked answers of question 3 (the grader compares its own copies of these).
DERIVATION_ANSWERS = {
    "relu_second_moment": E["Var_a"] / 2,
    "derivation_var_z": [
        "Var_z = E_z2 - E_z**2",
        "Var_z = n*E_w2*E_h2 + n*(n - 1)*E_w**2*E_hh - (n*E_w*E_h)**2",
        "Var_z = n*s**2*E_h2",
    ],
    "derivation_sigma_sq": ["Var_z = Var_a", "n*s**2*E_h2 = Var_a", "n*s**2*Var_a/2 = Var_a",
                            "s**2 = 2/n"],
}


def _rhs(step: str) -> sp.Expr:
    """The side of ``"Var_z = ..."`` that is not Var_z (the steps of derivation_var_z)."""
    lhs, rhs = step.split("=")
    return sp.sympify(rhs, locals={**E, "n": n})


def check_graded_var_z_steps(steps: list[str] | None = None) -> None:
    """Each step of derivation_var_z equals the one before once the rules are applied (first
    linearity and independence, then zero mean), and the last is n s^2 E[h^2]."""
    steps = DERIVATION_ANSWERS["derivation_var_z"] if steps is None else steps
    resolved = []
    for step in steps:
        value = _rhs(step)
        for rules in GRADED_RULES.values():
            value = value.xreplace(rules)
        resolved.append(sp.expand(value))
    for i in range(1, len(resolved)):
        _assert_zero(resolved[i] - resolved[i - 1], f"step {i + 1} of derivation_var_z")
    _assert_zero(_rhs(steps[-1]) - n * E["s"] ** 2 * E["E_h2"], "the last step of derivation_var_z")


def check_graded_sigma_sq_steps(relu_second_moment: sp.Expr | None = None) -> None:
    """derivation_sigma_sq: with Var(z) = n s^2 E[h^2] and E[h^2] = relu_second_moment, every
    step has the one positive solution s^2 = 2/n."""
    moment = DERIVATION_ANSWERS["relu_second_moment"] if relu_second_moment is None else relu_second_moment
    facts = {E["Var_z"]: n * E["s"] ** 2 * moment, E["E_h2"]: moment}
    for i, step in enumerate(DERIVATION_ANSWERS["derivation_sigma_sq"], 1):
        lhs, rhs = (sp.sympify(side, locals={**E, "n": n}) for side in step.split("="))
        solutions = sp.solve(sp.Eq(lhs, rhs).xreplace(facts), E["s"])
        assert solutions == [sp.sqrt(2) / sp.sqrt(n)], f"step {i} gives s in {solutions}"


# ------------------------------------------------------------------------------------------
# Step 2: the derivative of the sigmoid and its maximum


def check_dsigmoid_is_s_times_one_minus_s() -> None:
    """sigma'(x) = sigma(x) (1 - sigma(x))."""
    _assert_zero(sp.diff(sigmoid(x), x) - sigmoid(x) * (1 - sigmoid(x)), "sigma'")


def check_max_dsigmoid(max_dsigmoid: sp.Expr | None = None) -> None:
    """sigma' has one stationary point, x = 0, a maximum (sigma'''(0) = -1/8), value 1/4."""
    max_dsigmoid = ANSWERS["max_dsigmoid"] if max_dsigmoid is None else max_dsigmoid
    d1 = sp.diff(sigmoid(x), x)
    stationary = sp.solve(sp.diff(d1, x), x)
    assert stationary == [0], f"sigma'' = 0 at {stationary}, expected only x = 0"
    curvature = sp.simplify(sp.diff(d1, x, 2).subs(x, 0))
    assert curvature == sp.Rational(-1, 8), f"sigma'''(0) = {curvature}, expected -1/8"
    _assert_zero(d1.subs(x, 0) - max_dsigmoid, "sigma'(0) vs max_dsigmoid")


def check_dsigmoid_bound_is_global() -> None:
    """With s = sigma(x) in (0, 1): 1/4 - s (1 - s) = (s - 1/2)^2 >= 0 for every x."""
    s = sp.Symbol("s", positive=True)
    _assert_zero(
        ANSWERS["max_dsigmoid"] - s * (1 - s) - (s - sp.Rational(1, 2)) ** 2, "1/4 - s(1-s)"
    )


# ------------------------------------------------------------------------------------------
# Step 3: the contraction per layer


def check_contraction_per_layer(contraction: sp.Expr | None = None) -> None:
    """|sigma'| <= 1/4 and eigenvalues of W within 4 - eps give (4 - eps)/4 < 1 per layer."""
    contraction = ANSWERS["contraction"] if contraction is None else contraction
    _assert_zero(ANSWERS["max_dsigmoid"] * (4 - eps) - contraction, "max sigma' * (4 - eps)")
    below_one = sp.simplify(contraction - 1)
    assert below_one.is_negative, f"contraction - 1 = {below_one} is not negative for eps > 0"


def check_contraction_on_random_layers(n_layers: int = 200, width: int = 6) -> None:
    """||diag(sigma'(z)) W delta|| <= (4 - eps)/4 ||delta|| for symmetric W with spectrum in
    [-(4 - eps), 4 - eps], numerically on random instances (an inequality: random points)."""
    rng = np.random.default_rng(_SEED)
    for _ in range(n_layers):
        eps_value = rng.uniform(0.01, 3.99)
        Q, _ = np.linalg.qr(rng.standard_normal((width, width)))
        W = Q @ np.diag(rng.uniform(-(4 - eps_value), 4 - eps_value, width)) @ Q.T
        z = rng.standard_normal(width) * 3
        s = 1 / (1 + np.exp(-z))
        delta = rng.standard_normal(width)
        bound = float(ANSWERS["contraction"].subs(eps, eps_value))
        ratio = np.linalg.norm((s * (1 - s)) * (W @ delta)) / np.linalg.norm(delta)
        assert ratio <= bound + 1e-12, f"ratio {ratio} > (4 - eps)/4 = {bound}"


# ------------------------------------------------------------------------------------------
# Step 4: backprop in the 784-H-H-1 network, on D = 2 inputs and H = 2 hidden units


def _bce(f: sp.Expr, y: sp.Expr) -> sp.Expr:
    return -(y * sp.log(f) + (1 - y) * sp.log(1 - f))


def check_output_layer_gradient(n_examples: int = 2, H: int = 2) -> None:
    """Sigmoid + cross-entropy, summed over examples: dL/dw3 = sum_n (f_n - y_n) h2_n,
    dL/db3 = sum_n (f_n - y_n)."""
    w3 = sp.symbols(f"w3_1:{H + 1}", real=True)
    b3 = sp.Symbol("b3", real=True)
    y = sp.symbols(f"y1:{n_examples + 1}", real=True)
    h2 = [sp.symbols(f"h2_{i}_1:{H + 1}", real=True) for i in range(1, n_examples + 1)]
    a3 = [sum(w * h for w, h in zip(w3, hn)) + b3 for hn in h2]
    f = [sigmoid(a) for a in a3]
    L = sum(_bce(fn, yn) for fn, yn in zip(f, y))
    for j in range(H):
        closed = sum((fn - yn) * hn[j] for fn, yn, hn in zip(f, y, h2))
        _assert_zero(sp.diff(L, w3[j]) - closed, f"dL/dw3_{j + 1}")
    _assert_zero(sp.diff(L, b3) - sum(fn - yn for fn, yn in zip(f, y)), "dL/db3")


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i + 1}{j + 1}", real=True))


def _hidden_network(D: int = 2, H: int = 2) -> dict[str, object]:
    """One example through h1 = phi(W1^T x + b1), h2 = phi(W2^T h1 + b2), a3 = w3^T h2 + b3,
    L = ell(a3), with phi and ell generic functions."""
    phi, ell = sp.Function("phi"), sp.Function("ell")
    xs = sp.Matrix(sp.symbols(f"x1:{D + 1}", real=True))
    W1, W2 = _matrix("W1_", D, H), _matrix("W2_", H, H)
    b1 = sp.Matrix(sp.symbols(f"b1_1:{H + 1}", real=True))
    b2 = sp.Matrix(sp.symbols(f"b2_1:{H + 1}", real=True))
    w3 = sp.Matrix(sp.symbols(f"w3_1:{H + 1}", real=True))
    b3 = sp.Symbol("b3", real=True)
    a1 = W1.T * xs + b1
    h1 = a1.applyfunc(phi)
    a2 = W2.T * h1 + b2
    h2 = a2.applyfunc(phi)
    a3 = (w3.T * h2)[0, 0] + b3
    z = sp.Symbol("z")

    def prime(fn: sp.Function, at: sp.Expr) -> sp.Expr:
        return sp.diff(fn(z), z).subs(z, at)

    return {
        "L": ell(a3),
        "x": xs,
        "W1": W1,
        "W2": W2,
        "b1": b1,
        "w3": w3,
        "a1": a1,
        "a2": a2,
        "h1": h1,
        "h2": h2,
        "delta3": prime(ell, a3),
        "dphi": lambda v: prime(phi, v),
    }


def check_hidden_layer_gradients(use_activation: bool = False) -> None:
    """delta2 = phi'(a2) * (w3 delta3), dL/dW2 = h1 delta2^T; delta1 = phi'(a1) * (W2 delta2),
    dL/dW1 = x delta1^T, dL/db1 = delta1 (phi' at the pre-activation, elementwise).

    ``use_activation=True`` plants the mistake phi'(h) instead of phi'(a): it must fail.
    """
    net = _hidden_network()
    dphi = net["dphi"]
    at2 = net["h2"] if use_activation else net["a2"]
    delta2 = at2.applyfunc(dphi).multiply_elementwise(net["w3"] * net["delta3"])
    delta1 = net["a1"].applyfunc(dphi).multiply_elementwise(net["W2"] * delta2)
    L, W1, W2, b1 = net["L"], net["W1"], net["W2"], net["b1"]
    dW2 = sp.Matrix(*W2.shape, lambda i, j: sp.diff(L, W2[i, j]))
    _assert_zero(dW2 - net["h1"] * delta2.T, "dL/dW2")
    dW1 = sp.Matrix(*W1.shape, lambda i, j: sp.diff(L, W1[i, j]))
    _assert_zero(dW1 - net["x"] * delta1.T, "dL/dW1")
    db1 = sp.Matrix([sp.diff(L, bi) for bi in b1])
    _assert_zero(db1 - delta1, "dL/db1")


def check_incoming_gradients_share_sign_for_one_example() -> None:
    """For one example dL/dW1[i, j] = x_i delta1_j, so x_k dL/dW1[i, j] = x_i dL/dW1[k, j]:
    with inputs x >= 0 all incoming-weight gradients of unit j have the sign of delta1_j."""
    net = _hidden_network()
    L, W1, xs = net["L"], net["W1"], net["x"]
    for j in range(W1.shape[1]):
        _assert_zero(
            xs[1] * sp.diff(L, W1[0, j]) - xs[0] * sp.diff(L, W1[1, j]),
            f"gradients into hidden unit {j + 1}",
        )


CHECKS: list[tuple[str, Callable[[], None]]] = [
    ("relu_second_moment_is_half_the_variance", check_relu_second_moment_is_half_the_variance),
    ("weight_moments", check_weight_moments),
    ("preactivation_variance", check_preactivation_variance),
    ("he_variance_preserves_variance", check_he_variance_preserves_variance),
    ("he_std_is_square_root", check_he_std_is_square_root),
    ("graded_var_z_steps", check_graded_var_z_steps),
    ("graded_sigma_sq_steps", check_graded_sigma_sq_steps),
    ("dsigmoid_is_s_times_one_minus_s", check_dsigmoid_is_s_times_one_minus_s),
    ("max_dsigmoid", check_max_dsigmoid),
    ("dsigmoid_bound_is_global", check_dsigmoid_bound_is_global),
    ("contraction_per_layer", check_contraction_per_layer),
    ("contraction_on_random_layers", check_contraction_on_random_layers),
    ("output_layer_gradient", check_output_layer_gradient),
    ("hidden_layer_gradients", check_hidden_layer_gradients),
    (
        "incoming_gradients_share_sign_for_one_example",
        check_incoming_gradients_share_sign_for_one_example,
    ),
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
