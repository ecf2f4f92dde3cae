"""Read an assignment's source notebook and derive its student and solution versions.

The source format is described in docs/ASSIGNMENT_FORMAT.md. This module is the one place
that knows it; every release format (plain, otter, nbgrader) builds on this API:

- ``load_source(name_or_folder) -> Source``: the parsed ``assignments/<name>/`` folder.
- ``Source.cells``: one ``SourceCell`` per notebook cell, classified by ``kind``:
  ``"markdown"``, ``"setup"`` (first code cell), ``"code"``, ``"written"`` (Markdown answer
  cell), ``"check"`` (``check("qN")`` cell), ``"experiment"`` (tag ``experiment``) or
  ``"instructor"`` (tag ``instructor``). Code cells carry their solution ``regions`` and the
  ``answers`` (names assigned on ``# SOLUTION`` lines); every cell has the ``question`` it
  belongs to (the question of the next check cell, or its own for written/check cells).
- ``student_source(text, question)`` / ``solution_source(text)``: one code cell's text.
- ``student_notebook(source)`` / ``solution_notebook(source)``: whole notebooks, outputs
  cleared, instructor cells removed.
- ``solution_lines(source) -> set[str]``: every stripped, non-blank line of solution text
  (region bodies, ``# SOLUTION`` lines, model answers), for leak tests.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from autograder.submission.written import PROMPT

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = REPO / "assignments"

KINDS = ("markdown", "setup", "code", "written", "check", "experiment", "instructor")

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b.*$")
END = re.compile(r"^[ \t]*#\s*END SOLUTION\b.*$")
ANSWER = re.compile(r"^(?P<indent>[ \t]*)(?P<target>[^=#]+?)\s*=(?!=).*#\s*SOLUTION\s*$")
DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async\s+)?def\s+(?P<name>\w+)\s*\(")
WRITTEN_BEGIN = "<!-- BEGIN SOLUTION -->"
WRITTEN_END = "<!-- END SOLUTION -->"
WRITTEN_PROMPT = PROMPT  # the grader recognises an unanswered cell by it
CHECK_CALL = re.compile(r"""check\(\s*["'](?P<q>\w+)["']\s*\)""")


class SourceError(ValueError):
    """The source notebook does not follow the format (message names the cell and line)."""


@dataclass(frozen=True)
class Region:
    """A ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region: lines ``begin``..``end``
    (0-based, the marker lines included) of its cell, inside function ``function`` (None at
    top level), indented by ``indent``."""

    begin: int
    end: int
    indent: str
    function: str | None


@dataclass(frozen=True)
class SourceCell:
    index: int
    kind: str
    cell: NotebookNode
    question: str | None = None
    regions: tuple[Region, ...] = ()
    answers: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        return self.cell.source

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(self.cell.get("metadata", {}).get("tags", []))


@dataclass(frozen=True)
class Source:
    """A parsed assignment: its notebook, classified cells and ``assignment.toml``."""

    name: str
    folder: Path
    notebook: NotebookNode
    cells: tuple[SourceCell, ...]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def questions(self) -> dict[str, dict[str, Any]]:
        return dict(self.config.get("questions", {}))

    @property
    def data_files(self) -> list[str]:
        return list(self.config.get("data", []))

    @property
    def public_tests(self) -> Path:
        return self.folder / "public_tests.py"

    def of_kind(self, *kinds: str) -> list[SourceCell]:
        return [c for c in self.cells if c.kind in kinds]


# --------------------------------------------------------------------------- parsing
def load_source(name_or_folder: str | Path) -> Source:
    """Parse ``assignments/<name>/`` (or a folder holding ``source.ipynb``)."""
    folder = Path(name_or_folder)
    if not (folder / "source.ipynb").is_file():
        folder = ASSIGNMENTS / str(name_or_folder)
    path = folder / "source.ipynb"
    if not path.is_file():
        known = sorted(p.parent.name for p in ASSIGNMENTS.glob("*/source.ipynb"))
        raise SourceError(f"no source notebook {path}; assignments with one: {', '.join(known)}")
    nb = nbformat.read(path, as_version=4)
    config: dict[str, Any] = {}
    if (folder / "assignment.toml").is_file():
        config = tomllib.loads((folder / "assignment.toml").read_text())
    return parse_notebook(nb, name=folder.name, folder=folder, config=config)


def _mlhw(cell: NotebookNode) -> dict[str, Any]:
    return dict(cell.get("metadata", {}).get("mlhw", {}) or {})


def _kind(cell: NotebookNode, first_code: bool) -> str:
    tags = set(cell.get("metadata", {}).get("tags", []))
    meta = _mlhw(cell)
    if "instructor" in tags:
        return "instructor"
    if cell.cell_type == "markdown":
        return "written" if meta.get("written") else "markdown"
    if cell.cell_type != "code":
        return "markdown"
    if meta.get("check"):
        return "check"
    if "experiment" in tags:
        return "experiment"
    return "setup" if first_code else "code"


def find_regions(text: str, where: str = "cell") -> tuple[tuple[Region, ...], tuple[str, ...]]:
    """The solution regions and ``# SOLUTION`` answer names of one code cell's text."""
    lines = text.split("\n")
    regions: list[Region] = []
    answers: list[str] = []
    defs: list[tuple[str, str]] = []  # (indent, name) of enclosing defs
    begin: tuple[int, str] | None = None
    for i, line in enumerate(lines):
        if begin is None:
            m = DEF.match(line)
            if m:
                indent = m.group("indent")
                defs = [d for d in defs if len(d[0]) < len(indent)] + [(indent, m.group("name"))]
            elif line.strip() and not line.lstrip().startswith("#"):
                indent = line[: len(line) - len(line.lstrip())]
                defs = [d for d in defs if len(d[0]) < len(indent)]
        if BEGIN.match(line):
            if begin is not None:
                raise SourceError(f"{where}, line {i + 1}: BEGIN SOLUTION inside another region")
            begin = (i, BEGIN.match(line).group("indent"))
        elif END.match(line):
            if begin is None:
                raise SourceError(f"{where}, line {i + 1}: END SOLUTION without BEGIN SOLUTION")
            function = defs[-1][1] if defs and len(defs[-1][0]) < len(begin[1]) else None
            regions.append(Region(begin[0], i, begin[1], function))
            begin = None
        elif begin is None and line.rstrip().endswith("# SOLUTION"):
            m = ANSWER.match(line)
            if not m:
                raise SourceError(
                    f"{where}, line {i + 1}: a '# SOLUTION' line must be an "
                    f"assignment `name = value  # SOLUTION`: {line.strip()!r}"
                )
            answers.append(m.group("target").strip())
    if begin is not None:
        raise SourceError(f"{where}, line {begin[0] + 1}: BEGIN SOLUTION is never ended")
    return tuple(regions), tuple(answers)


def parse_notebook(
    nb: NotebookNode, *, name: str, folder: Path | None = None, config: dict[str, Any] | None = None
) -> Source:
    """Classify the cells of a source notebook (see the module docstring)."""
    kinds: list[str] = []
    seen_code = False
    for cell in nb.cells:
        first = (
            cell.cell_type == "code"
            and not seen_code
            and "instructor" not in cell.get("metadata", {}).get("tags", [])
        )
        kinds.append(_kind(cell, first))
        seen_code = seen_code or first
    # a cell belongs to the question of the next check cell (written/check cells: their own)
    questions: list[str | None] = [None] * len(nb.cells)
    upcoming: str | None = None
    for i in range(len(nb.cells) - 1, -1, -1):
        meta = _mlhw(nb.cells[i])
        own = meta.get("check") or meta.get("written") or meta.get("question")
        if kinds[i] == "check":
            upcoming = str(meta["check"])
        questions[i] = str(own) if own else upcoming
    cells = []
    for i, (cell, kind) in enumerate(zip(nb.cells, kinds, strict=True)):
        regions: tuple[Region, ...] = ()
        answers: tuple[str, ...] = ()
        if cell.cell_type == "code":
            regions, answers = find_regions(cell.source, where=f"{name} cell {i + 1}")
        if kind == "written" and (WRITTEN_BEGIN in cell.source) != (WRITTEN_END in cell.source):
            raise SourceError(
                f"{name} cell {i + 1}: written cell needs both {WRITTEN_BEGIN} and {WRITTEN_END}"
            )
        cells.append(SourceCell(i, kind, cell, questions[i], regions, answers))
    return Source(name, Path(folder) if folder else Path("."), nb, tuple(cells), config or {})


# --------------------------------------------------------------------------- transforms
def student_source(text: str, question: str | None = None) -> str:
    """A code cell for students: regions become ``raise NotImplementedError("<function>")``
    (the question id at top level), ``x = v  # SOLUTION`` becomes ``x = ...  # YOUR ANSWER``."""
    regions, _ = find_regions(text)
    lines = text.split("\n")
    out: list[str] = []
    starts = {r.begin: r for r in regions}
    skip_to = -1
    for i, line in enumerate(lines):
        if i <= skip_to:
            continue
        if i in starts:
            r = starts[i]
            label = r.function or question or "solution"
            out.append(f'{r.indent}raise NotImplementedError("{label}")')
            skip_to = r.end
            continue
        m = ANSWER.match(line) if line.rstrip().endswith("# SOLUTION") else None
        if m:
            out.append(f"{m.group('indent')}{m.group('target').strip()} = ...  # YOUR ANSWER")
            continue
        out.append(line)
    return "\n".join(out)


def solution_source(text: str) -> str:
    """A code cell with its solutions kept and the markers removed."""
    out = []
    for line in text.split("\n"):
        if BEGIN.match(line) or END.match(line):
            continue
        if line.rstrip().endswith("# SOLUTION") and ANSWER.match(line):
            line = line.rstrip()[: -len("# SOLUTION")].rstrip()
        out.append(line)
    return "\n".join(out)


def _written_parts(text: str) -> tuple[str, str, str]:
    """(before, model answer, after) of a written cell; no markers: ("", text, "")."""
    if WRITTEN_BEGIN not in text:
        return "", text, ""
    before, rest = text.split(WRITTEN_BEGIN, 1)
    answer, after = rest.split(WRITTEN_END, 1)
    return before, answer, after


def student_written(text: str) -> str:
    before, _, after = _written_parts(text)
    return f"{before}{WRITTEN_PROMPT}{after}".strip("\n") if before or after else WRITTEN_PROMPT


def solution_written(text: str) -> str:
    before, answer, after = _written_parts(text)
    return f"{before}{answer.strip()}{after}".strip("\n")


def written_question_text(text: str) -> tuple[str, str]:
    """The question text of a written cell before and after its model answer, stripped."""
    before, _, after = _written_parts(text)
    return before.strip("\n"), after.strip("\n")


def model_answer(text: str) -> str:
    """The model answer of a written cell (the text between the markers)."""
    return _written_parts(text)[1].strip()


def _clean(cell: NotebookNode, source: str) -> NotebookNode:
    new = copy.deepcopy(cell)
    new.source = source
    if new.cell_type == "code":
        new.outputs = []
        new.execution_count = None
    return new


def _notebook(source: Source, cells: list[NotebookNode]) -> NotebookNode:
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.notebook.metadata))
    nb.metadata.setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"}
    )
    nb.metadata.pop("widgets", None)
    nb.metadata["mlhw"] = {"assignment": source.name}  # the grader refuses another's notebook
    return nb


