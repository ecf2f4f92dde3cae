"""Class grading on a Dask distributed cluster (`mlhw grade-class --scheduler tcp://HOST:8786`).

Each submission is shipped to a Dask worker as bytes, graded there exactly as locally (in its
own bubblewrap sandbox, by `grading_processes.grade_one`), and only the result travels back;
the client alone writes the gradebook, one transaction per student, as results arrive. On
each Dask worker the grading runs in a grading process of its own (`GradingProcesses`, kept
between tasks), so a grading that dies (the OOM killer, a signal) never takes the Dask
worker with it: it is retried once in a fresh process and a second death is recorded as a
grader failure, the rule of the local back-end. A Dask worker that dies itself (its machine
lost) has its task rescheduled elsewhere by Dask; a result is recorded only when it arrives,
so no student is lost or counted twice.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MAX_SHIPPED_BYTES = 64 * 2**20  # a submission larger than this is refused by the loader anyway


def pack(path: Path) -> tuple[str, dict[str, bytes]]:
    """A submission as ``(name, {relative path: bytes})`` to ship; a file is ``{"": bytes}``."""
    if path.is_file() and not path.is_symlink():
        return path.name, {"": path.read_bytes()[:MAX_SHIPPED_BYTES + 1]}
    files: dict[str, bytes] = {}
    if path.is_dir() and not path.is_symlink():
        for root, _, names in os.walk(path):
            for name in names:
                file = Path(root) / name
                if file.is_file() and not file.is_symlink():
                    files[file.relative_to(path).as_posix()] = file.read_bytes()[:MAX_SHIPPED_BYTES + 1]
    return path.name, files


def grade_shipped(name: str, files: dict[str, bytes], assignment: str, sandbox: Any,
                  seed: int | None, refused: str, work: Callable[..., Any] | None = None
                  ) -> dict[str, Any]:
    """Unpack a shipped submission in a temporary folder on the Dask worker and grade it in
    this worker's grading process: ``{"outcome": ...}``, or ``{"died": reason}`` when the
    grading process died twice on it."""
    from types import SimpleNamespace

    from autograder.grading_processes import DIED_TWICE

    with tempfile.TemporaryDirectory(prefix="mlhw-dask-") as tmp:
        root = Path(tmp) / "submission"
        root.mkdir()
        target = root / Path(name).name
        if "" in files:  # a single file
            target.write_bytes(files[""])
        else:
            target.mkdir()
            for relative, data in files.items():
                dest = (target / relative).resolve()
                if not dest.is_relative_to(target.resolve()):
                    continue  # never write outside the folder
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
        processes = _processes(work)
        task = ((str(target), assignment, sandbox, seed, refused),
                (SimpleNamespace(student=target.stem), ""))
        for sub, _, outcome in processes.map([task]):
            if outcome is DIED_TWICE:
                return {"died": processes.deaths[sub.student]}
            return {"outcome": outcome}
    raise RuntimeError("the grading process gave no outcome")


_local: dict[Any, Any] = {}  # this Dask worker's grading process, per work function


def _processes(work: Callable[..., Any] | None) -> Any:
    import multiprocessing

    from autograder.grading_processes import GradingProcesses

    # Dask starts its workers as daemonic processes, which multiprocessing forbids to have
    # children; the grading process is ours to manage (killed with this worker), so the
    # flag is lifted for this process.
    multiprocessing.current_process()._config["daemon"] = False  # type: ignore[attr-defined]
    if work not in _local:
        _local[work] = GradingProcesses(1, work)
    return _local[work]


class DaskGrading:
    """Grades tasks on a Dask cluster; the same interface as `GradingProcesses`."""

    def __init__(self, scheduler: str, work: Callable[..., Any] | None = None) -> None:
        from distributed import Client

        self.client = Client(scheduler)
        self.work = work
        self.deaths: dict[str, str] = {}

    def __enter__(self) -> DaskGrading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def map(self, tasks: list[tuple[tuple, tuple[Any, str]]]) -> Iterator[tuple[Any, str, Any]]:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        from autograder.grading_processes import DIED_TWICE

        futures = {}
        for (path, assignment, sandbox, seed, refused), key in tasks:
            name, files = pack(Path(path)) if not refused else (Path(path).name, {})
            future = self.client.submit(grade_shipped, name, files, assignment, sandbox, seed,
                                        refused, self.work, pure=False,
                                        # one task group, so the scheduler queues them
                                        key=f"mlhw_grade-{os.urandom(8).hex()}")
            futures[future] = key
        try:
            for future in as_completed(futures):
                key = futures.pop(future)
                try:
                    reply = future.result()
                except KilledWorker as exc:
                    reply = {"died": "the grader failed on this submission: the Dask workers "
                                     f"grading it died ({type(exc).__name__})"}
                if "died" in reply:
                    self.deaths[key[0].student] = reply["died"]
                    yield (*key, DIED_TWICE)
                else:
                    yield (*key, reply["outcome"])
        finally:
            for future in futures:
                future.cancel()
