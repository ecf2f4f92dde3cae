"""Verify every symbolic step of ``solutions/deep_chain/derivations.md`` with sympy.

Run ``python solutions/deep_chain/verify_derivations.py``: one line per check, exit status 1
if any check fails. Importing this file runs nothing; ``CHECKS`` lists the steps and
``ANSWERS`` holds the final symbolic answers the grader compares students' answers with.

The derivative of tanh used by the backprop formulas is a parameter of several checks
(``dtanh``), so the tests can show that a wrong one (1 - u**2) is caught.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import mpmath
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # solutions/: shared helpers
from sympy_identities import assert_zero as _assert_zero  # noqa: E402

ANSWERS: dict[str, sp.Expr] = {
    "shrink_factor": 5 * sp.sech(5) ** 2,
}

_SEED = 20240611

Dtanh = Callable[[sp.Expr], sp.Expr]


def tanh_prime(u: sp.Expr) -> sp.Expr:
    """tanh'(u) written as 1 - tanh(u)^2 (the form derived in the first check)."""
    return 1 - sp.tanh(u) ** 2


# ------------------------------------------------------------------------------------------
# Step 1: the derivative of tanh


def check_dtanh_is_one_minus_tanh_squared() -> None:
    """d/du tanh(u) = 1 - tanh(u)^2 = sech(u)^2, and it is even in u."""
    u = sp.Symbol("u", real=True)
    _assert_zero(sp.diff(sp.tanh(u), u) - tanh_prime(u), "tanh' vs 1 - tanh^2")
    _assert_zero((tanh_prime(u) - sp.sech(u) ** 2).rewrite(sp.exp), "1 - tanh^2 vs sech^2")
    _assert_zero((tanh_prime(-u) - tanh_prime(u)).rewrite(sp.exp), "tanh' is even")


def check_stable_sech_squared() -> None:
    """sech(u)^2 = 4 e^{-2|u|} / (1 + e^{-2|u|})^2 (no overflow, no cancellation)."""
    u = sp.Symbol("u", positive=True)  # the form is even, so u > 0 covers both signs
    stable = 4 * sp.exp(-2 * u) / (1 + sp.exp(-2 * u)) ** 2
    _assert_zero((sp.sech(u) ** 2 - stable).rewrite(sp.exp), "stable sech^2")


# ------------------------------------------------------------------------------------------
# Step 2: backprop through the scalar chain, on a 3-layer chain with m = 2 examples

_L, _M = 3, 2


def _chain() -> dict[str, object]:
    """The symbolic chain with a perturbation e_k added to every u_k.

    dJ/de_k at e = 0 is g_k = dJ/du_k by definition, without any hand-made chain rule.
    """
    x = sp.Matrix(sp.symbols(f"x1:{_M + 1}", real=True))
    y = sp.Matrix(sp.symbols(f"y1:{_M + 1}", real=True))
    w = sp.symbols(f"w1:{_L + 1}", real=True)
    b = sp.symbols(f"b1:{_L + 1}", real=True)
    e = [sp.Matrix(sp.symbols(f"e{k}_1:{_M + 1}", real=True)) for k in range(1, _L + 1)]
    ones = sp.ones(_M, 1)
    h, u = [x], []
    for k in range(_L):
        u.append(h[-1] * w[k] + ones * b[k] + e[k])
        h.append(u[-1].applyfunc(sp.tanh))
    J = (y - h[-1]).dot(y - h[-1]) / (2 * _M)
    at_zero = {ei: 0 for ek in e for ei in ek}
    g = [sp.Matrix([sp.diff(J, ei) for ei in ek]).subs(at_zero) for ek in e]
    return {
        "x": x,
        "y": y,
        "w": w,
        "b": b,
        "J": J.subs(at_zero),
        "g": g,
        "u": [uk.subs(at_zero) for uk in u],
        "h": [hk.subs(at_zero) for hk in h],
    }


