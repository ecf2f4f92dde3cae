"""Mutation operators: small AST edits of the kinds students make, on one region of code.

``sites(code, names)`` lists every place an operator applies in ``code`` (a solution
region, dedented) as a ``Site``: the text it replaces and the text it puts there, found by
walking the AST and checked by parsing the result again (parentheses added where the
replacement needs them). ``apply(code, site)`` makes the mutant's text; everything but the
one expression is left as written, comments included, so a mutant reads as a one-line diff.

mutmut and cosmic-ray work on whole files in a package tree with their own runners, and
their operators (``<`` to ``<=``, string changes, keyword removal) are not the ones that
matter here; ours need the names the notebook defines (``dtanh`` for ``tanh``) and must
stay inside a solution region of a notebook cell, so they are written here.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

OPERATORS = ("sign", "binop", "index", "axis", "transpose", "factor", "reduce", "sibling",
             "constant")

BINOP_SWAPS: dict[type, type] = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.MatMult,
                                 ast.MatMult: ast.Mult, ast.Div: ast.Mult}
REDUCTIONS = {"sum": "mean", "mean": "sum"}
SIBLINGS = {"tanh": "sigmoid", "sigmoid": "tanh", "log": "log1p", "log1p": "log",
            "exp": "expm1", "expm1": "exp", "max": "min", "min": "max",
            "maximum": "minimum", "minimum": "maximum", "argmax": "argmin",
            "argmin": "argmax", "zeros": "ones", "ones": "zeros"}
NUMPY_NAMES = {"log1p", "log", "exp", "expm1", "max", "min", "maximum", "minimum", "argmax",
               "argmin", "zeros", "ones", "tanh"}


@dataclass(frozen=True)
class Site:
    """One mutation: ``original`` (lines ``lineno``..``end_lineno``, 1-based, columns in
    characters) becomes ``mutated``."""

    operator: str
    lineno: int
    col: int
    end_lineno: int
    end_col: int
    original: str
    mutated: str


class _Context:
    """What an operator needs to know about a node's surroundings."""

    def __init__(self, tree: ast.AST, names: frozenset[str], functions: frozenset[str]) -> None:
        self.names = names
        self.functions = functions
        self.parent: dict[int, ast.AST] = {}
        self.index: set[int] = set()  # nodes that are (part of) an index or a range bound
        self.keyword: set[int] = set()  # nodes inside a keyword argument
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) or _is_call_to(node, "range"):
                parts = [node.slice] if isinstance(node, ast.Subscript) else node.args
                for part in parts:
                    self.index |= {id(n) for n in ast.walk(part)}
            elif isinstance(node, ast.keyword):
                self.keyword |= {id(n) for n in ast.walk(node.value)}


def _is_call_to(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _int_literal(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        return -node.operand.value
    return None


def _literal(value: int) -> ast.expr:
    return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))


def _off_by_one(value: int) -> int:
    return value + 1 if value >= 0 else value - 1


# --------------------------------------------------------------------------- operators
# each yields the replacement nodes for one node (the node itself is never modified)
def op_sign(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and id(node) not in ctx.index
            and not (id(node) in ctx.keyword and isinstance(node.operand, ast.Constant))):
        yield node.operand  # (axis=-1 is the axis operator's, not a sign)


