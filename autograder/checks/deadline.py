"""Run a computation that may never end (simplifying a hostile expression) with a deadline."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any


def run_with_deadline(fn: Callable[[], Any], timeout: float) -> Any:
    """``("ok", fn())`` from a forked child killed after ``timeout`` s (a thread off Linux);
    None on timeout, ``("error", text)`` if it raised. The value travels back pickled through
    a pipe from a child of this trusted process, so ``fn`` must return something picklable."""
    if os.name == "posix" and os.uname().sysname == "Linux":
        ctx = multiprocessing.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)

        def child() -> None:
            try:
                send.send(("ok", fn()))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                send.send(("error", f"{type(exc).__name__}: {exc}"))
            finally:
                os._exit(0)

        proc = ctx.Process(target=child, daemon=True)
        try:
            proc.start()
        except OSError:
            return run_in_thread(fn, timeout)
        send.close()
        try:
            return recv.recv() if recv.poll(timeout) else None
        except EOFError:
            return ("error", "the checking process died")
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            recv.close()
    return run_in_thread(fn, timeout)


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