def check_output_layer_g(dtanh: Dtanh = tanh_prime) -> None:
    """g_l = (1/m) tanh'(u_l) * (h_l - y), elementwise."""
    c = _chain()
    u_l, h_l, y = c["u"][-1], c["h"][-1], c["y"]
    closed = (h_l - y).multiply_elementwise(u_l.applyfunc(dtanh)) / _M
    _assert_zero(c["g"][-1] - closed, "g_l")


def check_backward_recurrence(dtanh: Dtanh = tanh_prime) -> None:
    """g_{k-1} = tanh'(u_{k-1}) * g_k w_k for k = l, ..., 2 (elementwise product)."""
    c = _chain()
    g, u, w = c["g"], c["u"], c["w"]
    for k in range(_L - 1, 0, -1):  # 0-based: g[k] is g_{k+1}
        closed = u[k - 1].applyfunc(dtanh).multiply_elementwise(g[k] * w[k])
        _assert_zero(g[k - 1] - closed, f"g_{k} from g_{k + 1}")


def check_weight_and_bias_gradients() -> None:
    """dJ/dw_k = h_{k-1}^T g_k and dJ/db_k = 1^T g_k."""
    c = _chain()
    for k in range(_L):
        g_k = c["g"][k]
        _assert_zero(sp.diff(c["J"], c["w"][k]) - c["h"][k].dot(g_k), f"dJ/dw_{k + 1}")
        _assert_zero(sp.diff(c["J"], c["b"][k]) - sum(g_k), f"dJ/db_{k + 1}")


# ------------------------------------------------------------------------------------------
# Step 3: why w = 5 and w = 0.9 do not train


def check_shrink_factor(dtanh: Dtanh = tanh_prime) -> None:
    """With h ~ +-1 and w = 5, u ~ +-5 and |g_{k-1}| / |g_k| = w tanh'(+-w) = 5 sech(5)^2."""
    w = sp.Integer(5)
    factor = w * dtanh(w)  # tanh' is even, so u = -5 gives the same factor
    _assert_zero((factor - ANSWERS["shrink_factor"]).rewrite(sp.exp), "shrink factor at w=5")
    exact = 20 * sp.exp(-10) / (1 + sp.exp(-10)) ** 2  # 5 * 4 e^{-10} / (1 + e^{-10})^2
    _assert_zero((factor - exact).rewrite(sp.exp), "shrink factor in exponentials")
    value = sp.N(factor, 30)
    assert abs(value - sp.Float("9.0792e-4")) < sp.Float("1e-7"), f"5 sech(5)^2 = {value}"


def check_shrink_factor_product_over_99_layers() -> None:
    """(5 sech(5)^2)^99 < 1e-300, evaluated exactly (no float underflow)."""
    product = ANSWERS["shrink_factor"] ** 99
    log10 = sp.N(sp.log(product, 10), 30)
    assert log10 < -300, f"log10((5 sech 5^2)^99) = {log10}, expected below -300"


def _trace(w: float, n_layers: int = 100, dps: int = 50) -> tuple[list, list]:
    """Exact (50-digit) forward/backward pass of the published chain x = y = (-1/2, 1/2)."""
    with mpmath.workdps(dps):
        x = [mpmath.mpf(-1) / 2, mpmath.mpf(1) / 2]
        w = mpmath.mpf(w)
        h, u = [x], []
        for _ in range(n_layers):
            u.append([hi * w for hi in h[-1]])
            h.append([mpmath.tanh(ui) for ui in u[-1]])
        m = len(x)
        g = [[mpmath.sech(ui) ** 2 * (hi - yi) / m for ui, hi, yi in zip(u[-1], h[-1], x)]]
        for k in range(n_layers - 1, 0, -1):
            g.insert(0, [mpmath.sech(ui) ** 2 * gi * w for ui, gi in zip(u[k - 1], g[0])])
        return h, g


