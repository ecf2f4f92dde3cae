"""A submission once read: its code cells as plain Python, the prelude that runs before them
in the worker, and the rewriting of IPython syntax (magics, shell escapes).

Nothing here executes student code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024
SKIPPED_TAGS = frozenset({"experiment", "skip-grading"})
_IPYTHON_SYNTAX = re.compile(r"^\s*(%|!)|=\s*!|^\s*\w+\?\s*$", re.MULTILINE)

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
    written: dict[str, str] = field(default_factory=dict)  # question -> the student's text
    notes: tuple[str, ...] = ()
    unanswered: tuple[str, ...] = ()  # written questions whose answer was left empty
    assignment: str | None = None  # the assignment the notebook's metadata names, if any

    def sources(self) -> list[str]:
        """The code to run in the worker, prelude first."""
        return [SHELL_PRELUDE] + [cell.source for cell in self.cells]

    def cell_names(self) -> list[str]:
        """How the student knows each source of `sources` (its place in the notebook)."""
        return ["grading set-up"] + [f"cell {cell.index + 1}" for cell in self.cells]


def to_python(source: str) -> str:
    """Rewrite IPython-only syntax (magics, ``!cmd``) into plain Python calls."""
    if not _IPYTHON_SYNTAX.search(source):
        return source
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)