def op_binop(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in BINOP_SWAPS:
        new = copy.copy(node)
        new.op = BINOP_SWAPS[type(node.op)]()
        yield new


def _index_parts(node: ast.AST) -> list[ast.expr]:
    if _is_call_to(node, "range"):
        return [a for a in node.args if _int_literal(a) is not None]
    if not isinstance(node, ast.Subscript):
        return []
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    parts: list[ast.expr] = []
    for item in items:
        if isinstance(item, ast.Slice):
            parts += [p for p in (item.lower, item.upper) if p is not None]
        elif not isinstance(item, ast.Constant) or type(item.value) is int:
            parts.append(item)
    return parts


def op_index(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    for part in _index_parts(node):
        value = _int_literal(part)
        if value is not None:
            yield _Replace(part, _literal(_off_by_one(value)))
        elif isinstance(part, ast.Name | ast.BinOp | ast.Attribute | ast.Call):
            yield _Replace(part, ast.BinOp(part, ast.Sub(), ast.Constant(1)))


def op_axis(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    if isinstance(node, ast.keyword) and node.arg == "axis":
        value = _int_literal(node.value)
        if value is not None:
            yield _Replace(node.value, ast.Constant(1 if value in (0, -2) else 0))


def op_transpose(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        right = node.right
        if not (isinstance(right, ast.Attribute) and right.attr == "T"):
            yield _Replace(right, ast.Attribute(right, "T", ast.Load()))


def op_factor(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    if not isinstance(node, ast.BinOp):
        return
    if isinstance(node.op, ast.Div):
        yield node.left  # the 1/m dropped
        yield ast.BinOp(node.left, ast.Div(),
                        ast.BinOp(ast.Constant(2), ast.Mult(), node.right))  # a 1/2 added
    elif isinstance(node.op, ast.Mult):
        for this, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(this, ast.Constant) and type(this.value) in (int, float):
                yield other


def _called_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
        if isinstance(node.func, ast.Name):
            return node.func.id
    return None


def _renamed_call(node: ast.Call, name: str, numpy: bool) -> ast.Call:
    """``node`` calling ``name``: NumPy's (``np.name``, or the module it was called on)
    or the notebook's own (a plain name)."""
    new = copy.copy(node)
    if not numpy:
        new.func = ast.Name(name, ast.Load())
    elif isinstance(node.func, ast.Attribute):
        new.func = ast.Attribute(node.func.value, name, ast.Load())
    else:
        new.func = ast.Attribute(ast.Name("np", ast.Load()), name, ast.Load())
    return new


def op_reduce(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    name = _called_name(node)
    if name in REDUCTIONS:
        yield _renamed_call(node, REDUCTIONS[name], True)


def op_sibling(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    name = _called_name(node)
    if name in SIBLINGS:
        other = SIBLINGS[name]
        if other in ctx.names:  # the notebook's own (sigmoid, or a tanh it defines)
            yield _renamed_call(node, other, False)
        elif other in NUMPY_NAMES:
            yield _renamed_call(node, other, True)
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        # a function and its derivative: f <-> df, as the notebook names them
        base = node.id[1:] if node.id.startswith("d") else node.id
        pair = {base, "d" + base}
        if pair <= ctx.names and pair & ctx.functions:
            yield ast.Name((pair - {node.id}).pop(), ast.Load())


def op_constant(node: ast.AST, ctx: _Context) -> Iterator[ast.AST]:
    if (isinstance(node, ast.Constant) and type(node.value) in (int, float)
            and id(node) not in ctx.index and id(node) not in ctx.keyword):
        if type(node.value) is int:
            yield ast.Constant(node.value + 1)
        else:
            yield ast.Constant(node.value * 2 if node.value else 1.0)


class _Replace:
    """An operator's result that replaces a child (``target``) rather than the node."""

    def __init__(self, target: ast.AST, new: ast.AST) -> None:
        self.target, self.new = target, new


RULES: dict[str, Callable[[ast.AST, _Context], Iterator[ast.AST]]] = {
    "sign": op_sign, "binop": op_binop, "index": op_index, "axis": op_axis,
    "transpose": op_transpose, "factor": op_factor, "reduce": op_reduce,
    "sibling": op_sibling, "constant": op_constant,
}


# --------------------------------------------------------------------------- sites
def sites(code: str, names: frozenset[str] = frozenset(),
          functions: frozenset[str] = frozenset()) -> list[Site]:
    """Every mutation of ``code`` (parseable Python), in source order within each operator.

    ``names``: the names the notebook defines (functions, parameters, variables), for the
    sibling operator (``tanh`` -> ``sigmoid`` only where ``sigmoid`` exists); ``functions``:
    those of them called somewhere (``f`` <-> ``df`` only for functions, not ``w``/``dw``)."""
    tree = ast.parse(code)
    ctx = _Context(tree, names, functions)
    found: list[Site] = []
    seen: set[tuple[int, int, int, int, str]] = set()
    for operator, rule in RULES.items():
        for node in ast.walk(tree):
            for result in rule(node, ctx):
                target, new = ((result.target, result.new) if isinstance(result, _Replace)
                               else (node, result))
                site = _site(code, tree, operator, target, new)
                if site is None:
                    continue
                key = (site.lineno, site.col, site.end_lineno, site.end_col, site.mutated)
                if key not in seen and site.mutated != site.original:
                    seen.add(key)
                    found.append(site)
    return sorted(found, key=lambda s: (OPERATORS.index(s.operator), s.lineno, s.col))


def _site(code: str, tree: ast.AST, operator: str, target: ast.AST, new: ast.AST) -> Site | None:
    if not hasattr(target, "end_col_offset"):
        return None
    original = ast.get_source_segment(code, target)
    if original is None:
        return None
    expected = ast.dump(_substituted(tree, target, new))
    if isinstance(target, ast.AugAssign):
        # keep the statement's own text; only its operator changes
        candidates = [ast.unparse(new)]
    else:
        candidates = [ast.unparse(new), f"({ast.unparse(new)})"]
    for text in candidates:
        site = Site(operator, target.lineno, _chars(code, target.lineno, target.col_offset),
                    target.end_lineno, _chars(code, target.end_lineno, target.end_col_offset),
                    original, text)
        try:
            if ast.dump(ast.parse(apply(code, site))) == expected:
                return site
        except SyntaxError:
            continue
    return None


def _chars(code: str, lineno: int, byte_col: int) -> int:
    """A column in characters from the AST's column in UTF-8 bytes."""
    line = code.split("\n")[lineno - 1]
    return len(line.encode()[:byte_col].decode(errors="ignore"))


def _substituted(tree: ast.AST, target: ast.AST, new: ast.AST) -> ast.AST:
    """A copy of ``tree`` with ``target`` replaced by ``new``."""
    memo: dict[int, object] = {id(target): new}
    return copy.deepcopy(tree, memo)


def apply(code: str, site: Site) -> str:
    """``code`` with the site's text replaced."""
    lines = code.split("\n")
    head = lines[site.lineno - 1][: site.col]
    tail = lines[site.end_lineno - 1][site.end_col :]
    return "\n".join(lines[: site.lineno - 1] + [head + site.mutated + tail] + lines[site.end_lineno :])
