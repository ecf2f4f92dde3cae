"""Symbolic answers: parsed with an AST whitelist (never eval/sympify of a string), then
compared with the expected expression by exact rational sample points and, failing that,
sympy.simplify under a deadline.

Parsing limits (all refused with a readable message, before any sympy object is built):
``MAX_LENGTH`` characters, ``MAX_NODES`` syntax nodes, ``MAX_DEPTH`` nesting, exponents of
magnitude at most ``MAX_EXPONENT`` and rational numbers of at most ``MAX_BITS`` bits (so
``10**10**10**10`` is refused instead of computed). Float literals become the exact rational
of their decimal text (``0.1`` is 1/10). ``^`` is read as ``**`` (with a note in messages).
Equivalence runs in a forked child killed after ``timeout`` seconds (a thread where fork is
unavailable), so no answer can stall grading.
"""

from __future__ import annotations

import ast
import itertools
import math
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy
from sympy import S

from ..errors import CheckFailed

MAX_LENGTH = 2_000
MAX_NODES = 1_000
MAX_DEPTH = 100
MAX_EXPONENT = 1_000
MAX_BITS = 4_096
N_POINTS = 12
MAX_TRIES = 80
REL_TOL = 1e-9

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

_UNICODE = {"−": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/", "²": "**2", "³": "**3", "π": "pi"}
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


class _Refused(Exception):
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
            raise _Refused(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
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
            raise _Refused("a tuple is not expected here")
        what = _REFUSED.get(type(node), type(node).__name__)
        raise _Refused(f"{what} is not allowed in an answer")

    def constant(self, value: Any) -> sympy.Basic:
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "strings" if isinstance(value, str | bytes) else f"{type(value).__name__} values"
            raise _Refused(f"{kind} are not allowed in an answer")
        if isinstance(value, int):
            if value.bit_length() > MAX_BITS:
                raise _Refused("a number in your answer is too large")
            return sympy.Integer(value)
        if not math.isfinite(value):
            raise _Refused("a number in your answer is too large")
        return sympy.Rational(repr(value))  # the exact decimal the student wrote

    def name(self, ident: str) -> sympy.Basic:
        if ident in self.symbols:
            return self.symbols[ident]
        if ident in self.constants:
            return self.constants[ident]
        if ident in self.functions:
            raise _Refused(f"{ident} is a function: call it, e.g. {ident}(x)")
        raise _Refused(f"name {ident!r} is not allowed (allowed: {self.allowed()})")

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
        raise _Refused(f"the operator {type(op).__name__} is not allowed (use + - * / **)")

    def call(self, node: ast.Call, depth: int) -> sympy.Basic:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute) and node.func.attr in self.functions:
                raise _Refused(
                    f"write {node.func.attr}(...) instead of "
                    f"{ast.unparse(node.func)}(...): attribute access is not allowed"
                )
            raise _Refused(
                "only the allowed functions can be called "
                f"(functions {', '.join(sorted(self.functions))})"
            )
        fname = node.func.id
        if node.keywords:
            raise _Refused(f"keyword arguments are not allowed (in the call of {fname})")
        if fname in self.symbols:
            raise _Refused(f"{fname} is a symbol, not a function: write {fname}*(...) to multiply")
        if fname not in self.functions:
            raise _Refused(f"name {fname!r} is not allowed (allowed: {self.allowed()})")
        func, low, high = self.functions[fname]
        if not low <= len(node.args) <= high:
            count = str(low) if low == high else f"{low} to {high}"
            raise _Refused(f"{fname} takes {count} argument(s), got {len(node.args)}")
        args = [self.build(a, depth + 1) for a in node.args]
        return func(*args)


def _bits(value: sympy.Rational) -> int:
    return max(int(value.p).bit_length(), int(value.q).bit_length())


def _check_size(value: Any) -> Any:
    if isinstance(value, sympy.Rational) and _bits(value) > MAX_BITS:
        raise _Refused("a number in your answer is too large")
    return value


def _power(base: sympy.Basic, exponent: sympy.Basic) -> sympy.Basic:
    if exponent.is_Number:
        if not exponent.is_finite or abs(exponent) > MAX_EXPONENT:
            raise _Refused(f"an exponent in your answer is too large (limit {MAX_EXPONENT})")
        if isinstance(base, sympy.Rational) and _bits(base) * abs(float(exponent)) > MAX_BITS:
            raise _Refused("a number in your answer is too large")
    return base**exponent


def _normalise_text(text: str) -> tuple[str, list[str]]:
    notes = []
    for old, new in _UNICODE.items():
        text = text.replace(old, new)
    if "^" in text:
        text = text.replace("^", "**")
        notes.append("^ was read as ** (power)")
    return text.strip(), notes


def _as_text(answer: Any) -> str:
    if isinstance(answer, str):  # includes the protocol's SymbolicText
        return str(answer)
    if isinstance(answer, bool) or answer is None:
        raise _Refused(f"expected an expression (a string or sympy expression), got {answer!r}")
    if isinstance(answer, int | float | sympy.Basic):
        return sympy.sstr(answer) if isinstance(answer, sympy.Basic) else repr(answer)
    if isinstance(answer, np.number):
        return repr(answer.item())
    raise _Refused(
        f"expected an expression (a string or sympy expression), got a {type(answer).__name__}"
    )


def _parse(
    answer: Any,
    symbols: Mapping[str, sympy.Symbol],
    tuple_len: int | None,
    extra_functions: Sequence[str],
    extra_constants: Sequence[str],
) -> tuple[Any, list[str]]:
    if tuple_len is not None and isinstance(answer, list | tuple):
        if len(answer) != tuple_len:
            raise _Refused(f"expected {tuple_len} expressions, got {len(answer)}")
        parts = [_parse(a, symbols, None, extra_functions, extra_constants) for a in answer]
        return tuple(p[0] for p in parts), sorted({n for p in parts for n in p[1]})
    text = _as_text(answer)
    if len(text) > MAX_LENGTH:
        raise _Refused(f"the answer is too long ({len(text)} characters; limit {MAX_LENGTH})")
    text, notes = _normalise_text(text)
    if not text:
        raise _Refused("the answer is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        hint = " (write multiplication explicitly, e.g. 2*n)" if _implicit_product(text) else ""
        raise _Refused(f"invalid syntax{col}{hint}") from None
    except (ValueError, RecursionError, MemoryError):
        raise _Refused("the answer is not a readable expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise _Refused(f"the expression is too large (more than {MAX_NODES} parts)")
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
            raise _Refused("expected a single expression, got a tuple")
        if len(body.elts) != tuple_len:
            raise _Refused(f"expected {tuple_len} expressions, got {len(body.elts)}")
        return tuple(builder.build(e, 1) for e in body.elts), notes
    if tuple_len is not None:
        raise _Refused(f"expected a tuple of {tuple_len} expressions, e.g. (a, b)")
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
        return _parse(text, symbols, tuple_len, extra_functions, extra_constants)[0]
    except _Refused as exc:
        raise CheckFailed(f"could not read your answer: {exc}") from None


# ----------------------------------------------------------------------------- equivalence

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


def _run_with_deadline(fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()`` in a forked child killed after ``timeout`` s (a thread off Linux); None on
    timeout, ("error", text) if it raised."""
    if os.name == "posix" and os.uname().sysname == "Linux":
        ctx = multiprocessing.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)

        def child() -> None:
            try:
                send.send(("ok", fn()))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                send.send(("error", f"{type(exc).__name__}: {exc}"))
            finally:
                os._exit(0)

        proc = ctx.Process(target=child, daemon=True)
        try:
            proc.start()
        except OSError:
            return _run_in_thread(fn, timeout)
        send.close()
        try:
            return recv.recv() if recv.poll(timeout) else None
        except EOFError:
            return ("error", "the checking process died")
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            recv.close()
    return _run_in_thread(fn, timeout)


def _run_in_thread(fn: Callable[[], Any], timeout: float) -> Any:
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(("ok", fn()))
        except BaseException as exc:  # noqa: BLE001
            box.append(("error", f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=run, daemon=True)  # cannot be killed: left to finish
    thread.start()
    thread.join(timeout)
    return box[0] if box else None


def _expected_expr(expected: Any, symbols: Mapping[str, sympy.Symbol]) -> Any:
    if isinstance(expected, list | tuple):
        return tuple(_expected_expr(e, symbols) for e in expected)
    if isinstance(expected, str):
        return _parse(expected, symbols, None, tuple(OPTIONAL_FUNCTIONS), ())[0]
    return sympy.sympify(expected) if isinstance(expected, int | float) else expected


def _has_float_literal(answer: Any) -> bool:
    if isinstance(answer, list | tuple):
        return any(_has_float_literal(a) for a in answer)
    if isinstance(answer, float | np.floating):
        return True
    text = answer if isinstance(answer, str) else str(answer)
    try:
        tree = ast.parse(_normalise_text(text)[0], mode="eval")
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
    want = _expected_expr(expected, symbols)
    tuple_len = len(want) if isinstance(want, tuple) else None
    prefix = "" if name == "answer" else f"{name}: "
    try:
        got, notes = _parse(answer, symbols, tuple_len, extra_functions, extra_constants)
    except _Refused as exc:
        raise CheckFailed(f"{prefix}could not read your answer: {exc}") from None
    pairs = list(zip(got, want)) if tuple_len is not None else [(got, want)]
    decimal = _has_float_literal(answer)
    for i, (a, b) in enumerate(pairs):
        shown = _short_text(answer if tuple_len is None else _element_text(answer, i, a))
        what = (
            f"your answer {shown}"
            if tuple_len is None
            else f"element {i + 1} of your answer, {shown},"
        )
        problem = _compare_one(a, b, assumptions, sampler, seed, timeout, numeric_ok, decimal)
        if problem is not None:
            message = f"{prefix}{what} {problem}"
            if reveal:
                message += f"; expected {sympy.sstr(b)}"
            for note in notes:
                message += f" (note: {note})"
            raise CheckFailed(message)


def _element_text(answer: Any, i: int, parsed: Any) -> Any:
    """What the student wrote for element ``i`` of a tuple answer."""
    if isinstance(answer, list | tuple):
        return answer[i]
    if isinstance(answer, str):
        text = _normalise_text(answer)[0]
        body = ast.parse(text, mode="eval").body  # parsed before, so this succeeds
        if isinstance(body, ast.Tuple):
            return ast.get_source_segment(text, body.elts[i]) or parsed
    return parsed


def _short_text(answer: Any, limit: int = 80) -> str:
    text = (
        answer
        if isinstance(answer, str)
        else sympy.sstr(answer)
        if isinstance(answer, sympy.Basic)
        else repr(answer)
    )
    text = " ".join(_normalise_text(text)[0].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _compare_one(
    a: Any,
    b: Any,
    assumptions: Mapping[str, str],
    sampler: Sampler | None,
    seed: int,
    timeout: float,
    numeric_ok: bool,
    decimal: bool,
) -> str | None:
    numeric = not (a.free_symbols or b.free_symbols)
    if numeric and decimal and not numeric_ok:
        return "is a decimal number; give the exact expression (e.g. 1/4 or 5*sech(5)**2)"
    if a == b:
        return None
    outcome = _run_with_deadline(lambda: _verdict(a, b, assumptions, sampler, seed), timeout)
    if outcome is None or outcome[0] != "ok":
        return "could not be checked in time; write it in a simpler form"
    status, point = outcome[1]
    if status == "equal":
        return None
    if status == "differs" and numeric:
        return f"is not equal to the expected value (a number must match to {REL_TOL:g} relative)"
    if status == "differs":
        return f"is not equivalent to the expected expression (differs at {point})"
    return "could not be checked: it is undefined at the test points; write it in a simpler form"


def _choice_key(text: str) -> str:
    return " ".join(str(text).strip(" \t\r\n'\".").lower().split())


def assert_choice(
    answer: Any, expected: str, options: Sequence[str], *, name: str = "answer"
) -> None:
    """Raise CheckFailed unless ``answer`` is the ``expected`` option (case and spaces ignored).

    The message lists the options but never says which one is right.
    """
    keys = [_choice_key(o) for o in options]
    if _choice_key(expected) not in keys:
        raise ValueError(f"expected answer {expected!r} is not among the options {list(options)}")
    listed = ", ".join(repr(o) for o in options)
    prefix = "" if name == "answer" else f"{name}: "
    if not isinstance(answer, str):
        raise CheckFailed(
            f"{prefix}your answer should be one of the strings {listed}; "
            f"got {_short_text(answer, 40)} ({type(answer).__name__})"
        )
    key = _choice_key(answer)
    if key not in keys:
        raise CheckFailed(
            f"{prefix}your answer {_short_text(answer, 40)!r} is not one of the options {listed}"
        )
    if key != _choice_key(expected):
        raise CheckFailed(
            f"{prefix}your answer {_short_text(answer, 40)!r} is not correct (options: {listed})"
        )
