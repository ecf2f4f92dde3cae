"""Load a submission (.ipynb or .py) into plain Python cells the worker can run.

Nothing here executes student code: notebooks are parsed and validated with nbformat, IPython
syntax (magics, shell escapes) is rewritten into calls on a stub shell that the worker
provides, and cells tagged as experiments (long training runs) are left out of grading.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path


def _import_nbformat():
    """nbformat without jsonschema's checkers of string formats: when installed, those cost
    ~40 ms per command (rfc3987_syntax builds a parser for seconds) and nbformat's schema
    uses no format. They are hidden only while nbformat is first imported."""
    checkers = ("rfc3987_syntax", "rfc3987", "rfc3986_validator", "rfc3339_validator",
                "webcolors", "jsonpointer", "uri_template", "isoduration", "fqdn")
    hidden = [name for name in checkers if name not in sys.modules]
    sys.modules.update(dict.fromkeys(hidden))  # type: ignore[arg-type]
    try:
        import nbformat
    finally:
        for name in hidden:
            sys.modules.pop(name, None)
    return nbformat


nbformat = _import_nbformat()

MAX_BYTES = 50 * 1024 * 1024
SKIPPED_TAGS = frozenset({"experiment", "skip-grading"})
_IPYTHON_SYNTAX = re.compile(r"^\s*(%|!)|=\s*!|^\s*\w+\?\s*$", re.MULTILINE)
_PERCENT_CELL = re.compile(r"^# %%(.*)$", re.MULTILINE)

# Defines `get_ipython()` in the student's namespace: line magics are ignored, cell magics
# that only time or capture run their body, and shell escapes are refused while grading.
# `mlhw_check` (the student's public-check runner) becomes a no-op: the grader runs the real
# tests itself.
SHELL_PRELUDE = '''
import sys as _sys, types as _types

_stub = _types.ModuleType("mlhw_check")
_stub.check = lambda *args, **kwargs: None
_stub.question = lambda *args, **kwargs: (lambda test: test)
_sys.modules.setdefault("mlhw_check", _stub)
del _sys, _types, _stub

class _GradingShell:
    _RUN_BODY = {"time", "timeit", "capture", "prun"}

    def run_line_magic(self, name, line, *args, **kwargs):
        return None

    def run_cell_magic(self, name, line, cell):
        if name in self._RUN_BODY:
            exec(compile(cell, "<cell magic>", "exec"), globals())
            return None
        print(f"%%{name} cells are not run while grading", file=__import__("sys").stderr)

    def system(self, cmd, *args, **kwargs):
        print(f"shell escapes are disabled while grading: !{cmd}", file=__import__("sys").stderr)

    getoutput = system

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def get_ipython():
    return _GRADING_SHELL


_GRADING_SHELL = _GradingShell()
'''


class SubmissionError(Exception):
    """The file cannot be graded; the message says why and is safe to show to the student."""


@dataclass(frozen=True)
class Cell:
    """One code cell as plain Python (IPython syntax already rewritten)."""

    index: int
    source: str
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Submission:
    """What the grader needs from a submitted file."""

    path: Path
    cells: tuple[Cell, ...]
    skipped: tuple[int, ...] = ()
    written: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def sources(self) -> list[str]:
        """The code to run in the worker, prelude first."""
        return [SHELL_PRELUDE] + [cell.source for cell in self.cells]

    def cell_names(self) -> list[str]:
        """How the student knows each source of `sources` (its place in the notebook)."""
        return ["grading set-up"] + [f"cell {cell.index + 1}" for cell in self.cells]


def load_submission(path: str | Path) -> Submission:
    """Read ``path`` (.ipynb or .py) and return its gradable cells.

    ``path`` may also be an otter-grader export zip or an nbgrader ``submitted/...`` folder.

    Raises
    ------
    SubmissionError
        When the file is missing, empty, too large, not JSON, not a notebook, of an
        unsupported nbformat, or contains no code; or a zip is unsafe or holds no notebook.
    """
    from autograder.submission_formats import resolve_submission  # it imports this module

    path = resolve_submission(Path(path))
    if not path.is_file():
        raise SubmissionError(f"{path.name}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise SubmissionError(f"{path.name} is empty")
    if size > MAX_BYTES:
        raise SubmissionError(f"{path.name} is {size / 2**20:.0f} MiB; the limit is 50 MiB")
    text = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix == ".py":
        submission = _from_python(path, text)
    elif path.suffix == ".ipynb":
        submission = _from_notebook(path, text)
    else:
        raise SubmissionError(
            f"{path.name}: unsupported file type {path.suffix!r}; submit a .ipynb notebook or a .py file"
        )
    if not submission.cells:
        raise SubmissionError(f"{path.name} contains no code to grade")
    return submission


def _from_notebook(path: Path, text: str) -> Submission:
    from autograder.submission_formats import is_tool_cell

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not a Jupyter notebook: it is not valid JSON ({exc.msg} at line "
            f"{exc.lineno}). Was it saved completely? Re-save it from Jupyter and submit again."
        ) from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (it has no cells)")
    major = raw.get("nbformat")
    if major not in (3, 4):
        raise SubmissionError(
            f"{path.name} uses notebook format {major!r}; only nbformat 3 and 4 are supported"
        )
    notes: list[str] = []
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for broken files
        raise SubmissionError(f"{path.name} could not be read as a notebook: {exc}") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        notes.append(f"the notebook does not fully follow the nbformat schema ({exc.message}); graded anyway")
    cells, skipped, written = [], [], {}
    for index, cell in enumerate(nb.cells):
        tags = frozenset(cell.get("metadata", {}).get("tags", []))
        question = cell.get("metadata", {}).get("mlhw", {}).get("written")
        if cell.cell_type == "markdown" and question:
            written[str(question)] = cell.source
        if cell.cell_type != "code":
            continue
        if tags & SKIPPED_TAGS:
            skipped.append(index)
            continue
        if cell.get("metadata", {}).get("mlhw", {}).get("check") or is_tool_cell(cell):
            continue  # check cells (ours, otter's, nbgrader's tests): the grader runs its own
        cells.append(Cell(index, to_python(cell.source), tags))
    return Submission(path, tuple(cells), tuple(skipped), written, tuple(notes))


def _from_python(path: Path, text: str) -> Submission:
    """A .py file is one cell, or several when it uses `# %%` cell markers (jupytext)."""
    parts = _PERCENT_CELL.split(text)
    if len(parts) == 1:
        return Submission(path, (Cell(0, text),))
    chunks = [("", parts[0])] + list(zip(parts[1::2], parts[2::2]))
    cells, skipped = [], []
    for index, (header, body) in enumerate(chunks):
        tags = frozenset(re.findall(r'"([\w-]+)"', header)) if "tags" in header else frozenset()
        if not body.strip():
            continue
        if tags & SKIPPED_TAGS:
            skipped.append(index)
            continue
        cells.append(Cell(index, to_python(body), tags))
    return Submission(path, tuple(cells), tuple(skipped))


def to_python(source: str) -> str:
    """Rewrite IPython-only syntax (magics, ``!cmd``) into plain Python calls."""
    if not _IPYTHON_SYNTAX.search(source):
        return source
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)
