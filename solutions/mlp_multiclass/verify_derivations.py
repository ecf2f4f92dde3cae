"""Verify every symbolic step of ``solutions/mlp_multiclass/derivations.md`` with sympy.

Run ``python solutions/mlp_multiclass/verify_derivations.py``: one line per check, exit
status 1 if any check fails. Importing this file runs nothing; ``CHECKS`` lists the steps and
``ANSWERS`` holds the final symbolic answers the grader compares students' answers with.

Symbols and assumptions: ``x`` and ``t`` (= tanh(x)) are real, ``s`` (= sigmoid(x), in
(0, 1)) is positive, and the sizes ``d, d_h, m`` are positive integers.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # solutions/: shared helpers
from sympy_identities import assert_zero as _assert_zero  # noqa: E402
from sympy_identities import nonzero_witness as _nonzero_witness  # noqa: E402

x = sp.Symbol("x", real=True)
s = sp.Symbol("s", positive=True)
t = sp.Symbol("t", real=True)
d, d_h, m = sp.symbols("d d_h m", positive=True, integer=True)

ANSWERS: dict[str, sp.Expr] = {
    "sigmoid_via_tanh": (sp.tanh(x / 2) + 1) / 2,
    "log_sigmoid": -sp.log(1 + sp.exp(-x)),
    "dsigmoid_in_s": s * (1 - s),
    "dtanh_in_t": 1 - t**2,
    "n_params_expr": d_h * (d + 1) + m * (d_h + 1),
}

_SEED = 20240614


def sigmoid(z: sp.Expr) -> sp.Expr:
    """The logistic function 1 / (1 + e^{-z})."""
    return 1 / (1 + sp.exp(-z))


def softplus(z: sp.Expr) -> sp.Expr:
    """log(1 + e^z)."""
    return sp.log(1 + sp.exp(z))


# ------------------------------------------------------------------------------------------
# Step 1: identities of sigmoid, tanh and softplus


def check_sigmoid_via_tanh(answer: sp.Expr | None = None) -> None:
    """sigma(x) = (tanh(x/2) + 1)/2."""
    answer = ANSWERS["sigmoid_via_tanh"] if answer is None else answer
    _assert_zero((answer - sigmoid(x)).rewrite(sp.exp), "(tanh(x/2)+1)/2 - sigma(x)")


def check_log_sigmoid(answer: sp.Expr | None = None) -> None:
    """log sigma(x) = -log(1 + e^{-x}) = -softplus(-x) (1 + e^{-x} > 0 for real x)."""
    answer = ANSWERS["log_sigmoid"] if answer is None else answer
    _assert_zero(sp.expand_log(sp.log(sigmoid(x))) - answer, "log sigma(x)")
    _assert_zero(answer + softplus(-x), "log sigma(x) vs -softplus(-x)")


def check_stable_log_sigmoid_and_softplus() -> None:
    """log sigma(x) = min(x, 0) - log(1 + e^{-|x|}) and softplus(x) = max(x, 0) +
    log(1 + e^{-|x|}): only e^{-|x|} <= 1 is ever computed. Checked for x = p and x = -p."""
    p = sp.Symbol("p", positive=True)
    tail = sp.log(1 + sp.exp(-p))  # log(1 + e^{-|x|})
    cases = {
        "log sigma(p)": (-softplus(-p), 0 - tail),
        "log sigma(-p)": (-softplus(p), -p - tail),
        "softplus(p)": (softplus(p), p + tail),
        "softplus(-p)": (softplus(-p), 0 + tail),
    }
    for what, (exact, stable) in cases.items():
        _assert_zero(sp.expand_log((exact - stable).rewrite(sp.exp)), what)


def check_dsigmoid_in_s(answer: sp.Expr | None = None) -> None:
    """sigma'(x) = s (1 - s) with s = sigma(x)."""
    answer = ANSWERS["dsigmoid_in_s"] if answer is None else answer
    _assert_zero(sp.diff(sigmoid(x), x) - answer.subs(s, sigmoid(x)), "sigma'(x)")


def check_dtanh_in_t(answer: sp.Expr | None = None) -> None:
    """tanh'(x) = 1 - t^2 with t = tanh(x), from tanh = sinh / cosh."""
    answer = ANSWERS["dtanh_in_t"] if answer is None else answer
    quotient = sp.diff(sp.sinh(x) / sp.cosh(x), x)
    _assert_zero((quotient - answer.subs(t, sp.tanh(x))).rewrite(sp.exp), "tanh'(x)")


