"""Run a computation that may never end (simplifying a hostile expression) with a deadline."""

from __future__ import annotations

import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import Any


def run_with_deadline(fn: Callable[[], Any], timeout: float) -> Any:
    """``("ok", fn())`` from a forked child killed after ``timeout`` s (a thread off Linux);
    None on timeout, ``("error", text)`` if it raised. The value travels back pickled through
    a pipe from a child of this trusted process, so ``fn`` must return something picklable.
    The child is made with ``os.fork`` itself, so this works in a daemonic process too (a
    Dask worker), where ``multiprocessing`` refuses to start children."""
    if not (os.name == "posix" and os.uname().sysname == "Linux"):
        return run_in_thread(fn, timeout)
    recv, send = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(recv)
        os.close(send)
        return run_in_thread(fn, timeout)
    if pid == 0:  # the child: compute, send, and leave without running any cleanup
        os.close(recv)
        try:
            try:
                data = pickle.dumps(("ok", fn()))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                data = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
            with os.fdopen(send, "wb") as out:
                out.write(data)
        finally:
            os._exit(0)
    os.close(send)
    try:
        return _read_result(recv, time.monotonic() + timeout)
    finally:
        os.close(recv)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)


def _read_result(fd: int, deadline: float) -> Any:
    """Everything the child writes to ``fd`` before ``deadline``, unpickled; None if late."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - the child died half-way
        return ("error", "the checking process died")


def run_in_thread(fn: Callable[[], Any], timeout: float) -> Any:
    """As :func:`run_with_deadline` in a daemon thread, which cannot be killed: a computation
    past its deadline is left to finish."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(("ok", fn()))
        except BaseException as exc:  # noqa: BLE001
            box.append(("error", f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=run, daemon=True)  # cannot be killed: left to finish
    thread.start()
    thread.join(timeout)
    return box[0] if box else None
