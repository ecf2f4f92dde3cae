"""`mlhw release NAME --format gradescope`: the Gradescope autograder of an assignment.

``DIR/<name>/autograder.zip`` holds, at its root, what Gradescope's autograder specification
asks for: ``setup.sh`` (run once when the image is built: bubblewrap from apt, a virtual
environment with mlhw) and ``run_autograder`` (run per submission: ``gradescope_run`` grades
the notebook under ``/autograder/submission/`` with the hidden suite and writes
``/autograder/results/results.json``), plus ``mlhw/``: the project's installable source with
this assignment's hidden suite, its ``assignment.toml``, source notebook and public tests,
and the reference package the suite grades against. Neither the example class, the worked
solutions nor any other assignment's suite goes into the zip.

The same zip can be tried outside Gradescope: unzip it into ``ROOT/source`` and run both
scripts with ``MLHW_GRADESCOPE_ROOT=ROOT`` (``docs/RUNNING_A_COURSE.md``).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path

from .common import ReleaseError
from .source import REPO, Source, load_source

TEMPLATES = Path(__file__).parent / "templates" / "gradescope"
SCRIPTS = ("setup.sh", "run_autograder")
PROJECT_FILES = ("pyproject.toml", "README.md")
SKIPPED = {"__pycache__", ".pytest_cache", ".hypothesis"}


def script(name: str, assignment: str) -> str:
    """The text of template ``name`` for ``assignment``."""
    return (TEMPLATES / name).read_text().replace("@ASSIGNMENT@", assignment)


def project_files(assignment: str) -> list[tuple[Path, str]]:
    """(file, name in the zip under ``mlhw/``) of everything the grader needs."""
    out = [(REPO / f, f) for f in PROJECT_FILES]

    def tree(folder: Path, keep=lambda rel: True) -> None:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(REPO)
            if path.is_file() and not SKIPPED & set(rel.parts) and path.suffix != ".pyc" \
                    and keep(rel):
                out.append((path, rel.as_posix()))

    suites = ("autograder", "suites")
    tree(REPO / "autograder",
         lambda rel: rel.parts[:2] != suites or len(rel.parts) == 3 or rel.parts[2] == assignment)
    tree(REPO / "mlhw_ref")
    # source.ipynb: the written questions' text and model answers (manual grading reads
    # them); no more than the reference package beside it already gives away
    for name in ("assignment.toml", "public_tests.py", "source.ipynb"):
        path = REPO / "assignments" / assignment / name
        if path.is_file():
            out.append((path, f"assignments/{assignment}/{name}"))
    return out


def release_gradescope(source: Source, to: str | Path) -> Path:
    """Write ``to/<name>/autograder.zip`` and return it."""
    name = source.name
    if not (REPO / "autograder" / "suites" / name).is_dir():
        raise ReleaseError(f"{name} has no hidden suite (autograder/suites/{name}/)")
    out = Path(to) / name
    out.mkdir(parents=True, exist_ok=True)
    target = out / "autograder.zip"
    tmp = out / ".autograder.zip.part"
    executable = (stat.S_IFREG | 0o755) << 16
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for script_name in SCRIPTS:
            info = zipfile.ZipInfo(script_name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = executable
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, script(script_name, name))
        for path, rel in project_files(name):
            zf.write(path, f"mlhw/{rel}")
    shutil.move(tmp, target)
    return target


def unpack(zip_path: str | Path, root: str | Path) -> Path:
    """Unzip an autograder.zip into ``root/source`` as Gradescope does, with ``run_autograder``
    also copied to ``root/`` and the scripts executable; returns ``root``."""
    root = Path(root)
    source = root / "source"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(source)
    for script_name in SCRIPTS:
        (source / script_name).chmod(0o755)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    return root


def release(name: str | Source, to: str | Path) -> Path:
    """`mlhw release NAME --to DIR --format gradescope`: see ``release_gradescope``."""
    return release_gradescope(name if isinstance(name, Source) else load_source(name), to)
