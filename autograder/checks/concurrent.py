"""Run a student's call and the reference's at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

S = TypeVar("S")
R = TypeVar("R")

#: A student's call that ends within this many seconds is not overlapped with the reference
#: (a missing or unattempted function fails at once and the reference is never computed).
HEAD_START = 0.05
_NOT_RUN = object()


def alongside(student_call: Callable[[], S], reference_call: Callable[[], R]) -> tuple[S, R]:
    """``(student_call(), reference_call())``, the two running at the same time.

    The student's call runs in the worker process and this thread only waits for its reply,
    so computing the reference meanwhile hides the shorter of the two (a long training run
    costs its time once, not twice). The reference starts only once the student's call has
    run for `HEAD_START` seconds. An error of the student's call is raised first.

    The reference runs in a helper thread and the student's call in this one: a worker that
    the call restarts must be started by a thread that outlives it (bubblewrap's
    ``--die-with-parent`` kills a sandbox when the thread that started it ends).
    """
    finished = threading.Event()

    def reference_after_head_start() -> object:
        return _NOT_RUN if finished.wait(HEAD_START) else reference_call()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlhw-reference") as pool:
        reference = pool.submit(reference_after_head_start)
        try:
            student_value = student_call()
        finally:
            finished.set()
        value = reference.result()
    return student_value, reference_call() if value is _NOT_RUN else value  # type: ignore[return-value]
