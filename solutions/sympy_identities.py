"""Sympy identities for the worked derivations' verify scripts: an expression (or matrix)
is checked to be identically zero, with a witness point where it is not."""

from __future__ import annotations

import random

import sympy as sp
from sympy.core.function import AppliedUndef

_SEED = 20240611


def concrete(expr: sp.Expr) -> sp.Expr:
    """Replace every generic function (``phi``, ``ell``) by one concrete smooth function.

    An identity that holds for every function holds for this one too, so a nonzero value
    after the replacement disproves it.
    """
    arities = {applied.func: len(applied.args) for applied in expr.atoms(AppliedUndef)}
    for fn, k in arities.items():
        zs = sp.symbols(f"zeta1:{k + 1}")
        mix = sum((i + 1) * zi for i, zi in enumerate(zs))
        expr = expr.subs(fn, sp.Lambda(zs, sp.exp(mix / 3) + mix**3 / 7 + mix))
    return expr.doit()


def nonzero_witness(expr: sp.Expr) -> str | None:
    """Describe a point where ``expr`` is clearly not 0, or return None.

    Each symbol gets a value that satisfies the assumptions used in this file: integers
    1..5, positive symbols a value in [1/10, 3/10] (so sums of a few stay below 1), other real
    symbols a value in [-3/10, 3/10] (both signs, e.g. to tell ReLU from the identity). A
    nonzero value there disproves the identity quickly, before ``simplify`` is tried.
    """
    expr = concrete(expr)
    rng = random.Random(_SEED)

    def value_for(sym: sp.Symbol) -> sp.Rational:
        if sym.is_integer:
            return sp.Integer(rng.randint(1, 5))
        magnitude = sp.Rational(rng.randint(10, 30), 100)
        return magnitude if sym.is_nonnegative else rng.choice((-1, 1)) * magnitude

    point = {sym: value_for(sym) for sym in sorted(expr.free_symbols, key=str)}
    value = sp.N(expr.subs(point), 30)
    if value.is_number and abs(value) > 1e-15:
        return f"{sp.N(value, 6)} at {point}"
    return None


def assert_zero(expr: sp.Expr | sp.MatrixBase, what: str) -> None:
    """Assert that ``expr`` (a scalar or a matrix) is identically 0, saying where if not.

    ``expand`` or ``cancel`` settle most identities here (they are exact rewritings); a
    random point disproves a false one quickly; ``simplify`` is tried last.
    """
    entries = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
    for index, entry in enumerate(entries):
        where = f" (entry {index})" if len(entries) > 1 else ""
        if sp.expand(entry, power_exp=False) == 0 or sp.cancel(sp.together(entry)) == 0:
            continue
        witness = nonzero_witness(entry)
        assert witness is None, f"{what}{where} is not an identity: the difference is {witness}"
        residual = sp.simplify(entry)
        assert residual == 0, f"{what}{where}: the difference simplifies to {residual}, not 0"
