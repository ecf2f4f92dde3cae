"""A `Worker`: one submission's sandboxed session, with its time budget, restarts and the
replay of its cells after a restart.

Student code runs only in the worker process (see sandbox.py for the isolation); this side
sends requests through `transport`, runs grader-side callbacks, enforces wall-clock limits
with SIGKILL of the whole sandbox, and turns everything the student's code did into a
`StudentError` with a message that is safe to show.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

from autograder.errors import (
    BadReturn,
    MissingName,
    NotAttempted,
    StudentCrashed,
    StudentError,
    StudentException,
    StudentTimeout,
)
from autograder.sandbox import SandboxConfig, format_bytes
from autograder.sandboxed.protocol import (
    KeptArrays,
    ProtocolError,
    UnsupportedValue,
    decode,
    encode,
)

from . import pool
from .callbacks import ArrayBounds, array_bounds, callback_arguments
from .forkserver import ForkedWorker
from .records import CALLABLE, CallOutcome, CellReport, LoadReport
from .transport import Capture, Died, TimedOut, WorkerProcess, start_process


class Worker:
    """A sandboxed process running one submission.

    Parameters
    ----------
    config : SandboxConfig, optional
        Limits and isolation; defaults to ``SandboxConfig()``.

    Notes
    -----
    Not thread-safe: use one Worker per thread, and a thread that lives as long as the
    Worker (bubblewrap's ``--die-with-parent`` kills a sandbox when the thread that started
    it ends). The process starts on the first `load`, `call` or `get`. After a crash or
    timeout the next request restarts it, re-running the loaded cells except those that
    killed it.
    ``isolation`` is ``"bubblewrap"`` or starts with ``"reduced:"`` and says why.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._bubblewrap, self.isolation = pool.isolation_for(self.config)
        self._proc: WorkerProcess | None = None
        self._depth = 0  # requests in progress (a callback may call the student again)
        self._bounds: list[ArrayBounds] = [ArrayBounds(0, 0)]  # per call in progress
        self._cells: list[str] = []
        self._names: list[str] = []
        self._skip: set[int] = set()
        self._failed: list[CellReport] = []  # cells that raised, crashed or hung while loading
        self._n_loaded = 0  # cells already run (and replayed after a restart)
        self._budget = float(self.config.submission_timeout)
        self._closed = False
        self._owner = os.getpid()  # a forked grader must not kill its parent's workers
        self._kept, self._kept_by = KeptArrays(), None  # what the process in _kept_by keeps
        self.start_time: float | None = None  # seconds the last (re)start took
        self.restarts = 0
        pool.live_workers.add(self)

    # ------------------------------------------------------------------ public API

    def load(self, cells: list[str], names: list[str] | None = None) -> LoadReport:
        """Run cells in order in the student's namespace (``__name__ == "__main__"``).

        A cell that raises (even SystemExit or KeyboardInterrupt) is recorded and the next
        cell still runs; a cell that kills the worker or runs past ``load_timeout`` is
        recorded and skipped from then on. Calling `load` again appends more cells.

        Parameters
        ----------
        cells : list of str
            Python source of each cell.
        names : list of str, optional
            How the student knows each cell, e.g. ``"cell 7"`` (its place in the notebook);
            used as the code's filename (``<cell 7>``) and in messages. Default: ``"cell N"``
            numbering all loaded cells from 1.
        """
        if names is not None and len(names) != len(cells):
            raise ValueError(f"load() got {len(cells)} cells but {len(names)} names")
        t0 = time.monotonic()
        out = Capture(self.config.output_cap)
        err = Capture(self.config.output_cap)
        reports = []
        for i, source in enumerate(cells):
            index = len(self._cells)
            self._cells.append(str(source))
            self._names.append(str(names[i]) if names is not None else f"cell {index + 1}")
            reports.append(self._load_cell(index, out, err))
        return LoadReport(tuple(reports), out.text(), err.text(), time.monotonic() - t0)

    def call(self, name: str, args: tuple = (), kwargs: dict | None = None, *,
             callbacks: bool = True, timeout: float | None = None,
             return_args: bool = True, shown_as: str | None = None) -> CallOutcome:
        """Call the student's function ``name`` with plain-data arguments.

        Parameters
        ----------
        name : str
            A function defined by the student's cells.
        args, kwargs
            Plain data (see protocol.py). With ``callbacks=True`` the grader's own callables
            among them become stand-ins that call back into this process with data only.
        timeout : float, optional
            Wall-clock limit for this call (default ``config.call_timeout``).
        return_args : bool
            Also send back the arguments as the function left them (to detect mutation).
        shown_as : str, optional
            The name messages give the call (default ``name``; a grading helper's call names
            the student's function it calls).

        Raises
        ------
        StudentError
            NotAttempted, MissingName, StudentException, StudentTimeout, StudentCrashed or
            BadReturn, with a message safe to show to the student.
        """
        kwargs = dict(kwargs or {})
        args = tuple(args)
        registry: list[Callable] = []
        proc = self._ensure_process()
        if self._kept_by is not proc:  # a new process keeps nothing yet
            self._kept, self._kept_by = KeptArrays(), proc
        try:
            header = encode((args, kwargs), callbacks=registry if callbacks else None,
                            blobs=(blobs := []), kept=self._kept)
        except UnsupportedValue as e:
            raise TypeError(f"cannot pass this argument to `{name}`: {e}") from None
        out = Capture(self.config.output_cap)
        err = Capture(self.config.output_cap)
        msg = {"op": "call", "name": name, "args": header, "want_args": return_args}
        t0 = time.monotonic()
        # (only a call handed grader functions can be called back: a callback's id must be
        # in this call's registry)
        self._bounds.append(array_bounds((args, kwargs)) if registry else ArrayBounds(0, 0))
        try:
            reply, rblobs = self._request(msg, blobs, timeout or self.config.call_timeout,
                                          f"`{shown_as or name}`", out, err, registry)
        finally:
            self._bounds.pop()
        duration = time.monotonic() - t0
        value = self._decode(reply, rblobs, "value", shown_as or name, registry, out, err)
        after, note = (args, kwargs), ""
        if not reply.get("args_same"):
            if reply.get("args") is None:
                after, note = (None, None), str(reply.get("args_error") or "not sent back")
            else:
                after = self._decode(reply, rblobs, "args", name, registry, out, err)
                if not (type(after) is tuple and len(after) == 2 and type(after[0]) is tuple
                        and type(after[1]) is dict):
                    raise self._kill_for(BadReturn(
                        f"the worker sent back malformed arguments after `{name}`"))
        return CallOutcome(name, value, out.text(), err.text(), after[0], after[1],
                           bool(reply.get("args_same")), duration, note)

    def get(self, name: str) -> Any:
        """The value of a module-level name, or `CALLABLE` if it is a function."""
        out = Capture(self.config.output_cap)
        err = Capture(self.config.output_cap)
        reply, rblobs = self._request({"op": "get", "name": name}, [],
                                      self.config.call_timeout, f"`{name}`", out, err, [])
        if reply["op"] == "callable":
            return CALLABLE
        return self._decode(reply, rblobs, "value", name, [], out, err)

    def reset(self) -> None:
        """Kill the worker process; the next request starts a fresh one and re-runs the
        loaded cells (e.g. to undo global state a function left behind)."""
        self._kill()

    def close(self) -> None:
        """Kill the worker and everything it started."""
        self._closed = True
        if self._proc is not None and os.getpid() == self._owner:
            self._proc.close()
        self._proc = None
        pool.live_workers.discard(self)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def budget_left(self) -> float:
        """Seconds left of the submission's time budget."""
        return max(0.0, self._budget)

    # ------------------------------------------------------------------ internals

    def _load_cell(self, index: int, out: Any, err: Any) -> CellReport:
        try:
            report = self._run_cell(index, out, err)
        finally:
            self._n_loaded = index + 1
        if report.status != "ok":
            self._failed.append(report)
        return report

    def _failed_cells_hint(self) -> str:
        """Why a name may be missing: the cells that failed while loading, with their line."""
        if not self._failed:
            return ""
        parts = []
        for report in self._failed[:3]:
            text = report.summary
            line = re.search(rf'File "<{re.escape(report.name)}>", line (\d+)', report.traceback)
            if line and f"line {line.group(1)}" not in text:
                text += f" (line {line.group(1)})"
            parts.append(text)
        more = f" and {len(self._failed) - 3} more" if len(self._failed) > 3 else ""
        return (f", perhaps because a cell failed (a cell stops at its error): "
                f"{'; '.join(parts)}{more}. Fix it and run the notebook again")

    def _run_cell(self, index: int, out: Any, err: Any) -> CellReport:
        what = name = self._names[index]
        try:
            reply, _ = self._request({"op": "load", "name": name, "source": self._cells[index]},
                                     [], self.config.load_timeout, what, out, err, [])
        except StudentTimeout as e:
            self._skip.add(index)
            return CellReport(index, "timeout", "", str(e), name=name)
        except (StudentCrashed, BadReturn) as e:
            self._skip.add(index)
            return CellReport(index, "crashed", "", str(e), name=name)
        if reply.get("op") != "done":
            raise self._kill_for(BadReturn(f"the worker answered {what} strangely"))
        error = reply.get("error")
        if error is None:
            return CellReport(index, "ok", name=name)
        if type(error) is not dict:
            raise self._kill_for(BadReturn(f"the worker answered {what} strangely"))
        return CellReport(index, "error", str(error.get("type", "")),
                          str(error.get("message", "")), str(error.get("traceback", "")),
                          name=name)

    def _request(self, msg: dict, blobs: list, timeout: float, what: str, out: Any, err: Any,
                 registry: list) -> tuple[dict, list]:
        if self._closed:
            raise RuntimeError("this Worker was closed")
        proc = self._ensure_process()
        limit = min(timeout, self._budget)
        budget_bound = self._budget <= timeout
        proc.captures.append(out)
        proc.stderr_captures.append(err)
        t0 = time.monotonic()
        outermost = self._depth == 0  # a callback may call the student again (nested)
        self._depth += 1

        def charge() -> None:
            # All the time of the outermost exchange, the grader's callbacks included, is
            # the submission's (a callback cannot stretch a call past its limits).
            if outermost:
                self._budget -= time.monotonic() - t0

        try:
            reply, rblobs = proc.request(msg, blobs, t0 + limit,
                                         lambda m, b: self._serve_callback(m, b, registry))
        except TimedOut:
            self._kill()
            charge()
            if budget_bound:
                self._budget = 0.0
                raise self._with_output(StudentTimeout(
                    f"the submission used up its {self.config.submission_timeout:g} s time "
                    f"budget (while running {what})"), out, err) from None
            raise self._with_output(StudentTimeout(
                f"{what} did not return within {timeout:g} s (the time the grader spent "
                "in functions it lent counts too)"), out, err) from None
        except Died as d:
            self._kill()
            charge()
            if d.kind == "bad_return":
                raise self._with_output(BadReturn(f"{what}: {d.reason}"), out, err) from None
            kind = "memory" if "out of memory" in d.reason else "crashed"
            raise self._with_output(StudentCrashed(
                f"{what} killed the worker process: {d.reason}", kind=kind), out, err) from None
        finally:
            self._depth -= 1
            proc.captures.remove(out)
            proc.stderr_captures.remove(err)
        charge()
        if reply["op"] == "raise":
            raise self._with_output(self._student_error(reply, what), out, err)
        return reply, rblobs

    def _serve_callback(self, msg: dict, blobs: list, registry: list) -> tuple[dict, list]:
        fid = msg.get("id")
        if type(fid) is not int or not 0 <= fid < len(registry):
            raise Died("the worker asked for an unknown grader function", "bad_return")
        try:
            decoded = decode(msg.get("args"), blobs, function_stub=registry.__getitem__)
        except (ProtocolError, IndexError) as e:
            raise Died(f"the worker sent malformed callback arguments ({e})",
                        "bad_return") from None
        if not (type(decoded) is tuple and len(decoded) == 2 and type(decoded[0]) is tuple
                and type(decoded[1]) is dict):
            raise Died("the worker sent malformed callback arguments", "bad_return")
        fn = registry[fid]
        try:
            args, kwargs = callback_arguments(fn, decoded[0], decoded[1], self._bounds[-1])
            result = fn(*args, **kwargs)
            header, out = encode(result, callbacks=registry)
        except Exception as e:
            if self._proc is None:  # a nested call killed the worker: nothing to answer
                raise
            name = type(e).__name__ if not isinstance(e, UnsupportedValue) else "TypeError"
            return {"op": "callback_error", "type": name, "message": str(e)[:2000]}, []
        return {"op": "callback_result", "value": header}, out

    def _decode(self, reply: dict, blobs: list, key: str, name: str, registry: list,
                out: Any, err: Any) -> Any:
        try:
            return decode(reply.get(key), blobs, function_stub=registry.__getitem__)
        except (ProtocolError, IndexError) as e:
            raise self._with_output(self._kill_for(BadReturn(
                f"`{name}` sent back data the grader cannot read ({e})")), out, err) from None

    def _student_error(self, reply: dict, what: str) -> StudentError:
        kind = reply.get("kind")
        message = str(reply.get("message", ""))
        exc_type = str(reply.get("type", ""))
        tb = str(reply.get("traceback", ""))
        if kind == "missing":
            return MissingName(message + self._failed_cells_hint())
        if kind == "not_attempted":
            extra = f": {message}" if message else ""
            return NotAttempted(f"{what} is not attempted yet (it raises "
                                f"NotImplementedError{extra})")
        if kind == "memory":
            return StudentCrashed(f"{what} ran out of memory (limit "
                                  f"{format_bytes(self.config.memory_bytes)})", kind="memory")
        if kind == "exception":
            text = f"{what} raised {exc_type}: {message}"
            if tb:
                text += "\n" + tb
            return StudentException(text, exc_type=exc_type, exc_message=message, traceback=tb)
        if kind == "bad_return":
            return BadReturn(message)
        if kind == "internal":
            raise RuntimeError(f"the worker refused the grader's request: {message}")
        return self._kill_for(BadReturn(f"the worker answered {what} strangely"))

    def _ensure_process(self) -> WorkerProcess:
        while self._proc is None:
            if self._budget <= 0:
                raise StudentTimeout(f"the submission used up its "
                                     f"{self.config.submission_timeout:g} s time budget")
            t0 = time.monotonic()
            key = (self.config, self._bubblewrap)
            forked = pool.uses_fork_server(self.config, self._bubblewrap)
            proc = (pool.fork_servers.take(self.config) if forked
                    else pool.spares.take(key) if self.config.spare_workers else None)
            if proc is None:
                proc = self._new_process()
            try:
                ready = proc.wait_ready(t0 + min(self.config.start_timeout, self._budget))
                if ready.get("op") != "ready":
                    raise Died("the worker did not start properly")
            except (Died, TimedOut) as e:
                stderr = proc.out_tail.text()
                proc.close()
                self._budget -= time.monotonic() - t0
                if isinstance(proc, ForkedWorker):  # a broken fork server: a new sandbox
                    proc.server.close()
                    continue
                if self._bubblewrap and "bwrap:" in stderr and self.config.isolation == "auto":
                    self._bubblewrap, self.isolation = False, pool.mark_bwrap_broken(stderr, self.config)
                    continue
                raise RuntimeError(
                    f"the sandboxed worker did not start ({type(e).__name__}: {e}); its "
                    f"output was: {stderr.strip()[:2000]!r}") from None
            self._proc = proc
            self._budget -= time.monotonic() - t0
            self.start_time = time.monotonic() - t0
            if forked:
                pool.fork_servers.refill(self.config, self.isolation)
            elif self.config.spare_workers:
                pool.spares.refill(key, self._new_process)
            self._replay()
        return self._proc

    def _new_process(self) -> WorkerProcess:
        return start_process(self.config, self._bubblewrap, self.isolation)

    def _replay(self) -> None:
        """Re-run the loaded cells after a restart, skipping any that kill the worker."""
        for index in range(self._n_loaded):
            if index in self._skip or self._proc is None:
                continue
            discard = Capture(0)
            try:
                self._request({"op": "load", "name": self._names[index],
                               "source": self._cells[index]},
                              [], self.config.load_timeout, self._names[index], discard,
                              discard, [])
            except (StudentCrashed, StudentTimeout, BadReturn):
                self._skip.add(index)
                if self._budget <= 0:
                    raise
                return  # _request killed the process; _ensure_process starts another
            except StudentError:
                pass

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.close()
            self._proc = None
            self.restarts += 1

    def _kill_for(self, error: StudentError) -> StudentError:
        self._kill()
        return error

    @staticmethod
    def _with_output(error: StudentError, out: Any, err: Any) -> StudentError:
        error.stdout = out.text()  # type: ignore[attr-defined]
        error.stderr = err.text()  # type: ignore[attr-defined]
        return error