def check_layer1_gradient_underflows_at_w5() -> None:
    """For w = 5 (100 layers), |g_1| < 1e-250 and each step shrinks g by ~5 sech(5)^2."""
    _, g = _trace(5)
    largest = max(abs(gi) for gi in g[0])
    assert largest < mpmath.mpf("1e-250"), f"max |g_1| = {mpmath.nstr(largest, 5)}"
    factor = mpmath.mpf(str(sp.N(ANSWERS["shrink_factor"], 40)))
    for k in range(3, 100):  # from layer 3 on, h_{k-1} is within 1e-3 of +-1
        ratio = abs(g[k - 1][0] / g[k][0])
        assert abs(ratio / factor - 1) < 0.01, f"|g_{k}/g_{k + 1}| = {ratio}, not ~{factor}"


def check_activations_vanish_at_w09() -> None:
    """For w = 0.9, |h_100| < 1e-3: tanh(0.9 h) < 0.9 |h| shrinks h geometrically."""
    h, _ = _trace(0.9)
    largest = max(abs(hi) for hi in h[-1])
    assert largest < mpmath.mpf("1e-3"), f"max |h_100| = {mpmath.nstr(largest, 5)}"


def check_weight_gradients_first_iteration() -> None:
    """dJ/dw_k = h_{k-1}^T g_k on the published runs: for w = 5 only the last layers get a
    usable gradient (|dw_k| < 1e-9 for k <= 97); for w = 0.9 every layer gets a uniformly
    tiny one (all |dw_k| in [1e-6, 1e-5])."""
    h, g = _trace(5)
    dw = [abs(mpmath.fsum(a * b for a, b in zip(h[k], g[k]))) for k in range(100)]
    assert max(dw[:97]) < mpmath.mpf("1e-9"), f"w=5: max |dw_k|, k<=97, is {max(dw[:97])}"
    assert dw[99] > mpmath.mpf("1e-5"), f"w=5: |dw_100| = {dw[99]}"
    h, g = _trace(0.9)
    dw = [abs(mpmath.fsum(a * b for a, b in zip(h[k], g[k]))) for k in range(100)]
    assert mpmath.mpf("1e-6") < min(dw) and max(dw) < mpmath.mpf("1e-5"), (
        f"w=0.9: |dw_k| ranges over [{mpmath.nstr(min(dw), 3)}, {mpmath.nstr(max(dw), 3)}]"
    )


def check_stuck_cost_is_one_eighth() -> None:
    """J = 1/8 both when h_l = sign(x) = (-1, 1) (w = 5) and when h_l = 0 (w = 0.9)."""
    y = sp.Matrix([-sp.Rational(1, 2), sp.Rational(1, 2)])
    for h_l in (sp.Matrix([-1, 1]), sp.Matrix([0, 0])):
        J = (y - h_l).dot(y - h_l) / (2 * 2)
        assert J == sp.Rational(1, 8), f"J(h_l={list(h_l)}) = {J}, expected 1/8"


# ------------------------------------------------------------------------------------------
# Step 4: the two-layer matrix network (m = 2 examples, d = 2 inputs, 2 hidden, c = 2)


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i + 1}{j + 1}", real=True))


