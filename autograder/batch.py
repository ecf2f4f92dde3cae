"""Grade a whole class: find the submissions in a folder, grade them in parallel grader
processes, and record each one in the gradebook as soon as it is done.

A folder of submissions may hold, side by side:
- files ``<student>.ipynb`` / ``.py`` / ``.zip`` (an otter export), the student named by the stem;
- folders ``<student>/`` holding one notebook, or nbgrader's ``<student>/<assignment>/`` (so
  nbgrader's ``submitted/`` folder itself can be given).

Each grader process grades one submission at a time (its sandboxed worker for the next one is
started while the current one is graded); only this process writes the gradebook, one
transaction per student, so a killed run loses nothing and the next run skips every student
whose submission is unchanged.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.gradebook import Gradebook
from autograder.grading_processes import DIED_TWICE, GradingProcesses, prepare
from autograder.results import SubmissionResult
from autograder.sandbox import SandboxConfig

SUBMISSION_SUFFIXES = (".ipynb", ".py", ".zip")


@dataclass(frozen=True)
class ClassSubmission:
    """One student's hand-in: a file or a folder."""

    student: str
    path: Path
    refused: str = ""  # why it is not read at all (a link out of the class folder)


@dataclass
class Graded:
    """What happened to one student in a batch (``result`` None when skipped or failed)."""

    student: str
    result: SubmissionResult | None = None
    skipped: bool = False  # already in the gradebook, unchanged
    error: str = ""  # the grader failed on this one (not recorded; a rerun retries it)
    log: list[str] = field(default_factory=list)


def find_submissions(folder: str | Path, assignment: str) -> list[ClassSubmission]:
    """The submissions in ``folder``, one per student, sorted by student.

    Raises
    ------
    FileNotFoundError
        ``folder`` is not a folder.
    ValueError
        Two entries name the same student (``ann.ipynb`` and ``ann/``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of submissions")
    found: dict[str, Path] = {}
    refused: dict[str, str] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or (entry.is_dir() and _links_inside(entry)):
            student = entry.stem if entry.is_file() or not entry.is_dir() else entry.name
            if student in found:
                raise ValueError(f"two submissions for student {student!r}: {found[student]} and {entry}")
            found[student] = entry
            refused[student] = (f"{entry.name} is or holds a symbolic link; links are not "
                                "followed in a class folder (submit the file itself)")
            continue
        if entry.is_dir():
            path, student = _folder_submission(entry, assignment), entry.name
        elif entry.suffix.lower() in SUBMISSION_SUFFIXES:
            path, student = entry, entry.stem
        else:
            continue
        if student in found:
            raise ValueError(f"two submissions for student {student!r}: {found[student]} and {path}")
        found[student] = path
    return [ClassSubmission(s, p, refused.get(s, "")) for s, p in sorted(found.items())]


def _links_inside(folder: Path) -> bool:
    """Whether a student's folder holds a symbolic link anywhere (never followed)."""
    for root, dirs, files in os.walk(folder):  # os.walk does not descend into linked folders
        if any(os.path.islink(os.path.join(root, name)) for name in dirs + files):
            return True
    return False


def _folder_submission(folder: Path, assignment: str) -> Path:
    """``folder`` itself, or the one assignment folder inside it (nbgrader's layout)."""
    if (folder / assignment).is_dir():
        return folder / assignment
    subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    has_own = any(p.suffix in (".ipynb", ".py") for p in folder.iterdir())
    return subfolders[0] if len(subfolders) == 1 and not has_own else folder


def digest(path: str | Path) -> str:
    """sha256 of a submitted file, or of every file (names and bytes) in a submitted folder."""
    path = Path(path)
    hasher = hashlib.sha256()
    if path.is_symlink():  # the link itself, never what it points to
        hasher.update(f"link {path.name} -> {os.readlink(path)}".encode())
        return hasher.hexdigest()
    files = sorted(p for p in path.rglob("*") if p.is_symlink() or p.is_file()) if path.is_dir() else [path]
    for file in files:
        hasher.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        if file.is_symlink():
            hasher.update(f"-> {os.readlink(file)}".encode())
            continue
        with open(file, "rb") as handle:
            while chunk := handle.read(1 << 20):
                hasher.update(chunk)
    return hasher.hexdigest()


def grade_class(
    submissions: list[ClassSubmission],
    assignment: str,
    gradebook: Gradebook,
    *,
    workers: int = 1,
    sandbox: SandboxConfig | None = None,
    seed: int | None = None,
    regrade: bool = False,
    scheduler: str | None = None,
    pin: bool = True,
) -> Iterator[Graded]:
    """Grade ``submissions`` and record each in ``gradebook``; yields each student when done.

    With ``scheduler`` (a Dask scheduler's address) the grading runs on that Dask cluster
    (`dask_backend.DaskGrading`), otherwise in ``workers`` local grading processes (with
    ``pin``, each held to one CPU when they fill every CPU: `GradingProcesses`).

    Students whose unchanged submission is already in the gradebook are yielded as skipped
    (unless ``regrade``), and so are those whose grading process died twice on this very
    submission in an earlier run. ``GraderError`` (unknown assignment, broken suite) stops
    the batch. A grading process that dies (the OOM killer, a signal) costs only the student
    it was grading: that student is retried once in a fresh process, and a second death is
    recorded as a grader failure with its reason; the batch goes on.
    """
    from autograder.suites import suite_dir

    suite_dir(assignment)  # fail early on an unknown assignment
    sandbox = sandbox or SandboxConfig()
    todo: list[tuple[ClassSubmission, str]] = []
    for sub in submissions:
        sha = digest(sub.path)
        if not regrade and gradebook.is_current(assignment, sub.student, sha):
            yield Graded(sub.student, skipped=True)
        elif not regrade and (failure := gradebook.failure(assignment, sub.student, sha)):
            yield Graded(sub.student, error=f"{failure} (not retried: use --regrade)")
        else:
            todo.append((sub, sha))
    if not todo:
        return
    if scheduler:
        from autograder.dask_backend import DaskGrading

        backend: Any = DaskGrading(scheduler)
    else:
        backend = GradingProcesses(min(max(workers, 1), len(todo)),
                                   warm_up=(prepare, (sandbox, assignment)), pin=pin)
    with backend as processes:
        for sub, sha, outcome in processes.map(
                [((str(sub.path), assignment, sandbox, seed, sub.refused), (sub, sha))
                 for sub, sha in todo]):
            if outcome is DIED_TWICE:
                reason = processes.deaths[sub.student]
                gradebook.record_failure(assignment, sub.student, sha, reason)
                yield Graded(sub.student, error=reason)
            else:
                yield _record(gradebook, sub, sha, outcome)


def _record(gradebook: Gradebook, sub: ClassSubmission, sha: str,
            outcome: tuple[dict | None, list[str], str]) -> Graded:
    data, log, error = outcome
    if data is None:
        return Graded(sub.student, error=error, log=log)
    result = SubmissionResult.from_dict(data)
    gradebook.record(sub.student, sha, result)
    return Graded(sub.student, result=result, log=log)