def student_cell(sc: SourceCell) -> NotebookNode | None:
    """The student version of one cell (None for instructor cells)."""
    if sc.kind == "instructor":
        return None
    if sc.kind == "written":
        return _clean(sc.cell, student_written(sc.source))
    if sc.cell.cell_type == "code":
        return _clean(sc.cell, student_source(sc.source, sc.question))
    return _clean(sc.cell, sc.source)


def student_notebook(source: Source, *, experiments: bool = True) -> NotebookNode:
    """The notebook students receive; ``experiments=False`` also drops experiment cells."""
    cells = []
    for sc in source.cells:
        if sc.kind == "experiment" and not experiments:
            continue
        cell = student_cell(sc)
        if cell is not None:
            cells.append(cell)
    return _notebook(source, cells)


def solution_notebook(source: Source, *, experiments: bool = True) -> NotebookNode:
    """The worked solution: solutions and model answers kept, instructor cells removed."""
    cells = []
    for sc in source.cells:
        if sc.kind == "instructor" or (sc.kind == "experiment" and not experiments):
            continue
        if sc.kind == "written":
            cells.append(_clean(sc.cell, solution_written(sc.source)))
        elif sc.cell.cell_type == "code":
            cells.append(_clean(sc.cell, solution_source(sc.source)))
        else:
            cells.append(_clean(sc.cell, sc.source))
    return _notebook(source, cells)