# ------------------------------------------------------------------------------------------
# Step 2: softmax


def _softmax(z: sp.Matrix) -> sp.Matrix:
    total = sum(sp.exp(zi) for zi in z)
    return z.applyfunc(lambda zi: sp.exp(zi) / total)


def check_softmax_shift_invariance(n_classes: int = 3) -> None:
    """softmax(z + c 1) = softmax(z) for any real c (so subtracting max(z) is safe), and the
    entries sum to 1."""
    z = sp.Matrix(sp.symbols(f"z1:{n_classes + 1}", real=True))
    c = sp.Symbol("c", real=True)
    shifted = _softmax(z + c * sp.ones(n_classes, 1))
    _assert_zero(sp.powsimp(sp.expand(shifted - _softmax(z), power_exp=True)), "shift by c")
    _assert_zero(sum(_softmax(z)) - 1, "sum of softmax")


# ------------------------------------------------------------------------------------------
# Step 3: number of parameters


def check_n_params_counts_entries(answer: sp.Expr | None = None, n_sizes: int = 10) -> None:
    """n_theta = #W1 + #b1 + #W2 + #b2 = d_h d + d_h + m d_h + m, symbolically (shapes of
    matrix symbols) and by counting the entries of explicit matrices at random sizes."""
    answer = ANSWERS["n_params_expr"] if answer is None else answer
    shapes = {
        "W1": sp.MatrixSymbol("W1", d_h, d).shape,
        "b1": sp.MatrixSymbol("b1", d_h, 1).shape,
        "W2": sp.MatrixSymbol("W2", m, d_h).shape,
        "b2": sp.MatrixSymbol("b2", m, 1).shape,
    }
    _assert_zero(sum(rows * cols for rows, cols in shapes.values()) - answer, "n_theta")
    rng = random.Random(_SEED)
    for _ in range(n_sizes):
        sizes = {d: rng.randint(1, 6), d_h: rng.randint(1, 6), m: rng.randint(1, 6)}
        count = 0
        for name, (rows, cols) in shapes.items():
            block = sp.Matrix(
                *(int(v.subs(sizes)) for v in (rows, cols)),
                lambda i, j, name=name: sp.Symbol(f"{name}_{i}_{j}"),
            )
            count += len(block.free_symbols)
        assert count == answer.subs(sizes), (
            f"{count} entries at {sizes}, formula gives {answer.subs(sizes)}"
        )


# ------------------------------------------------------------------------------------------
# Step 4: gradients of the ReLU-softmax network (d = 2, d_h = 2, m = 2, two examples)


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i + 1}{j + 1}", real=True))


def check_relu_softmax_gradients(w2_uses_preactivation: bool = False) -> None:
    """Per example: g_oa = softmax(o^a) - onehot(y), dW2 = g_oa (h^s)^T, db2 = g_oa,
    g_ha = (W2^T g_oa) * 1[h^a > 0], dW1 = g_ha x^T, db1 = g_ha, dL/dx = W1^T g_ha;
    the loss is the mean over the n examples, so each gradient is the mean too. ReLU is
    Max(0, z), whose derivative sympy writes as Heaviside(z) (= 1[z > 0] away from 0).

    ``w2_uses_preactivation=True`` plants the mistake dW2 = g_oa (h^a)^T: it must fail.
    """
    n_in, n_hidden, n_classes, labels = 2, 2, 2, (0, 1)
    W1, W2 = _matrix("W1_", n_hidden, n_in), _matrix("W2_", n_classes, n_hidden)
    b1 = sp.Matrix(sp.symbols(f"b1_1:{n_hidden + 1}", real=True))
    b2 = sp.Matrix(sp.symbols(f"b2_1:{n_classes + 1}", real=True))
    X = _matrix("x", len(labels), n_in)  # row i is example i
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    loss, grads, grad_x = 0, {k: sp.zeros(*P.shape) for k, P in params.items()}, []
    for i, label in enumerate(labels):
        xi = X[i, :].T
        ha = W1 * xi + b1
        hs = ha.applyfunc(lambda v: sp.Max(0, v))
        oa = W2 * hs + b2
        os_ = _softmax(oa)
        loss += -sp.log(os_[label]) / len(labels)
        g_oa = os_ - sp.Matrix([int(c == label) for c in range(n_classes)])
        g_ha = (W2.T * g_oa).multiply_elementwise(ha.applyfunc(sp.Heaviside))
        grads["W2"] += g_oa * (ha if w2_uses_preactivation else hs).T / len(labels)
        grads["b2"] += g_oa / len(labels)
        grads["W1"] += g_ha * xi.T / len(labels)
        grads["b1"] += g_ha / len(labels)
        grad_x.append(W1.T * g_ha / len(labels))
    for name, P in params.items():
        autodiff = P.applyfunc(lambda p: sp.diff(loss, p))
        _assert_zero(autodiff - grads[name], f"dL/d{name}")
    autodiff_x = X.applyfunc(lambda v: sp.diff(loss, v))
    for i in range(len(labels)):
        _assert_zero(autodiff_x[i, :].T - grad_x[i], f"dL/dx for example {i + 1}")


