"""A submitted file, read into plain Python cells the worker can run: `loading` (the entry
point), `notebooks`, `archives` (otter zips, nbgrader folders), `tool_cells` (the cells the
tools add) and `cells` (what a submission is once read). Nothing here executes student code.
"""

from autograder.errors import SubmissionError

from .archives import MAX_ENTRIES, MAX_ZIP_BYTES, resolve_submission
from .cells import MAX_BYTES, SHELL_PRELUDE, SKIPPED_TAGS, Cell, Submission, to_python
from .loading import load_submission
from .tool_cells import is_tool_cell

__all__ = [
    "MAX_BYTES",
    "MAX_ENTRIES",
    "MAX_ZIP_BYTES",
    "SHELL_PRELUDE",
    "SKIPPED_TAGS",
    "Cell",
    "Submission",
    "SubmissionError",
    "is_tool_cell",
    "load_submission",
    "resolve_submission",
    "to_python",
]
