"""The cells otter-grader and nbgrader add to a notebook around the student's work (otter's
set-up, check and export cells, nbgrader's locked test cells): not the student's code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# every line of a cell otter assign writes (set-up, check, check-all and export cells)
_OTTER_LINE = re.compile(
    r"\s*(# Initialize Otter|import otter|grader = otter\.Notebook\(.*\)|"
    r"grader\.check(_all)?\(.*\)|grader\.export\(.*\)|# Save your notebook first, .*)\s*"
)


def is_tool_cell(cell: Mapping[str, Any]) -> bool:
    """True for a cell otter-grader or nbgrader added around the student's work: otter's
    initialisation, ``grader.check``/``export`` cells; nbgrader's locked test cells (graded,
    not a solution). The grader need not run them: they only check or package the notebook."""
    if cell.get("cell_type") != "code":
        return False
    meta = cell.get("metadata", {}) or {}
    nbg = meta.get("nbgrader", {}) or {}
    if nbg.get("grade") and not nbg.get("solution"):
        return True
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    lines = [ln for ln in source.splitlines() if ln.strip()]
    return bool(lines) and all(_OTTER_LINE.fullmatch(ln) for ln in lines)