def check_elastic_net_gradient() -> None:
    """d/dw (l1 |w| + l2 w^2) = l1 sign(w) + 2 l2 w (w real, w != 0 for the |w| part)."""
    w = sp.Symbol("w", real=True)
    l1, l2 = sp.symbols("l1 l2", nonnegative=True)
    _assert_zero(
        sp.diff(l1 * sp.Abs(w) + l2 * w**2, w) - (l1 * sp.sign(w) + 2 * l2 * w), "penalty gradient"
    )


# The derivations question 5 (a) grades step by step (the worked notebook's answers), on one
# example of the 2-2-2 network: g = o^s - e_y, W_kj = (W2)_kj, r_j = 1[h^a_j > 0].
DB1_ANSWERS = {
    "derivation_db1": [
        "dL_db11 = dL_dha1*dha1_db11",
        "dL_db11 = dL_dha1*1",
        "dL_db11 = dL_dhs1*dhs1_dha1",
        "dL_db11 = (g1*W11 + g2*W21)*r1",
    ],
    "db1_entries": ("(g1*W11 + g2*W21)*r1", "(g1*W12 + g2*W22)*r2"),
}
DW2_ANSWERS = {
    "derivation_dW2": ["dL_dW12 = dL_doa1*doa1_dW12", "dL_dW12 = g1*doa1_dW12", "dL_dW12 = g1*hs2"],
    "dW2_entries": ("g1*hs1", "g1*hs2", "g2*hs1", "g2*hs2"),
}
_STEP_NAMES = ("g1 g2 W11 W12 W21 W22 ha1 ha2 hs1 hs2 r1 r2 dL_db11 dL_dha1 dha1_db11 dL_dhs1 "
               "dhs1_dha1 dL_dW12 dL_doa1 doa1_dW12 b11 b12 b21 b22")


def _one_example_222() -> tuple[dict[str, sp.Symbol], sp.Expr, dict[sp.Symbol, sp.Expr]]:
    """The loss of one example of class 1 (index 0) in the 2-2-2 network, written in the
    pre-activations ha1, ha2 (hidden) through ReLU = Max(0, .), with the named quantities
    g_k, h^s_j, r_j as functions of them (for substitution)."""
    names = {n: sp.Symbol(n, real=True) for n in _STEP_NAMES.split()}
    W = sp.Matrix([[names["W11"], names["W12"]], [names["W21"], names["W22"]]])
    ha = sp.Matrix([names["ha1"], names["ha2"]])
    hs = ha.applyfunc(lambda v: sp.Max(0, v))
    oa = W * hs + sp.Matrix([names["b21"], names["b22"]])
    os_ = _softmax(oa)
    loss = -sp.log(os_[0])
    values = {names["g1"]: os_[0] - 1, names["g2"]: os_[1], names["hs1"]: hs[0], names["hs2"]: hs[1],
              names["r1"]: sp.Heaviside(ha[0]), names["r2"]: sp.Heaviside(ha[1])}
    return names, loss, values


def _rhs(step: str, names: dict[str, sp.Symbol]) -> sp.Expr:
    return sp.sympify(step.split("=")[1], locals=names)


def check_db1_derivation(entries: tuple[str, str] | None = None) -> None:
    """dL/d(b1)_j = (sum_k g_k W_kj) r_j by differentiation (h^a_j = ... + (b1)_j, so d/d(b1)_j
    is d/dh^a_j), and every step of the worked derivation equals the one before once the named
    intermediate results are substituted. ``entries=("1", "1")`` plants the published mistake."""
    names, loss, values = _one_example_222()
    entries = DB1_ANSWERS["db1_entries"] if entries is None else entries
    for j, entry in enumerate(entries, start=1):
        autodiff = sp.diff(loss, names[f"ha{j}"])  # dh^a_j / d(b1)_j = 1
        _assert_zero(autodiff - _rhs(f"e = {entry}", names).xreplace(values), f"dL/d(b1)_{j}")
    facts = {names["dL_dha1"]: sp.sympify(DB1_ANSWERS["db1_entries"][0], locals=names),
             names["dha1_db11"]: sp.Integer(1),
             names["dL_dhs1"]: names["g1"] * names["W11"] + names["g2"] * names["W21"],
             names["dhs1_dha1"]: names["r1"]}
    steps = [_rhs(st, names).xreplace(facts) for st in DB1_ANSWERS["derivation_db1"]]
    for i in range(1, len(steps)):
        _assert_zero(steps[i] - steps[i - 1], f"db1 step {i + 1}")
    _assert_zero(steps[-1] - sp.sympify(DB1_ANSWERS["db1_entries"][0], locals=names), "db1 result")


