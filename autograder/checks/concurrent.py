"""Run a student's call and the reference's at the same time."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

S = TypeVar("S")
R = TypeVar("R")


def alongside(student_call: Callable[[], S], reference_call: Callable[[], R]) -> tuple[S, R]:
    """``(student_call(), reference_call())``, the two running at the same time.

    The student's call runs in the worker process and this thread only waits for its reply,
    so computing the reference meanwhile hides the shorter of the two (a long training run
    costs its time once, not twice). An error of the student's call is raised first.

    The reference runs in a helper thread and the student's call in this one: a worker that
    the call restarts must be started by a thread that outlives it (bubblewrap's
    ``--die-with-parent`` kills a sandbox when the thread that started it ends).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlhw-reference") as pool:
        reference = pool.submit(reference_call)
        try:
            student_value = student_call()
        except BaseException:
            reference.cancel()
            raise
        return student_value, reference.result()
