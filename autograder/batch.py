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
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from autograder.gradebook import Gradebook
from autograder.results import SubmissionResult
from autograder.sandbox import SandboxConfig

SUBMISSION_SUFFIXES = (".ipynb", ".py", ".zip")


@dataclass(frozen=True)
class ClassSubmission:
    """One student's hand-in: a file or a folder."""

    student: str
    path: Path


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
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
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
    return [ClassSubmission(s, p) for s, p in sorted(found.items())]


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
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        hasher.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
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
) -> Iterator[Graded]:
    """Grade ``submissions`` and record each in ``gradebook``; yields each student when done.

    Students whose unchanged submission is already in the gradebook are yielded as skipped
    (unless ``regrade``). ``GraderError`` (unknown assignment, broken suite) stops the batch;
    any other failure of the grader on one submission is yielded as an error and the batch
    goes on.
    """
    from autograder.runner import suite_dir

    suite_dir(assignment)  # fail early on an unknown assignment
    sandbox = sandbox or SandboxConfig()
    todo: list[tuple[ClassSubmission, str]] = []
    for sub in submissions:
        sha = digest(sub.path)
        if not regrade and gradebook.is_current(assignment, sub.student, sha):
            yield Graded(sub.student, skipped=True)
        else:
            todo.append((sub, sha))
    if workers <= 1:
        for sub, sha in todo:
            yield _record(gradebook, sub, sha, _grade_one(str(sub.path), assignment, sandbox, seed))
        return
    context = multiprocessing.get_context("spawn")  # no threads or open pipes inherited
    pool = ProcessPoolExecutor(min(workers, len(todo) or 1), mp_context=context,
                               initializer=_init_child)
    try:
        pending: dict[Future, tuple[ClassSubmission, str]] = {
            pool.submit(_grade_one, str(sub.path), assignment, sandbox, seed): (sub, sha)
            for sub, sha in todo
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: pending[f][0].student):
                sub, sha = pending.pop(future)
                yield _record(gradebook, sub, sha, future.result())
    finally:  # on an error or an interrupt, do not grade the rest
        pool.shutdown(wait=True, cancel_futures=True)


def _record(gradebook: Gradebook, sub: ClassSubmission, sha: str,
            outcome: tuple[dict | None, list[str], str]) -> Graded:
    data, log, error = outcome
    if data is None:
        return Graded(sub.student, error=error, log=log)
    result = SubmissionResult.from_dict(data)
    gradebook.record(sub.student, sha, result)
    return Graded(sub.student, result=result, log=log)


def _init_child() -> None:
    from multiprocessing.util import Finalize

    from autograder.worker import close_spare_workers

    Finalize(None, close_spare_workers, exitpriority=10)  # atexit does not run in pool children


def _grade_one(path: str, assignment: str, sandbox: SandboxConfig,
               seed: int | None) -> tuple[dict | None, list[str], str]:
    """Grade one file; returns (result as a dict, instructor log, grader failure or "")."""
    from autograder.runner import GradeOptions, GraderError, grade_submission

    options = GradeOptions(sandbox=sandbox, seed=seed)
    try:
        return grade_submission(path, assignment, options).to_dict(), options.log, ""
    except GraderError:
        raise
    except Exception as exc:  # noqa: BLE001 - one broken grading must not stop the class
        return None, options.log, f"the grader failed on this submission: {type(exc).__name__}: {exc}"