def solution_lines(source: Source) -> set[str]:
    """Every stripped, non-blank line of solution text: region bodies, ``# SOLUTION`` lines
    (their value part too) and model answers of written cells."""
    found: set[str] = set()
    for sc in source.cells:
        if sc.kind == "written":
            found |= {ln.strip() for ln in model_answer(sc.source).splitlines() if ln.strip()}
            continue
        if sc.cell.cell_type != "code":
            continue
        lines = sc.source.split("\n")
        for r in sc.regions:
            found |= {ln.strip() for ln in lines[r.begin + 1 : r.end] if ln.strip()}
        for ln in lines:
            m = ANSWER.match(ln) if ln.rstrip().endswith("# SOLUTION") else None
            if m:
                found.add(solution_source(ln).strip())
    return found


def write_notebook(nb: NotebookNode, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


__all__ = [
    "KINDS",
    "Region",
    "Source",
    "SourceCell",
    "SourceError",
    "find_regions",
    "load_source",
    "model_answer",
    "parse_notebook",
    "solution_lines",
    "solution_notebook",
    "solution_source",
    "student_cell",
    "student_notebook",
    "student_source",
    "student_written",
    "written_question_text",
    "write_notebook",
]


def fill_with_solutions(source: Source, nb: Any, is_solution_cell: Callable[[Any], bool]) -> None:
    """Put the worked solution into each solution cell of a tool's student notebook (in
    order; ValueError when the counts differ): the filled notebook tests and benchmarks grade."""
    solutions = [sc for sc in source.cells if sc.cell.cell_type == "code" and (sc.regions or sc.answers)]
    cells = [c for c in nb.cells if is_solution_cell(c)]
    if len(cells) != len(solutions):
        raise ValueError(f"{len(cells)} solution cells in the notebook, {len(solutions)} in the source")
    for cell, sc in zip(cells, solutions, strict=True):
        cell.source = solution_source(sc.source)