def check_two_layer_matrix_gradients(dphi: Callable[[sp.Expr], sp.Expr] | None = None) -> None:
    """G2 = -(1/m) Y^T, G1 = phi'(U1) * (G2 W2^T), dW1 = X^T G1, db = 1^T G1 (phi generic).

    J = -(1/m) tr(U2 Y) needs Y of shape (c, m) when U2 is (m, c): U2 Y is then (m, m).
    """
    m, d, n_h, c = 2, 2, 2, 2
    phi = sp.Function("phi")
    z = sp.Symbol("z")
    if dphi is None:

        def dphi(v: sp.Expr) -> sp.Expr:
            return sp.diff(phi(z), z).subs(z, v)  # phi'(v) for a generic phi

    X, W1, W2, Y = (
        _matrix("X", m, d),
        _matrix("W1_", d, n_h),
        _matrix("W2_", n_h, c),
        _matrix("Y", c, m),
    )
    b = sp.Matrix(sp.symbols(f"b1:{n_h + 1}", real=True))
    E1, E2 = _matrix("E1_", m, n_h), _matrix("E2_", m, c)  # perturbations of U1 and U2
    ones = sp.ones(m, 1)
    U1 = X * W1 + ones * b.T + E1
    H = U1.applyfunc(phi)
    U2 = H * W2 + E2
    assert (U2 * Y).shape == (m, m), f"U2 Y has shape {(U2 * Y).shape}, expected (m, m)"
    J = -(U2 * Y).trace() / m
    at_zero = {e: 0 for e in (*E1, *E2)}
    G2 = sp.Matrix(m, c, lambda i, j: sp.diff(J, E2[i, j])).subs(at_zero)
    G1 = sp.Matrix(m, n_h, lambda i, j: sp.diff(J, E1[i, j])).subs(at_zero)
    U1, H = U1.subs(at_zero), H.subs(at_zero)
    J = J.subs(at_zero)
    _assert_zero(G2 - (-Y.T / m), "G2")
    _assert_zero(G1 - U1.applyfunc(dphi).multiply_elementwise(G2 * W2.T), "G1")
    dW1 = sp.Matrix(d, n_h, lambda i, j: sp.diff(J, W1[i, j]))
    _assert_zero(dW1 - X.T * G1, "dJ/dW1")
    db = sp.Matrix(1, n_h, lambda _, j: sp.diff(J, b[j]))
    _assert_zero(db - ones.T * G1, "dJ/db")
    dW2 = sp.Matrix(n_h, c, lambda i, j: sp.diff(J, W2[i, j]))
    _assert_zero(dW2 - H.T * G2, "dJ/dW2")


# ------------------------------------------------------------------------------------------
# Step 5: the derivations questions 2 and 6 grade step by step (the notebook's answers)

# Question 2, one example: h = tanh(u), J = (y - h)^2 / (2m) + (terms free of u).
G_L_ANSWERS = {
    "dJ_dh": "(h - y)/m",
    "dh_du": "1 - h**2",
    "derivation_g_l": [
        "g = dJ_dh*dh_du",
        "g = (h - y)/m*dh_du",
        "g = (h - y)/m*(1 - tanh(u)**2)",
        "g = (h - y)*(1 - h**2)/m",
    ],
}
# Question 6 on m = c = 2 (the letter m kept): J = -(1/m) tr(U2 Y).
G2_ANSWERS = {
    "trace_U2Y": "U11*Y11 + U12*Y21 + U21*Y12 + U22*Y22",
    "derivation_G2": [
        "J = -trace_U2Y/m",
        "J = -(U11*Y11 + U12*Y21 + U21*Y12 + U22*Y22)/m",
        "J = U11*(-Y11/m) + U12*(-Y21/m) + U21*(-Y12/m) + U22*(-Y22/m)",
    ],
    "G2_entries": ("-Y11/m", "-Y21/m", "-Y12/m", "-Y22/m"),
}


def _rhs(step: str, names: dict[str, sp.Symbol]) -> sp.Expr:
    return sp.sympify(step.split("=")[1], locals=names)


