"""Mutants of an assignment's worked solution: one solution region changed at one site.

``generate(source)`` walks the regions that ``autograder.release.source`` finds (the code a
student writes), applies every operator of ``operators.py`` to each, and returns
``Mutant``s with a stable id: ``<function>.<operator>.<hash>``, the hash taken from the
function, the operator, the text before and after and which occurrence of that text it is,
so an id survives edits elsewhere in the notebook (ids are what ``equivalent_mutants.toml``
and the CI sample name). ``mutant_notebook(source, mutant)`` is the solution notebook with
that one change.
"""

from __future__ import annotations

import ast
import copy
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field, replace

from nbformat import NotebookNode

from autograder.mutants.operators import OPERATORS, Site, apply, sites
from autograder.release.source import Region, Source, SourceCell, solution_notebook


@dataclass(frozen=True)
class Mutant:
    """One mutant: in ``function`` (question ``question``), line ``line`` of source cell
    ``cell`` (1-based, counted in the source notebook's cell), ``original`` -> ``mutated``."""

    id: str
    question: str
    function: str
    operator: str
    cell: int
    line: int
    original: str
    mutated: str
    before: str = ""  # the whole line, as written and as mutated (first line of a change)
    after: str = ""
    cell_source: str = field(default="", repr=False, compare=False)

    def describe(self) -> str:
        return f"{self.function}, line {self.line}: {self.before}  ->  {self.after}"


def notebook_names(source: Source) -> tuple[frozenset[str], frozenset[str]]:
    """Every name the notebook's code binds or uses (functions, parameters, variables), and
    those of them that are called somewhere."""
    names: set[str] = set()
    called: set[str] = set()
    for sc in source.cells:
        if sc.cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_without_magics(sc.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Name):
                names.add(node.id)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called.add(node.func.id)
    return frozenset(names), frozenset(called)


def _without_magics(text: str) -> str:
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in text.split("\n"))


def region_code(text: str, region: Region) -> str:
    """The region's body, its indent removed (what the operators parse)."""
    body = text.split("\n")[region.begin + 1 : region.end]
    return "\n".join(ln[len(region.indent):] if ln.startswith(region.indent) else ln.lstrip()
                     for ln in body)


def _with_region(text: str, region: Region, code: str) -> str:
    lines = text.split("\n")
    body = [region.indent + ln if ln.strip() else ln for ln in code.split("\n")]
    return "\n".join(lines[: region.begin + 1] + body + lines[region.end :])


def _mutant_id(function: str, site: Site, occurrence: int) -> str:
    key = f"{function}|{site.operator}|{site.original}|{site.mutated}|{occurrence}"
    return f"{function}.{site.operator}.{hashlib.sha1(key.encode()).hexdigest()[:6]}"


def generate(source: Source, question: str | None = None) -> list[Mutant]:
    """Every mutant of the solution regions (of ``question`` only, when given)."""
    names, functions = notebook_names(source)
    mutants: list[Mutant] = []
    for sc in source.cells:
        if sc.kind not in ("code", "setup") or not sc.regions or sc.question is None:
            continue
        if question is not None and sc.question != question:
            continue
        for region in sc.regions:
            code = region_code(sc.source, region)
            function = region.function or sc.question
            seen: dict[tuple[str, str, str], int] = defaultdict(int)
            for site in sites(code, names, functions):
                occurrence = seen[(site.operator, site.original, site.mutated)]
                seen[(site.operator, site.original, site.mutated)] += 1
                mutated_text = _with_region(sc.source, region, apply(code, site))
                try:
                    compile(_without_magics(mutated_text), "<mutant>", "exec")
                except SyntaxError:
                    continue  # e.g. an index shifted in an assignment target
                mutants.append(Mutant(
                    id=_mutant_id(function, site, occurrence), question=sc.question,
                    function=function, operator=site.operator, cell=sc.index + 1,
                    line=region.begin + 1 + site.lineno, original=site.original,
                    mutated=site.mutated, cell_source=mutated_text,
                    before=code.split("\n")[site.lineno - 1].strip(),
                    after=apply(code, site).split("\n")[site.lineno - 1].strip()))
    return mutants


def mutant_notebook(source: Source, mutant: Mutant | None) -> NotebookNode:
    """The solution notebook with ``mutant`` applied (None: the solution itself)."""
    if mutant is None:
        return solution_notebook(source)
    cells: list[SourceCell] = []
    for sc in source.cells:
        if sc.index + 1 == mutant.cell:
            cell = copy.deepcopy(sc.cell)
            cell.source = mutant.cell_source
            sc = replace(sc, cell=cell)
        cells.append(sc)
    return solution_notebook(replace(source, cells=tuple(cells)))


def spread(mutants: list[Mutant], limit: int | None) -> list[Mutant]:
    """At most ``limit`` mutants, taken in turn from each question and, within a question,
    from each operator: a bounded run still covers every question and operator."""
    if limit is None or limit >= len(mutants):
        return list(mutants)
    by_question: dict[str, dict[str, list[Mutant]]] = defaultdict(lambda: defaultdict(list))
    for m in mutants:
        by_question[m.question][m.operator].append(m)
    queues = []
    for ops in by_question.values():
        order = [ops[o] for o in OPERATORS if o in ops]
        queue = []
        while any(order):
            queue += [lst.pop(0) for lst in order if lst]
        queues.append(queue)
    picked: list[Mutant] = []
    while len(picked) < limit:
        picked += [q.pop(0) for q in queues if q][: limit - len(picked)]
    return picked
