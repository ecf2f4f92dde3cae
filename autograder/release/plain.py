"""The plain release format: a folder a student can open in Jupyter and nothing else.

``DIR/<name>/`` holds ``<name>.ipynb`` (the student version of the source notebook),
``public_tests.py``, ``mlhw_check/`` (the student-side runner with a copy of the checks
library) and the data files listed in ``assignment.toml``. Before returning, the bundle is
searched for every line of solution text and every hidden test name; a leak is an error.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from .source import REPO, Source, load_source, solution_lines, student_notebook, write_notebook

AUTOGRADER = REPO / "autograder"
SUITES = AUTOGRADER / "suites"


class ReleaseError(RuntimeError):
    """The bundle could not be written, or would reveal a solution or hidden test."""


def copy_mlhw_check(dest: Path) -> Path:
    """Write the ``mlhw_check`` package (runner, checks library, errors) into ``dest``."""
    pkg = dest / "mlhw_check"
    pkg.mkdir(parents=True, exist_ok=True)
    for f in (AUTOGRADER / "mlhw_check").glob("*.py"):
        shutil.copy2(f, pkg / f.name)
    shutil.copy2(AUTOGRADER / "errors.py", pkg / "errors.py")
    checks = AUTOGRADER / "checks"
    for f in checks.rglob("*.py"):  # subpackages too (checks/symbolic/)
        (pkg / "checks" / f.relative_to(checks)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, pkg / "checks" / f.relative_to(checks))
    return pkg


def hidden_test_names(name: str) -> set[str]:
    """Names of the hidden suite's test functions (``def test_...``) for assignment ``name``."""
    found: set[str] = set()
    for path in (SUITES / name).glob("*.py"):
        found |= set(re.findall(r"^\s*def\s+(test_\w+)", path.read_text(), re.MULTILINE))
    return found


def bundle_texts(folder: Path) -> dict[Path, str]:
    """Every text file of a bundle (caches excluded)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            try:
                out[path] = path.read_text()
            except UnicodeDecodeError:
                continue
    return out


def find_leaks(folder: Path, lines: Iterable[str], names: Iterable[str]) -> list[str]:
    """``"<file>: <leak>"`` for each solution line found as a line of a bundle file (notebook
    cells are read as their source lines) and each hidden test name found anywhere; also any
    import of the reference package ``mlhw_ref``."""
    import json

    lines, names = set(lines), set(names)
    leaks = []
    for path, text in bundle_texts(folder).items():
        rel = path.relative_to(folder)
        body = text
        if path.suffix == ".ipynb":
            cells = json.loads(text).get("cells", [])
            body = "\n".join("".join(c.get("source", "")) for c in cells)
        stripped = {ln.strip() for ln in body.splitlines()}
        leaks += [f"{rel}: solution line {ln!r}" for ln in sorted(lines & stripped)]
        leaks += [f"{rel}: hidden test name {n!r}" for n in sorted(names) if n in body]
        if re.search(r"^\s*(import|from)\s+mlhw_ref\b", body, re.MULTILINE):
            leaks.append(f"{rel}: imports mlhw_ref")
    return leaks


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


__all__ = [
    "ReleaseError",
    "bundle_texts",
    "copy_mlhw_check",
    "find_leaks",
    "hidden_test_names",
    "release_plain",
]
