"""Grading processes: each grades one submission at a time, and a death costs only the
submission it was grading (retried once in a fresh process, then reported).

Used by `batch.grade_class` locally and by `dask_backend` on each Dask worker.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

from autograder import keep_freed_memory, one_thread_per_grader
from autograder.errors import GraderError
from autograder.sandbox import SandboxConfig

DIED_TWICE = object()
"""The outcome of a task whose grading process died twice."""


# What every grading process imports (its sandbox, pytest, NumPy, SymPy for the derivation
# checks, IPython's cell transformer), imported once by multiprocessing's fork server, which
# forks the grading processes: ~0.3 s of CPU per grading process saved at the start of a
# class. That server is a fresh process (nothing of the command's is inherited: no open
# gradebook, no console thread) and runs no student code.
PRELOAD = ["autograder.worker", "autograder.grading_processes", "autograder.runner",
           "autograder.checks.derivation", "autograder.checks.symbolic.equivalence",
           "IPython.core.inputtransformer2"]


class GradingProcesses:
    """Grader processes that each grade one task at a time.

    Unlike a process pool, it knows which task a process was on when the process died, so
    a death costs that task alone: it is run once more in a fresh process, and if that one
    dies too the task's outcome is ``DIED_TWICE`` (its reason in ``deaths``, keyed by the
    task's submission's student). ``warm_up`` (a module-level function and its arguments)
    runs in each process as it starts, e.g. to start its sandbox before the first task;
    entering the context starts ``count`` processes at once.

    With ``pin`` and at least as many processes as this process has CPUs, each process and
    its sandbox are held to one of those CPUs, the one with the fewest of them: classes of 200
    on two cores were 5-20% faster for three assignments, as fast for plsa_em and 3-7% slower
    for gd_mnist (benchmarks/RESULTS.md). One round trip is no cheaper on one CPU
    (`benchmarks/round_trip.py`), so the gain is the scheduler's: no process of a pair moves
    between CPUs. With CPUs to spare, a pair's two processes overlap for part of each round
    trip (120 µs of wall free, 180-220 on one CPU), so they are left free.
    """

    def __init__(self, count: int, work: Callable[..., Any] | None = None,
                 warm_up: tuple[Callable[..., Any], tuple] | None = None, *,
                 pin: bool = False) -> None:
        self.count = count
        self.work = work or grade_one  # module-level functions (the processes import them)
        self.warm_up = warm_up
        self.deaths: dict[str, str] = {}
        cpus = sorted(os.sched_getaffinity(0))
        self._cpus = cpus if pin and count >= len(cpus) else []
        self._cpu_of: dict[Any, int] = {}  # a live process -> the CPU it is held to
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._idle: list[tuple[Any, Any]] = []

    def __enter__(self) -> GradingProcesses:
        while len(self._idle) < self.count:
            self._idle.append(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        for _, conn in self._idle:  # every process ends at once, then each is waited for
            conn.close()
        for process, _ in self._idle:
            process.join(5)
            if process.is_alive():
                process.kill()
        self._idle.clear()
        self._cpu_of.clear()

    def _start(self) -> tuple[Any, Any]:
        one_thread_per_grader()  # inherited by the fork server, and so by every process
        cpu = self._least_used_cpu()
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child, self.work, self.warm_up, cpu),
                                        daemon=True)
        process.start()
        child.close()
        if cpu is not None:
            self._cpu_of[process] = cpu
        return process, parent

    def _least_used_cpu(self) -> int | None:
        if not self._cpus:
            return None
        used = collections.Counter(self._cpu_of.values())
        return min(self._cpus, key=lambda cpu: (used[cpu], cpu))

    def map(self, tasks: list[tuple[tuple, tuple[Any, str]]]
            ) -> Iterator[tuple[Any, str, Any]]:
        """Run every task; yields ``(submission, digest, outcome)`` as each finishes."""
        from multiprocessing.connection import wait as wait_any

        queue = [(args, key, 0) for args, key in tasks]
        running: dict[Any, tuple[Any, Any, tuple, tuple, int]] = {}  # conn -> task
        try:
            while queue or running:
                self._fill(queue, running)
                ready = wait_any([c for c in running] + [t[0].sentinel for t in running.values()])
                for conn in list(running):
                    process, _, args, key, tries = running[conn]
                    if conn in ready or process.sentinel in ready:
                        try:
                            outcome = conn.recv() if conn.poll() else None
                        except (EOFError, OSError):
                            outcome = None
                        del running[conn]
                        if outcome is not None:
                            self._idle.append((process, conn))
                            if outcome[0] == "grader_error":
                                raise GraderError(outcome[1])
                            self._fill(queue, running)  # its next task, before the caller
                            yield (*key, outcome[1])  # records this one (a commit, a page)
                            continue
                        process.join(5)
                        reason = _death_reason(process.exitcode)
                        conn.close()
                        self._cpu_of.pop(process, None)
                        student = key[0].student
                        if tries == 0:
                            queue.insert(0, (args, key, 1))
                        else:
                            self.deaths[student] = (
                                f"the grader failed on this submission: its grading process "
                                f"died twice ({reason})")
                            yield (*key, DIED_TWICE)
        finally:  # on an error or an interrupt, do not grade the rest
            for process, conn, *_ in running.values():
                process.kill()
                conn.close()

    def _fill(self, queue: list, running: dict) -> None:
        """Give queued tasks to idle (or new) processes, up to ``count`` running."""
        while queue and len(running) < self.count:
            args, key, tries = queue.pop(0)
            process, conn = self._idle.pop() if self._idle else self._start()
            conn.send(args)
            running[conn] = (process, conn, args, key, tries)


def _death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _serve(conn: Any, work: Callable[..., Any],
           warm_up: tuple[Callable[..., Any], tuple] | None = None,
           cpu: int | None = None) -> None:
    """A grading process: held to ``cpu`` when given (its sandbox, started later, inherits
    it), run ``warm_up``, then ``work`` on each task received until the pipe closes."""
    from autograder.worker import close_spare_workers

    if cpu is not None:
        with contextlib.suppress(OSError):  # only a speed-up
            os.sched_setaffinity(0, {cpu})
    keep_freed_memory()
    try:
        if warm_up is not None:
            try:
                warm_up[0](*warm_up[1])
            except Exception:  # noqa: BLE001 - only a head start: the task redoes it and reports
                pass
        while True:
            try:
                args = conn.recv()
            except EOFError:
                break
            try:
                conn.send(("ok", work(*args)))
            except GraderError as exc:
                conn.send(("grader_error", str(exc)))
    finally:
        close_spare_workers()
    # Done: run the exit handlers and skip the interpreter's teardown of NumPy, sympy and
    # pytest (0.2 s that the class would wait for at its end).
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def prepare(sandbox: SandboxConfig, assignment: str) -> None:
    """A grading process's head start before its first task: its sandbox starting and the
    suite's pytest session opened (imported and collected) meanwhile."""
    from autograder.worker import prestart_worker

    prestart_worker(sandbox)
    from autograder.runner import keep_suite_open

    keep_suite_open(assignment)


def grade_one(path: str, assignment: str, sandbox: SandboxConfig, seed: int | None,
               refused: str = "", questions: frozenset[str] | None = None
               ) -> tuple[dict | None, list[str], str]:
    """Grade one file (only ``questions``' tests when given); returns (result as a dict,
    instructor log, grader failure or "")."""
    from autograder.worker import prestart_worker

    prestart_worker(sandbox)  # first: the sandbox starts while the grader imports pytest
    from autograder.runner import GradeOptions, grade_submission

    options = GradeOptions(sandbox=sandbox, seed=seed, questions=questions, keep_suite=True)
    try:
        return grade_submission(path, assignment, options, refused=refused).to_dict(), options.log, ""
    except GraderError:
        raise
    except Exception as exc:  # noqa: BLE001 - one broken grading must not stop the class
        return None, options.log, f"the grader failed on this submission: {type(exc).__name__}: {exc}"
