"""Notebooks: read and validated with nbformat, never executed. Code cells become `Cell`s
(experiment-tagged and tool cells left out); written answers are collected (`written`)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autograder.errors import SubmissionError

from .cells import SKIPPED_TAGS, Cell, Submission, to_python
from .tool_cells import is_tool_cell
from .written import collect_written


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


def read_notebook(path: Path, text: str) -> Submission:
    """The gradable cells and written answers of a notebook file's ``text``."""
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
    if isinstance(raw.get("cells"), list):  # nbformat 4: fields of the wrong type dropped first
        cells = [c for c in raw["cells"] if isinstance(c, dict)]
        if len(cells) < len(raw["cells"]):
            notes.append(f"{len(raw['cells']) - len(cells)} cell(s) that are not objects: ignored")
        raw["cells"] = cells
        notes += sanitise_cells(cells)
        text = json.dumps(raw)
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for broken files
        raise SubmissionError(f"{path.name} could not be read as a notebook: {exc}") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        notes.append(f"the notebook does not fully follow the nbformat schema ({exc.message}); graded anyway")
    answers = collect_written(nb.cells)
    prose = {i: w.question for w in answers for i in w.cells if nb.cells[i].cell_type == "code"}
    notes += [f"cell {i + 1} (under {q}) is not Python: it was read as written text, not run"
              for i, q in prose.items()]
    cells, skipped = [], []
    for index, cell in enumerate(nb.cells):
        tags = frozenset(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type != "code" or index in prose:
            continue
        if tags & SKIPPED_TAGS:
            skipped.append(index)
            continue
        if cell.get("metadata", {}).get("mlhw", {}).get("check") or is_tool_cell(cell):
            continue  # check cells (ours, otter's, nbgrader's tests): the grader runs its own
        cells.append(Cell(index, to_python(cell.source), tags))
    written = {w.question: w.text for w in answers}
    unanswered = tuple(w.question for w in answers if not w.answered)
    return Submission(path, tuple(cells), tuple(skipped), written, tuple(notes), unanswered,
                      named_assignment(nb.metadata))


def named_assignment(metadata: Any) -> str | None:
    """The assignment a released notebook names in ``metadata.mlhw.assignment`` (None when
    it names none, or names it in a form no assignment has)."""
    mlhw = metadata.get("mlhw") if isinstance(metadata, Mapping) else None
    name = mlhw.get("assignment") if isinstance(mlhw, Mapping) else None
    return name if isinstance(name, str) and re.fullmatch(r"[a-z0-9_]{1,64}", name) else None


def sanitise_cells(cells: list[Any]) -> list[str]:
    """Make every field the grader reads of the right type, in place, and say what was
    dropped: a cell's type and source (text), its metadata (a dict), its tags (a list of
    strings), and the ``mlhw``/``nbgrader`` metadata (dicts). Whatever a notebook holds, a
    wrong type is the student's problem with a note, never a crash of the grader."""
    dropped: dict[str, list[int]] = {}
    for i, cell in enumerate(cells, 1):
        if not isinstance(cell.get("cell_type"), str):
            cell["cell_type"] = "raw"
            dropped.setdefault("have no valid cell type", []).append(i)
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            cell["source"] = "".join(source)
        elif not isinstance(source, str):
            cell["source"] = ""
            dropped.setdefault("have a source that is not text", []).append(i)
        if not isinstance(cell.get("metadata", {}), Mapping):
            cell["metadata"] = {}
            dropped.setdefault("have metadata that is not a dict", []).append(i)
        meta = cell.setdefault("metadata", {})
        tags = meta.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            meta["tags"] = []
            dropped.setdefault("have tags that are not a list of strings", []).append(i)
        for key in ("mlhw", "nbgrader"):
            if key in meta and not isinstance(meta[key], Mapping):
                del meta[key]
                dropped.setdefault(f"have {key!r} metadata that is not a dict", []).append(i)
    return [f"cells {_numbers(where)} {what}: ignored" for what, where in dropped.items()]


def _numbers(indices: list[int]) -> str:
    shown = ", ".join(map(str, indices[:8]))
    return shown + (f" and {len(indices) - 8} more" if len(indices) > 8 else "")
