"""Regenerate solutions/<name>/solution.ipynb from assignments/<name>/source.ipynb.

The worked solution is the source notebook with every solution and model answer kept, the
markers removed and the instructor-only cells dropped (autograder.release.source does it).

    .venv/bin/python scripts/build_solutions.py [NAME ...]     # default: every source notebook
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograder.release.source import (
    ASSIGNMENTS,
    REPO,
    load_source,
    solution_notebook,
    write_notebook,
)


def build(name: str) -> Path:
    path = REPO / "solutions" / name / "solution.ipynb"
    return write_notebook(solution_notebook(load_source(name)), path)


def main(names: list[str]) -> None:
    for name in names or sorted(p.parent.name for p in ASSIGNMENTS.glob("*/source.ipynb")):
        print(f"wrote {build(name).relative_to(REPO)}")


if __name__ == "__main__":
    main(sys.argv[1:])
