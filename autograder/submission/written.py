"""Written answers in a notebook: the student's text from a written question (a cell with
metadata ``{"mlhw": {"written": "q7"}}``) down to the next question, wherever it was typed —
in the answer cell, in new cells under it, even in a code cell that is not Python.

The region of question q ends before the next cell that belongs to a question (mlhw
metadata), a tool's cell (otter's checks, nbgrader's tests), or a Markdown heading at the
level of q's own heading or above (the next question's title). The answer prompt
``*Your answer here.*`` and HTML comments (otter's export markers) are not the student's text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.results import WrittenAnswer

from .cells import Submission, to_python
from .tool_cells import is_tool_cell

PROMPT = "*Your answer here.*"  # the stub of every released answer cell (release.source)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s")


@dataclass(frozen=True)
class Written:
    """What a notebook holds for one written question."""

    question: str
    text: str  # the question's cells, prompt and comments removed
    answered: bool  # the prompt was replaced, or text was added under it
    cells: tuple[int, ...]  # the notebook indices of the cells taken as text


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _meta(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    mlhw = (cell.get("metadata") or {}).get("mlhw") or {}
    return mlhw if isinstance(mlhw, Mapping) else {}


def _visible(text: str) -> str:
    """``text`` without HTML comments, stripped."""
    return _COMMENT.sub("", text).strip()


def _heading_level(text: str) -> int | None:
    for line in _visible(text).splitlines():
        if line.strip():
            match = _HEADING.match(line.strip())
            return len(match.group(1)) if match else None
    return None


def _region_end(cells: Sequence[Mapping[str, Any]], start: int) -> int:
    level = _heading_level(_source(cells[start])) or 2
    for i in range(start + 1, len(cells)):
        cell = cells[i]
        if _meta(cell) or is_tool_cell(cell):
            return i
        if cell.get("cell_type") == "markdown":
            found = _heading_level(_source(cell))
            if found is not None and found <= level:
                return i
    return len(cells)


def _answered(texts: list[str]) -> bool:
    """The prompt is gone, or text follows it (in its cell or in cells below)."""
    for i, text in enumerate(texts):
        if PROMPT in text:
            after = text.split(PROMPT, 1)[1]
            return bool(_visible(after)) or any(_visible(t) for t in texts[i + 1 :])
    return True


def is_python(source: str) -> bool:
    """Whether a code cell's source is Python (IPython syntax allowed)."""
    try:
        compile(to_python(source), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return False
    except Exception:  # noqa: BLE001 - IPython's transformer on odd input: not prose
        return True
    return True


def collect_written(cells: Sequence[Mapping[str, Any]]) -> list[Written]:
    """Every written question of a notebook's ``cells`` (nbformat 4 cells), in order.

    The text is the region's Markdown and raw cells and its code cells that are not Python
    (prose typed into a new cell, which Jupyter makes a code cell); code is not text.
    """
    found = []
    for start, cell in enumerate(cells):
        question = _meta(cell).get("written")
        if cell.get("cell_type") != "markdown" or not question:
            continue
        taken = [
            i for i in range(start, _region_end(cells, start))
            if cells[i].get("cell_type") in ("markdown", "raw")
            or not is_python(_source(cells[i]))
        ]
        texts = [_source(cells[i]) for i in taken]
        shown = [_visible(t.replace(PROMPT, "")) for t in texts]
        found.append(Written(str(question), "\n\n".join(t for t in shown if t),
                             _answered(texts), tuple(taken)))
    return found


ASSIGNMENTS = Path(__file__).resolve().parents[2] / "assignments"


def written_questions(assignment: str) -> list[str]:
    """The questions of kind "written" in ``assignments/<assignment>/assignment.toml`` (none
    when the assignment's folder is not there, e.g. in an installed grader)."""
    path = ASSIGNMENTS / assignment / "assignment.toml"
    try:
        questions = tomllib.loads(path.read_text()).get("questions", {})
    except (OSError, tomllib.TOMLDecodeError):
        return []
    return [q for q, spec in questions.items()
            if isinstance(spec, Mapping) and spec.get("kind") == "written"]


def written_answers(submission: Submission, assignment: str) -> tuple[list[WrittenAnswer], list[str]]:
    """The written answers of a loaded submission for its result, every written question of
    the assignment included, and a message for each one nothing was written for."""
    expected = written_questions(assignment)
    # Question names come from the assignment, never from the submission's metadata.
    foreign = sorted(q for q in submission.written if expected and q not in expected)
    answers = [WrittenAnswer(q, "", answered=False) if q in submission.unanswered
               else WrittenAnswer(q, text) for q, text in sorted(submission.written.items())
               if q not in foreign]
    missing = sorted(q for q in expected if q not in submission.written)
    answers += [WrittenAnswer(q, "", answered=False) for q in missing]
    notes = []
    if foreign:
        names = ", ".join(repr(q[:20] + ("..." if len(q) > 20 else "")) for q in foreign[:3])
        notes.append(f"cell metadata names written question(s) {names} that {assignment} does "
                     "not have: ignored")
    if missing and submission.path.suffix == ".py":
        notes.append(f"a .py file holds no written answers: {', '.join(missing)} cannot be "
                     "graded from it; submit the notebook (.ipynb) to answer them")
    elif missing:
        notes.append(f"no answer cell found for the written question(s) {', '.join(missing)}")
    empty = sorted(q for q in submission.unanswered if q not in foreign)
    if empty:
        notes.append(f"nothing was written for {', '.join(empty)}: the answer cell still reads "
                     f"{PROMPT} and no cell under it holds text")
    return sorted(answers, key=lambda a: a.question), notes
