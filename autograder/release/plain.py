"""The plain release format: a folder a student can open in Jupyter and nothing else.

``DIR/<name>/`` holds ``<name>.ipynb`` (the student version of the source notebook),
``public_tests.py``, ``requirements.txt`` (what the notebook imports), ``mlhw_check/`` (the student-side runner with a copy of the checks
library) and the data files listed in ``assignment.toml``. Before returning, the bundle is
searched for every line of solution text and every hidden test name; a leak is an error.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .common import (
    ReleaseError,
    copy_mlhw_check,
    find_leaks,
    hidden_test_names,
    write_requirements,
)
from .source import REPO, Source, load_source, solution_lines, student_notebook, write_notebook


def release_plain(name: str | Source, to: str | Path) -> Path:
    """Write the plain bundle of assignment ``name`` into ``to/<name>/`` and return it.

    An existing bundle there is replaced; any other existing folder is refused.
    """
    source = name if isinstance(name, Source) else load_source(name)
    out = Path(to) / source.name
    if out.exists():
        if not (out / "mlhw_check").is_dir() and any(out.iterdir()):
            raise ReleaseError(f"{out} exists and is not a released bundle; choose another --to")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    write_notebook(student_notebook(source), out / f"{source.name}.ipynb")
    if source.public_tests.is_file():
        shutil.copy2(source.public_tests, out / "public_tests.py")
    copy_mlhw_check(out)
    write_requirements(source, out)
    for rel in source.data_files:
        src = REPO / rel
        if not src.is_file():
            raise ReleaseError(f"data file {rel} (listed in assignment.toml) does not exist")
        shutil.copy2(src, out / src.name)
    leaks = find_leaks(out, solution_lines(source), hidden_test_names(source.name))
    if leaks:
        shutil.rmtree(out)
        raise ReleaseError(
            "the bundle would reveal solutions; nothing written:\n  " + "\n  ".join(leaks)
        )
    return out


def release(name: str | Source, to: str | Path) -> Path:
    """`mlhw release NAME --to DIR` (the plain format): see ``release_plain``."""
    return release_plain(name, to)
