"""Whether a symbolic answer equals the expected expression: compared at exact rational
sample points and, failing that, by sympy.simplify, under a deadline (a forked child killed
after ``timeout`` seconds, see :mod:`autograder.checks.deadline`), so no answer can stall
grading.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy
from sympy import S

from ...errors import CheckFailed
from ..deadline import run_with_deadline
from ..memo import verdict_once
from ..text import normalise_text, short_text
from .parse import OPTIONAL_FUNCTIONS, Refused, parse_with_notes

N_POINTS = 12
MAX_TRIES = 80
REL_TOL = 1e-9

Sampler = Callable[[np.random.Generator], Mapping[str, Any]]
DOMAINS = ("real", "positive", "nonnegative", "negative", "nonzero", "integer", "positive_integer")


def _domain(sym: sympy.Symbol, assumptions: Mapping[str, str]) -> str:
    if sym.name in assumptions:
        return assumptions[sym.name]
    if sym.is_integer:
        return "positive_integer" if sym.is_positive else "integer"
    if sym.is_positive or sym.is_nonnegative:
        return "positive"
    return "negative" if sym.is_negative else "real"


def _draw(kind: str, rng: np.random.Generator) -> sympy.Rational:
    if kind in ("integer", "positive_integer"):
        value = sympy.Integer(int(rng.integers(1, 25)))
    else:  # small exact rationals: readable in messages, exact to evaluate
        value = sympy.Rational(int(rng.integers(1, 21)), int(rng.integers(1, 7)))
    if kind == "negative" or (kind in ("real", "nonzero", "integer") and rng.random() < 0.5):
        return -value
    return value


def _exact(value: Any) -> sympy.Basic:
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool):
        raise TypeError("a sampler must give numbers")
    if isinstance(value, int | np.integer):
        return sympy.Integer(int(value))
    return sympy.Rational(repr(float(value)))


def _evaluate(expr: sympy.Basic, point: Mapping[sympy.Symbol, sympy.Basic]) -> Any:
    try:
        value = sympy.N(expr.xreplace(dict(point)), 30)
        if value.has(S.NaN, S.ComplexInfinity, S.Infinity, S.NegativeInfinity):
            return None
        re_part, im_part = value.as_real_imag()
        if not (re_part.is_Number and im_part.is_Number):
            return None
        return mpmath.mpc(
            mpmath.mpf(sympy.Float(re_part, 30)), mpmath.mpf(sympy.Float(im_part, 30))
        )
    except (ArithmeticError, TypeError, ValueError, RecursionError, MemoryError):
        return None


def _same(va: Any, vb: Any) -> bool:
    with mpmath.workdps(30):
        return bool(abs(va - vb) <= REL_TOL * max(abs(va), abs(vb)) + mpmath.mpf("1e-25"))


def _point_text(point: Mapping[sympy.Symbol, sympy.Basic]) -> str:
    return ", ".join(
        f"{s.name} = {sympy.sstr(v)}" for s, v in sorted(point.items(), key=lambda p: p[0].name)
    )


def _verdict(
    a: sympy.Basic,
    b: sympy.Basic,
    assumptions: Mapping[str, str],
    sampler: Sampler | None,
    seed: int,
) -> tuple[str, str]:
    """("equal" | "differs" | "unknown", the point where they differ)."""
    free = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    rng = np.random.default_rng(seed)
    valid = 0
    for _ in range(MAX_TRIES if free else 1):
        point = {s: _draw(_domain(s, assumptions), rng) for s in free}
        if sampler is not None:
            by_name = {s.name: s for s in free}
            point.update({by_name[k]: _exact(v) for k, v in sampler(rng).items() if k in by_name})
        va, vb = _evaluate(a, point), _evaluate(b, point)
        if va is None or vb is None:
            continue
        if not _same(va, vb):
            return "differs", _point_text(point)
        valid += 1
        if valid >= N_POINTS or not free:
            return "equal", ""
    return ("equal", "") if sympy.simplify(a - b) == 0 else ("unknown", "")


def _expected_expr(expected: Any, symbols: Mapping[str, sympy.Symbol]) -> Any:
    if isinstance(expected, list | tuple):
        return tuple(_expected_expr(e, symbols) for e in expected)
    if isinstance(expected, str):
        return parse_with_notes(expected, symbols, None, tuple(OPTIONAL_FUNCTIONS), ())[0]
    return sympy.sympify(expected) if isinstance(expected, int | float) else expected


def _has_float_literal(answer: Any) -> bool:
    if isinstance(answer, list | tuple):
        return any(_has_float_literal(a) for a in answer)
    if isinstance(answer, float | np.floating):
        return True
    text = answer if isinstance(answer, str) else str(answer)
    try:
        tree = ast.parse(normalise_text(text)[0], mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(n, ast.Constant) and isinstance(n.value, float) for n in ast.walk(tree))


def assert_equivalent(
    answer: Any,
    expected: Any,
    symbols: Mapping[str, sympy.Symbol],
    *,
    assumptions: Mapping[str, str] | str | None = None,
    name: str = "answer",
    numeric_ok: bool = True,
    reveal: bool = False,
    sampler: Sampler | None = None,
    extra_functions: Sequence[str] = (),
    extra_constants: Sequence[str] = (),
    timeout: float = 10.0,
    seed: int = 0,
) -> None:
    """Raise CheckFailed unless ``answer`` is mathematically equivalent to ``expected``.

    Equivalent means equal (relative 1e-9, evaluated to 30 digits) at ``N_POINTS`` random
    exact points of the symbols' domains, or ``simplify(a - b) == 0`` when too few points
    are defined. Domains come from ``assumptions`` (a name -> one of ``DOMAINS`` mapping, or
    one domain for all symbols) or the symbols' own assumptions; ``sampler(rng)`` may give
    values for conditions such as a >= b. A tuple ``expected`` asks for a tuple answer. For a
    numeric quantity a plain number within 1e-9 relative is accepted when ``numeric_ok``.
    The expected expression is shown only with ``reveal``.
    """
    if isinstance(assumptions, str):
        assumptions = {s: assumptions for s in symbols}
    assumptions = dict(assumptions or {})
    for sym, kind in assumptions.items():
        if kind not in DOMAINS:
            raise ValueError(f"assumption {kind!r} for {sym!r} is not one of {DOMAINS}")
    _expected_expr(expected, symbols)  # a suite's own mistake raises here, not in the child

    def judge() -> str | None:
        return _judge(answer, expected, symbols, assumptions, name, numeric_ok, reveal, sampler,
                      extra_functions, extra_constants, seed)

    # Reading the answer builds sympy objects, which a hostile answer can make arbitrarily
    # slow or make raise: reading and comparing run together in a child with a deadline.
    warm_up()
    inputs = (answer, expected, symbols, assumptions, name, numeric_ok, reveal, sampler,
              extra_functions, extra_constants, seed)
    outcome = verdict_once("equivalent", inputs, lambda: run_with_deadline(judge, timeout))
    prefix = "" if name == "answer" else f"{name}: "
    if outcome is None:
        raise CheckFailed(f"{prefix}your answer could not be checked in time; write it in a "
                          "simpler form")
    if outcome[0] != "ok":
        raise CheckFailed(f"{prefix}your answer could not be read as an expression "
                          f"({outcome[1][:200]})")
    if outcome[1] is not None:
        raise CheckFailed(outcome[1])


@functools.cache
def warm_up() -> None:
    """Judge one small answer of our own here, in the grading process, once: sympy imports
    modules and fills caches on first use, which every forked check would otherwise redo."""
    x = sympy.Symbol("x", positive=True)
    _judge("2*x/(x + x**2)", "2/(1 + x)", {"x": x}, {"x": "positive"}, "answer", True, False,
           None, (), (), 0)


def _judge(answer: Any, expected: Any, symbols: Mapping[str, sympy.Symbol],
           assumptions: Mapping[str, str], name: str, numeric_ok: bool, reveal: bool,
           sampler: Sampler | None, extra_functions: Sequence[str],
           extra_constants: Sequence[str], seed: int) -> str | None:
    """None if ``answer`` is equivalent to ``expected``, else the message saying why not."""
    want = _expected_expr(expected, symbols)
    tuple_len = len(want) if isinstance(want, tuple) else None
    prefix = "" if name == "answer" else f"{name}: "
    try:
        got, notes = parse_with_notes(answer, symbols, tuple_len, extra_functions, extra_constants)
    except Refused as exc:
        return f"{prefix}could not read your answer: {exc}"
    pairs = list(zip(got, want)) if tuple_len is not None else [(got, want)]
    decimal = _has_float_literal(answer)
    for i, (a, b) in enumerate(pairs):
        shown = short_text(answer if tuple_len is None else _element_text(answer, i, a))
        what = (
            f"your answer {shown}"
            if tuple_len is None
            else f"element {i + 1} of your answer, {shown},"
        )
        problem = _compare_one(a, b, assumptions, sampler, seed, numeric_ok, decimal)
        if problem is not None:
            message = f"{prefix}{what} {problem}"
            if reveal:
                message += f"; expected {sympy.sstr(b)}"
            for note in notes:
                message += f" (note: {note})"
            return message
    return None


def _element_text(answer: Any, i: int, parsed: Any) -> Any:
    """What the student wrote for element ``i`` of a tuple answer."""
    if isinstance(answer, list | tuple):
        return answer[i]
    if isinstance(answer, str):
        text = normalise_text(answer)[0]
        body = ast.parse(text, mode="eval").body  # parsed before, so this succeeds
        if isinstance(body, ast.Tuple):
            return ast.get_source_segment(text, body.elts[i]) or parsed
    return parsed


def _compare_one(
    a: Any,
    b: Any,
    assumptions: Mapping[str, str],
    sampler: Sampler | None,
    seed: int,
    numeric_ok: bool,
    decimal: bool,
) -> str | None:
    numeric = not (a.free_symbols or b.free_symbols)
    if numeric and decimal and not numeric_ok:
        return "is a decimal number; give the exact expression (e.g. 1/4 or 5*sech(5)**2)"
    if a == b:
        return None
    status, point = _verdict(a, b, assumptions, sampler, seed)
    if status == "equal":
        return None
    if status == "differs" and numeric:
        return f"is not equal to the expected value (a number must match to {REL_TOL:g} relative)"
    if status == "differs":
        return f"is not equivalent to the expected expression (differs at {point})"
    return "could not be checked: it is undefined at the test points; write it in a simpler form"
