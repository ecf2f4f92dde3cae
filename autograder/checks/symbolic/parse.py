"""Reading a symbolic answer: an AST whitelist, never eval/sympify of a string.

Parsing limits (all refused with a readable message, before any sympy object is built):
``MAX_LENGTH`` characters, ``MAX_NODES`` syntax nodes, ``MAX_DEPTH`` nesting, exponents of
magnitude at most ``MAX_EXPONENT`` and rational numbers of at most ``MAX_BITS`` bits (so
``10**10**10**10`` is refused instead of computed). Float literals become the exact rational
of their decimal text (``0.1`` is 1/10). ``^`` is read as ``**`` (with a note in messages).
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from ...errors import CheckFailed
from ..text import normalise_text

MAX_LENGTH = 2_000
MAX_NODES = 1_000
MAX_DEPTH = 100
MAX_EXPONENT = 1_000
MAX_BITS = 4_096


# name -> (builder, min args, max args)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "exp": (sympy.exp, 1, 1),
    "log": (sympy.log, 1, 2),
    "ln": (sympy.log, 1, 1),
    "sqrt": (sympy.sqrt, 1, 1),
    "tanh": (sympy.tanh, 1, 1),
    "sinh": (sympy.sinh, 1, 1),
    "cosh": (sympy.cosh, 1, 1),
    "sech": (sympy.sech, 1, 1),
    "csch": (sympy.csch, 1, 1),
    "coth": (sympy.coth, 1, 1),
    "sin": (sympy.sin, 1, 1),
    "cos": (sympy.cos, 1, 1),
    "tan": (sympy.tan, 1, 1),
    "Abs": (sympy.Abs, 1, 1),
    "abs": (sympy.Abs, 1, 1),
    "Min": (sympy.Min, 1, 20),
    "Max": (sympy.Max, 1, 20),
    "min": (sympy.Min, 1, 20),
    "max": (sympy.Max, 1, 20),
    "sign": (sympy.sign, 1, 1),
}
# Opt-in per question (they would give away questions such as "write sigmoid via tanh").
OPTIONAL_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "sigmoid": (lambda x: 1 / (1 + sympy.exp(-x)), 1, 1),
    "softplus": (lambda x: sympy.log(1 + sympy.exp(x)), 1, 1),
    "relu": (lambda x: sympy.Max(0, x), 1, 1),
}
CONSTANTS: dict[str, sympy.Basic] = {"pi": sympy.pi, "E": sympy.E, "e": sympy.E}
OPTIONAL_CONSTANTS: dict[str, sympy.Basic] = {"I": sympy.I, "oo": sympy.oo}

_REFUSED = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "indexing ('[...]')",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "'if ... else'",
    ast.List: "a list",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.NamedExpr: "':='",
    ast.Starred: "'*' unpacking",
    ast.JoinedStr: "an f-string",
    ast.Await: "'await'",
}


class Refused(Exception):
    """The answer cannot be read; the message says why (safe to show)."""


class _Builder:
    def __init__(
        self,
        symbols: Mapping[str, sympy.Symbol],
        functions: Mapping[str, Any],
        constants: Mapping[str, sympy.Basic],
    ) -> None:
        self.symbols, self.functions, self.constants = symbols, functions, constants

    def allowed(self) -> str:
        parts = []
        if self.symbols:
            parts.append("symbols " + ", ".join(sorted(self.symbols)))
        consts = sorted(c for c in self.constants if c not in self.symbols)
        parts.append("constants " + ", ".join(consts))
        parts.append("functions " + ", ".join(sorted(self.functions)))
        return "; ".join(parts)

    def build(self, node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise Refused(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            return _check_size(self.constant(node.value))
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self.build(node.operand, depth + 1)
            return _check_size(-value if isinstance(node.op, ast.USub) else value)
        if isinstance(node, ast.BinOp):
            return _check_size(self.binop(node, depth))
        if isinstance(node, ast.Call):
            return _check_size(self.call(node, depth))
        if isinstance(node, ast.Tuple):
            raise Refused("a tuple is not expected here")
        what = _REFUSED.get(type(node), type(node).__name__)
        raise Refused(f"{what} is not allowed in an answer")

    def constant(self, value: Any) -> sympy.Basic:
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "strings" if isinstance(value, str | bytes) else f"{type(value).__name__} values"
            raise Refused(f"{kind} are not allowed in an answer")
        if isinstance(value, int):
            if value.bit_length() > MAX_BITS:
                raise Refused("a number in your answer is too large")
            return sympy.Integer(value)
        if not math.isfinite(value):
            raise Refused("a number in your answer is too large")
        return sympy.Rational(repr(value))  # the exact decimal the student wrote

    def name(self, ident: str) -> sympy.Basic:
        if ident in self.symbols:
            return self.symbols[ident]
        if ident in self.constants:
            return self.constants[ident]
        if ident in self.functions:
            raise Refused(f"{ident} is a function: call it, e.g. {ident}(x)")
        raise Refused(f"name {ident!r} is not allowed (allowed: {self.allowed()})")

    def binop(self, node: ast.BinOp, depth: int) -> sympy.Basic:
        left = self.build(node.left, depth + 1)
        right = self.build(node.right, depth + 1)
        op = node.op
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.Pow):
            return _power(left, right)
        raise Refused(f"the operator {type(op).__name__} is not allowed (use + - * / **)")

    def call(self, node: ast.Call, depth: int) -> sympy.Basic:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute) and node.func.attr in self.functions:
                raise Refused(
                    f"write {node.func.attr}(...) instead of "
                    f"{ast.unparse(node.func)}(...): attribute access is not allowed"
                )
            raise Refused(
                "only the allowed functions can be called "
                f"(functions {', '.join(sorted(self.functions))})"
            )
        fname = node.func.id
        if node.keywords:
            raise Refused(f"keyword arguments are not allowed (in the call of {fname})")
        if fname in self.symbols:
            raise Refused(f"{fname} is a symbol, not a function: write {fname}*(...) to multiply")
        if fname not in self.functions:
            raise Refused(f"name {fname!r} is not allowed (allowed: {self.allowed()})")
        func, low, high = self.functions[fname]
        if not low <= len(node.args) <= high:
            count = str(low) if low == high else f"{low} to {high}"
            raise Refused(f"{fname} takes {count} argument(s), got {len(node.args)}")
        args = [self.build(a, depth + 1) for a in node.args]
        return func(*args)


def _bits(value: sympy.Rational) -> int:
    return max(int(value.p).bit_length(), int(value.q).bit_length())


def _check_size(value: Any) -> Any:
    if isinstance(value, sympy.Rational) and _bits(value) > MAX_BITS:
        raise Refused("a number in your answer is too large")
    return value


def _power(base: sympy.Basic, exponent: sympy.Basic) -> sympy.Basic:
    if exponent.is_Number:
        if not exponent.is_finite or abs(exponent) > MAX_EXPONENT:
            raise Refused(f"an exponent in your answer is too large (limit {MAX_EXPONENT})")
        if isinstance(base, sympy.Rational) and _bits(base) * abs(float(exponent)) > MAX_BITS:
            raise Refused("a number in your answer is too large")
    return base**exponent


def _as_text(answer: Any) -> str:
    if isinstance(answer, str):  # includes the protocol's SymbolicText
        return str(answer)
    if isinstance(answer, bool) or answer is None:
        raise Refused(f"expected an expression (a string or sympy expression), got {answer!r}")
    if isinstance(answer, int | float | sympy.Basic):
        return sympy.sstr(answer) if isinstance(answer, sympy.Basic) else repr(answer)
    if isinstance(answer, np.number):
        return repr(answer.item())
    raise Refused(
        f"expected an expression (a string or sympy expression), got a {type(answer).__name__}"
    )


def parse_with_notes(
    answer: Any,
    symbols: Mapping[str, sympy.Symbol],
    tuple_len: int | None,
    extra_functions: Sequence[str],
    extra_constants: Sequence[str],
) -> tuple[Any, list[str]]:
    if tuple_len is not None and isinstance(answer, list | tuple):
        if len(answer) != tuple_len:
            raise Refused(f"expected {tuple_len} expressions, got {len(answer)}")
        parts = [
            parse_with_notes(a, symbols, None, extra_functions, extra_constants) for a in answer
        ]
        return tuple(p[0] for p in parts), sorted({n for p in parts for n in p[1]})
    text = _as_text(answer)
    if len(text) > MAX_LENGTH:
        raise Refused(f"the answer is too long ({len(text)} characters; limit {MAX_LENGTH})")
    text, notes = normalise_text(text)
    if not text:
        raise Refused("the answer is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        hint = " (write multiplication explicitly, e.g. 2*n)" if _implicit_product(text) else ""
        raise Refused(f"invalid syntax{col}{hint}") from None
    except (ValueError, RecursionError, MemoryError):
        raise Refused("the answer is not a readable expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise Refused(f"the expression is too large (more than {MAX_NODES} parts)")
    functions = dict(FUNCTIONS)
    constants = dict(CONSTANTS)
    for fname in extra_functions:
        functions[fname] = OPTIONAL_FUNCTIONS[fname]
    for cname in extra_constants:
        constants[cname] = OPTIONAL_CONSTANTS[cname]
    builder = _Builder(symbols, functions, constants)
    body = tree.body
    if isinstance(body, ast.Tuple):
        if tuple_len is None:
            raise Refused("expected a single expression, got a tuple")
        if len(body.elts) != tuple_len:
            raise Refused(f"expected {tuple_len} expressions, got {len(body.elts)}")
        return tuple(builder.build(e, 1) for e in body.elts), notes
    if tuple_len is not None:
        raise Refused(f"expected a tuple of {tuple_len} expressions, e.g. (a, b)")
    return builder.build(body, 1), notes


def _implicit_product(text: str) -> bool:
    return any(a.isdigit() and (b.isalpha() or b == "(") for a, b in itertools.pairwise(text))


def parse_answer(
    text: Any,
    symbols: Mapping[str, sympy.Symbol],
    *,
    tuple_len: int | None = None,
    extra_functions: Sequence[str] = (),
    extra_constants: Sequence[str] = (),
) -> Any:
    """The sympy expression (or tuple of them when ``tuple_len``) of a student's answer.

    ``text`` is a string (or ``SymbolicText``), a number or a sympy expression (read back
    through its string, so the same whitelist applies). Names must be ``symbols`` keys, the
    constants pi, E (also e) or the whitelisted functions; ``extra_functions`` may add
    ``sigmoid``, ``softplus``, ``relu`` and ``extra_constants`` ``I``, ``oo``.
    Raises CheckFailed("could not read your answer: ...") otherwise.
    """
    try:
        return parse_with_notes(text, symbols, tuple_len, extra_functions, extra_constants)[0]
    except Refused as exc:
        raise CheckFailed(f"could not read your answer: {exc}") from None