def check_g_l_derivation() -> None:
    """dJ/dh = (h - y)/m and dh/du = 1 - h^2 by differentiation, and every step of the worked
    derivation of g_l equals the one before once h = tanh(u) and the two are substituted."""
    names = {n: sp.Symbol(n, real=True) for n in ("g", "h", "u", "y", "R", "dJ_dh", "dh_du")}
    names["m"] = sp.Symbol("m", positive=True)
    h, u, y, m, R = (names[n] for n in ("h", "u", "y", "m", "R"))
    J = (y - h) ** 2 / (2 * m) + R
    dJ_dh, dh_du = (sp.sympify(G_L_ANSWERS[n], locals=names) for n in ("dJ_dh", "dh_du"))
    _assert_zero(sp.diff(J, h) - dJ_dh, "dJ/dh")
    _assert_zero((sp.diff(sp.tanh(u), u) - dh_du.subs(h, sp.tanh(u))).rewrite(sp.exp), "dh/du")
    facts = {
        names["dJ_dh"]: dJ_dh.subs(h, sp.tanh(u)),
        names["dh_du"]: dh_du.subs(h, sp.tanh(u)),
        h: sp.tanh(u),
    }
    steps = [_rhs(st, names).xreplace(facts) for st in G_L_ANSWERS["derivation_g_l"]]
    g_l = sp.diff(J.subs(h, sp.tanh(u)), u)  # the definition: g = dJ/du
    _assert_zero((steps[0] - g_l).rewrite(sp.exp), "the chain rule dJ_dh*dh_du vs dJ/du")
    for i in range(1, len(steps)):
        _assert_zero((steps[i] - steps[i - 1]).rewrite(sp.exp), f"g_l step {i + 1}")


def check_G2_derivation() -> None:
    """tr(U2 Y) in components, the worked derivation of J in the entries of U2, and the
    entries of G2 = dJ/dU2 = -(1/m) Y^T by differentiation (m = c = 2)."""
    U, Y = _matrix("U", 2, 2), _matrix("Y", 2, 2)
    names = {s.name: s for s in (*U, *Y)}
    names.update(
        m=sp.Symbol("m", positive=True),
        J=sp.Symbol("J", real=True),
        trace_U2Y=sp.Symbol("trace_U2Y", real=True),
    )
    trace = sp.sympify(G2_ANSWERS["trace_U2Y"], locals=names)
    _assert_zero(trace - (U * Y).trace(), "tr(U2 Y)")
    J = -(U * Y).trace() / names["m"]
    steps = [
        _rhs(st, names).xreplace({names["trace_U2Y"]: trace}) for st in G2_ANSWERS["derivation_G2"]
    ]
    _assert_zero(steps[0] - J, "J = -trace_U2Y/m")
    for i in range(1, len(steps)):
        _assert_zero(steps[i] - steps[i - 1], f"G2 step {i + 1}")
    entries = [sp.sympify(e, locals=names) for e in G2_ANSWERS["G2_entries"]]
    G2 = sp.Matrix(2, 2, lambda i, j: sp.diff(J, U[i, j]))
    _assert_zero(sp.Matrix(2, 2, entries) - G2, "G2 entries")
    _assert_zero(G2 - (-Y.T / names["m"]), "G2 = -(1/m) Y^T")


CHECKS: list[tuple[str, Callable[[], None]]] = [
    ("dtanh_is_one_minus_tanh_squared", check_dtanh_is_one_minus_tanh_squared),
    ("stable_sech_squared", check_stable_sech_squared),
    ("output_layer_g", check_output_layer_g),
    ("backward_recurrence", check_backward_recurrence),
    ("weight_and_bias_gradients", check_weight_and_bias_gradients),
    ("shrink_factor", check_shrink_factor),
    ("shrink_factor_product_over_99_layers", check_shrink_factor_product_over_99_layers),
    ("layer1_gradient_underflows_at_w5", check_layer1_gradient_underflows_at_w5),
    ("activations_vanish_at_w09", check_activations_vanish_at_w09),
    ("weight_gradients_first_iteration", check_weight_gradients_first_iteration),
    ("stuck_cost_is_one_eighth", check_stuck_cost_is_one_eighth),
    ("two_layer_matrix_gradients", check_two_layer_matrix_gradients),
    ("g_l_derivation", check_g_l_derivation),
    ("G2_derivation", check_G2_derivation),
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
