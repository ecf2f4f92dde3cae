"""Derivations graded step by step: each step must follow from the one before.

A derivation answer is a list of steps, each a string (or sympy object) holding an
expression or an equation (``"lhs = rhs"``, ``"lhs == rhs"`` or ``Eq(lhs, rhs)``)::

    derivation_alpha = [
        "s1/alpha1 - lam = 0",            # stationarity of the Lagrangian in alpha1
        "alpha1 = s1/lam",
        "alpha1 = s1/(s1 + s2 + s3)",     # lam = s1 + s2 + s3 from the constraint
    ]

The first step must be equivalent to the question's starting point, the last to its
target, and each step must follow from the one before:
- two expressions: equal (as in :func:`assert_equivalent`);
- two equations: the same solutions in ``unknowns`` when the question names them, else the
  same equation up to a non-zero constant factor (``a = b`` and ``2a - 2b = 0``);
- an expression after an equation (or before one) continues its right-hand side: the
  chain ``J = A``, ``B``, ``C`` says ``A = B = C``.
``facts`` (symbol -> expression) are named intermediate results the suite grades on their
own; they are substituted before two steps are compared. Like every symbolic check it runs
under a deadline, parsing included, so no answer can stall the grader.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from ..errors import CheckFailed
from .deadline import run_with_deadline
from .memo import verdict_once
from .symbolic.equivalence import DOMAINS, _verdict, warm_up
from .symbolic.parse import OPTIONAL_FUNCTIONS, Refused, parse_with_notes
from .text import normalise_text, short_text

MAX_STEPS = 40

Step = tuple[Any, Any]  # (lhs, rhs) of an equation, or (None, expr) for an expression


def _split(text: str) -> tuple[str | None, str]:
    """``"a = b"`` -> ``("a", "b")``; ``"Eq(a, b)"`` likewise; an expression -> (None, text)."""
    text = normalise_text(text)[0].replace("==", "=")
    if text.count("=") - sum(text.count(op) for op in ("<=", ">=", "!=")) == 1:
        lhs, rhs = text.split("=")
        return lhs.strip(), rhs.strip()
    try:
        body = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, text
    if (isinstance(body, ast.Call) and isinstance(body.func, ast.Name) and body.func.id == "Eq"
            and len(body.args) == 2 and not body.keywords):
        lhs, rhs = (ast.get_source_segment(text, a) for a in body.args)
        if lhs and rhs:
            return lhs, rhs
    return None, text


def _text(step: Any) -> str:
    if isinstance(step, sympy.Equality):
        return f"{sympy.sstr(step.lhs)} = {sympy.sstr(step.rhs)}"
    if isinstance(step, sympy.Basic):
        return sympy.sstr(step)
    if isinstance(step, str | int | float):
        return str(step)
    raise Refused(f"a step must be a string or a sympy expression, got a {type(step).__name__}")


class _Checker:
    def __init__(self, symbols: Mapping[str, sympy.Symbol], assumptions: Mapping[str, str],
                 unknowns: Sequence[str], facts: Mapping[str, str], functions: Sequence[str],
                 seed: int) -> None:
        self.symbols, self.assumptions, self.seed = symbols, assumptions, seed
        self.functions = tuple(functions)
        self.unknowns = [symbols[u] for u in unknowns]
        self.facts = {symbols[k]: self.parse_expr(v) for k, v in (facts or {}).items()}

    def parse_expr(self, text: str) -> Any:
        return parse_with_notes(text, self.symbols, None, self.functions, ())[0]

    def parse(self, step: Any) -> Step:
        lhs, rhs = _split(_text(step))
        return (None if lhs is None else self.parse_expr(lhs)), self.parse_expr(rhs)

    def equal(self, a: Any, b: Any) -> tuple[bool, str]:
        a, b = a.xreplace(self.facts), b.xreplace(self.facts)
        return self.literally_equal(a, b)

    def literally_equal(self, a: Any, b: Any) -> tuple[bool, str]:
        if a == b:
            return True, ""
        status, point = _verdict(a, b, self.assumptions, None, self.seed)
        return status == "equal", point

    def anchored(self, step: Step, anchor: Step) -> bool:
        """Whether ``step`` states ``anchor`` (the start or the target) without using facts:
        a derivation must end at the result itself, not at a named intermediate."""
        facts, self.facts = self.facts, {}
        try:
            return self.follows(anchor, step)[0]
        finally:
            self.facts = facts

    def follows(self, before: Step, after: Step) -> tuple[bool, str]:
        """Whether ``after`` follows from ``before``, and where they differ if not."""
        if before[0] is None or after[0] is None:  # an expression continues a right-hand side
            return self.equal(before[1], after[1])
        r1, r2 = before[0] - before[1], after[0] - after[1]
        if self.unknowns:
            return self.same_solutions(r1, r2)
        ratio = sympy.cancel((r1 / r2).xreplace(self.facts))
        if ratio.free_symbols or ratio == 0 or not ratio.is_finite:
            ok, point = self.equal(r1, r2)
            return ok or self.equal(r1, -r2)[0], point
        return True, ""

    def same_solutions(self, r1: Any, r2: Any) -> tuple[bool, str]:
        r1, r2 = r1.xreplace(self.facts), r2.xreplace(self.facts)
        s1 = sympy.solve(r1, self.unknowns, dict=True)
        s2 = sympy.solve(r2, self.unknowns, dict=True)
        if len(s1) != len(s2):
            return False, ""
        for sol in s1:
            if not any(all(self.equal(sol.get(u, u), other.get(u, u))[0] for u in self.unknowns)
                       for other in s2):
                return False, ""
        return True, ""


def _show(step: Any) -> str:
    try:
        return f"`{short_text(_text(step), 100)}`"
    except Refused:
        return repr(step)[:100]


def _check(steps: Sequence[Any], start: str, target: str, checker: _Checker) -> str | None:
    """None if the derivation holds, else the message saying where it breaks."""
    parsed = []
    for i, step in enumerate(steps, 1):
        try:
            parsed.append(checker.parse(step))
        except Refused as exc:
            return f"step {i}, {_show(step)}, could not be read: {exc}"
    if not checker.anchored(parsed[0], checker.parse(start)):
        return (f"step 1, {_show(steps[0])}, is not the starting point of this derivation "
                f"(start from {start})")
    for i in range(1, len(parsed)):
        ok, point = checker.follows(parsed[i - 1], parsed[i])
        if not ok:
            where = f" (the two sides differ at {point})" if point else ""
            return (f"step {i + 1}, {_show(steps[i])}, does not follow from step {i}, "
                    f"{_show(steps[i - 1])}{where}")
    if not checker.anchored(parsed[-1], checker.parse(target)):
        return (f"the last step, {_show(steps[-1])}, is not the result this derivation must "
                "reach")
    return None


def assert_derivation(
    steps: Any,
    *,
    start: str,
    target: str,
    symbols: Mapping[str, sympy.Symbol],
    assumptions: Mapping[str, str] | str | None = None,
    unknowns: Sequence[str] = (),
    facts: Mapping[str, str] | None = None,
    name: str = "derivation",
    min_steps: int = 2,
    extra_functions: Sequence[str] = (),
    timeout: float = 20.0,
    seed: int = 0,
) -> None:
    """Raise CheckFailed unless ``steps`` lead from ``start`` to ``target``, each step
    following from the one before (see the module docstring). ``start`` and ``target`` are
    written like steps; ``facts`` maps symbol names to the intermediate results they stand
    for; ``unknowns`` names the symbols equations are solved for."""
    if isinstance(assumptions, str):
        assumptions = {s: assumptions for s in symbols}
    assumptions = dict(assumptions or {})
    for sym, kind in assumptions.items():
        if kind not in DOMAINS:
            raise ValueError(f"assumption {kind!r} for {sym!r} is not one of {DOMAINS}")
    if isinstance(steps, str) or not isinstance(steps, list | tuple):
        raise CheckFailed(f"{name} must be a list of steps (strings such as \"a = b\"), "
                          f"got a {type(steps).__name__}")
    if not min_steps <= len(steps) <= MAX_STEPS:
        raise CheckFailed(f"{name} has {len(steps)} step(s); write between {min_steps} and "
                          f"{MAX_STEPS}, from the starting point to the result")
    for fname in extra_functions:
        if fname not in OPTIONAL_FUNCTIONS:
            raise ValueError(f"unknown extra function {fname!r}")

    def run() -> str | None:
        checker = _Checker(symbols, assumptions, unknowns, facts or {}, extra_functions, seed)
        return _check(list(steps), start, target, checker)

    _warm_up()

    inputs = (steps, start, target, symbols, assumptions, unknowns, facts, name,
              extra_functions, seed)
    outcome = verdict_once("derivation", inputs, lambda: run_with_deadline(run, timeout))
    if outcome is None:
        raise CheckFailed(f"{name}: could not be checked in time; write the steps in simpler forms")
    if outcome[0] != "ok":
        raise CheckFailed(f"{name}: could not be checked ({outcome[1][:200]})")
    if outcome[1] is not None:
        raise CheckFailed(f"{name}: {outcome[1]}")


@functools.cache
def _warm_up() -> None:
    """Check one small derivation of our own here, in the grading process, once: sympy
    imports modules and fills caches on first use, which every forked check would otherwise
    redo (0.13 s a check instead of 0.05)."""
    warm_up()
    x, y = sympy.symbols("x y", positive=True)
    checker = _Checker({"x": x, "y": y}, {"x": "positive", "y": "positive"}, ["x"], {}, (), 0)
    _check(["y = 2*x + 2", "y - 2 = 2*x", "x = y/2 - 1"], "y = 2*x + 2", "x = y/2 - 1", checker)