def check_dW2_derivation(entries: tuple[str, ...] | None = None) -> None:
    """dL/dW_kj = g_k h^s_j by differentiation of the 2-2-2 network's loss, and every step of
    the worked derivation of dL/dW12. ``entries`` with ha in place of hs plants the mistake."""
    names, loss, values = _one_example_222()
    entries = DW2_ANSWERS["dW2_entries"] if entries is None else entries
    for entry, w in zip(entries, ("W11", "W12", "W21", "W22")):
        _assert_zero(sp.diff(loss, names[w]) - _rhs(f"e = {entry}", names).xreplace(values), f"dL/d{w}")
    facts = {names["dL_doa1"]: names["g1"], names["doa1_dW12"]: names["hs2"]}
    steps = [_rhs(st, names).xreplace(facts) for st in DW2_ANSWERS["derivation_dW2"]]
    for i in range(1, len(steps)):
        _assert_zero(steps[i] - steps[i - 1], f"dW2 step {i + 1}")
    _assert_zero(steps[-1] - sp.sympify(DW2_ANSWERS["dW2_entries"][1], locals=names), "dW2 result")


def check_log_sigmoid_is_not_minus_softmax() -> None:
    """The softmax of a single number is 1, so -softmax(-x) = -1, which is not log sigma(x)
    (the published mistake); -softplus(-x) and log(1/(1 + e^-x)) are."""
    one = _softmax(sp.Matrix([-x]))[0]
    _assert_zero(one - 1, "softmax of one number")
    witness = _nonzero_witness(sp.log(sigmoid(x)) - (-one))
    assert witness is not None, "-softmax(-x) should differ from log sigma(x)"
    _assert_zero(sp.expand_log(sp.log(1 / (1 + sp.exp(-x))), force=True) + softplus(-x), "log(1/(1+e^-x))")


# ------------------------------------------------------------------------------------------
# Step 5: gradient checking


def check_central_difference_is_second_order() -> None:
    """(f(x+h) - f(x-h)) / (2h) = f'(x) + h^2 f^(3)(x) / 6 + O(h^4), while the one-sided
    (f(x+h) - f(x)) / h = f'(x) + h f''(x) / 2 + O(h^2) (f a generic smooth function)."""
    f = sp.Function("f")
    h = sp.Symbol("h", positive=True)
    central = ((f(x + h) - f(x - h)) / (2 * h)).series(h, 0, 4).removeO()
    _assert_zero(central - sp.diff(f(x), x) - h**2 * sp.diff(f(x), x, 3) / 6, "central difference")
    forward = ((f(x + h) - f(x)) / h).series(h, 0, 2).removeO()
    _assert_zero(forward - sp.diff(f(x), x) - h * sp.diff(f(x), x, 2) / 2, "forward difference")


CHECKS: list[tuple[str, Callable[[], None]]] = [
    ("sigmoid_via_tanh", check_sigmoid_via_tanh),
    ("log_sigmoid", check_log_sigmoid),
    ("stable_log_sigmoid_and_softplus", check_stable_log_sigmoid_and_softplus),
    ("dsigmoid_in_s", check_dsigmoid_in_s),
    ("dtanh_in_t", check_dtanh_in_t),
    ("softmax_shift_invariance", check_softmax_shift_invariance),
    ("n_params_counts_entries", check_n_params_counts_entries),
    ("relu_softmax_gradients", check_relu_softmax_gradients),
    ("elastic_net_gradient", check_elastic_net_gradient),
    ("central_difference_is_second_order", check_central_difference_is_second_order),
    ("db1_derivation", check_db1_derivation),
    ("dW2_derivation", check_dW2_derivation),
    ("log_sigmoid_is_not_minus_softmax", check_log_sigmoid_is_not_minus_softmax),
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
