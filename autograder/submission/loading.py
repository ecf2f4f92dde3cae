"""Load a submission (.ipynb or .py, or an otter zip or nbgrader folder holding one) into
plain Python cells the worker can run."""

from __future__ import annotations

import re
from pathlib import Path

from autograder.errors import SubmissionError

from .archives import resolve_submission
from .cells import MAX_BYTES, SKIPPED_TAGS, Cell, Submission, to_python
from .notebooks import read_notebook

_PERCENT_CELL = re.compile(r"^# %%(.*)$", re.MULTILINE)


def load_submission(path: str | Path) -> Submission:
    """Read ``path`` (.ipynb or .py) and return its gradable cells.

    ``path`` may also be an otter-grader export zip or an nbgrader ``submitted/...`` folder.

    Raises
    ------
    SubmissionError
        When the file is missing, empty, too large, not JSON, not a notebook, of an
        unsupported nbformat, or contains no code; or a zip is unsafe or holds no notebook.
    """
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
        submission = read_script(path, text)
    elif path.suffix == ".ipynb":
        submission = read_notebook(path, text)
    else:
        raise SubmissionError(
            f"{path.name}: unsupported file type {path.suffix!r}; submit a .ipynb notebook or a .py file"
        )
    if not submission.cells:
        raise SubmissionError(f"{path.name} contains no code to grade")
    return submission


def read_script(path: Path, text: str) -> Submission:
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
