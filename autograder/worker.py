"""The grader's side of the sandboxed worker: start it, load cells, call functions, restart.

One `Worker` per submission. Student code runs only in the worker process (see sandbox.py
for the isolation); this side sends requests over a pipe, drains and caps the student's
stdout/stderr continuously, runs grader-side callbacks, enforces wall-clock limits with
SIGKILL of the whole sandbox, and turns everything the student's code did into a
`StudentError` with a message that is safe to show.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import subprocess
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
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
from autograder.protocol import (
    FrameReader,
    ProtocolError,
    UnsupportedValue,
    decode,
    encode,
    pack_frame,
    unpack_payload,
)
from autograder.sandbox import (
    LaunchPlan,
    SandboxConfig,
    choose_isolation,
    describe_exit,
    format_bytes,
    plan_launch,
    reduced_isolation,
)

__all__ = ["CALLABLE", "CallOutcome", "CellReport", "LoadReport", "Worker",
           "close_spare_workers", "prestart_worker"]

_F_SETPIPE_SZ = 1031
_PIPE_SIZE = 1024 * 1024
_READ_CHUNK = 1024 * 1024
_bwrap_broken: str | None = None  # why bubblewrap failed to start on this host, once seen


class _CallableMarker:
    """Returned by `Worker.get` for a name bound to a function (call it instead)."""

    _instance = None

    def __new__(cls) -> _CallableMarker:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "CALLABLE"


CALLABLE = _CallableMarker()


@dataclass(frozen=True)
class CellReport:
    """What happened to one cell while loading.

    ``status`` is ``"ok"``, ``"error"`` (the cell raised; the next cells still ran),
    ``"crashed"`` (it killed the worker) or ``"timeout"``; the last two are skipped when the
    worker restarts. ``index`` is the 0-based position among all cells loaded so far;
    ``name`` is how the student sees it (tracebacks show ``File "<name>"``).
    """

    index: int
    status: str
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    name: str = ""

    @property
    def cell(self) -> int:
        """Alias of ``index``."""
        return self.index

    @property
    def summary(self) -> str:
        """One line for the student, e.g. ``"cell 7 raised ValueError: bad shape"``."""
        if self.status == "ok":
            return f"{self.name} ran"
        if self.status == "error":
            return f"{self.name} raised {self.error_type}: {self.message}"
        return self.message


@dataclass(frozen=True)
class LoadReport:
    """The outcome of `Worker.load`: one `CellReport` per cell and the captured output."""

    cells: tuple[CellReport, ...]
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return all(c.status == "ok" for c in self.cells)

    @property
    def errors(self) -> tuple[CellReport, ...]:
        return tuple(c for c in self.cells if c.status != "ok")


@dataclass(frozen=True)
class CallOutcome:
    """The result of one call of a student function.

    ``args_after``/``kwargs_after`` are the arguments as the function left them (the very
    objects passed in when the worker saw no change), or ``None`` if they could not be sent
    back (``args_note`` says why).
    """

    name: str
    value: Any
    stdout: str
    stderr: str
    args_after: tuple | None
    kwargs_after: dict | None
    args_unchanged: bool
    duration: float
    args_note: str = ""

    @property
    def printed(self) -> bool:
        return bool(self.stdout or self.stderr)


class Capture:
    """Keeps at most ``cap`` bytes of a stream (the head, or the tail) and counts the rest."""

    def __init__(self, cap: int, keep: str = "head") -> None:
        self.cap, self.keep = cap, keep
        self.data = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        if self.keep == "tail":
            self.data += chunk
            if len(self.data) > self.cap:
                self.dropped += len(self.data) - self.cap
                del self.data[:len(self.data) - self.cap]
            return
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            note = f"[... {self.dropped} bytes dropped]"
            text = f"{note}\n{text}" if self.keep == "tail" else f"{text}\n{note}"
        return text


class _Died(Exception):
    """The worker process died or misbehaved; ``error`` is what to raise for the student."""

    def __init__(self, reason: str, kind: str = "crashed") -> None:
        super().__init__(reason)
        self.reason, self.kind = reason, kind


class _TimedOut(Exception):
    pass


class _Process:
    """One running worker: the child process, its pipes and the framing state."""

    def __init__(self, plan: LaunchPlan, config: SandboxConfig) -> None:
        self.plan, self.config = plan, config
        self.reader = FrameReader(config.max_frame_bytes)
        self.frames: deque = deque()
        self.seq = 0
        self.out_tail = Capture(8 * 1024, keep="tail")
        self.captures: list[Capture] = []
        self.stderr_captures: list[Capture] = []

    def start(self) -> None:
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        for fd in (req_r, resp_w):
            _grow_pipe(fd)
        plan = plan_launch(self.config, req_r, resp_w, bubblewrap=self.plan.bubblewrap,
                           isolation=self.plan.isolation)
        self.plan = plan
        try:
            self.proc = subprocess.Popen(
                plan.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=plan.pass_fds, env=plan.env, cwd=plan.cwd,
                start_new_session=True, preexec_fn=plan.preexec(), close_fds=True,
            )
        finally:
            for fd in (req_r, resp_w, *plan.own_fds):
                os.close(fd)
        self.out_fd = self.proc.stdout.fileno()
        self.err_fd = self.proc.stderr.fileno()
        _grow_pipe(self.out_fd)
        for fd in (self.req_w, self.resp_r, self.out_fd, self.err_fd):
            os.set_blocking(fd, False)
        self.poll = select.poll()
        for fd in (self.resp_r, self.out_fd, self.err_fd):
            self.poll.register(fd, select.POLLIN)
        self.open_outputs = {self.out_fd, self.err_fd}
        self.writing = False

    # ------------------------------------------------------------------ exchange

    def request(self, msg: dict, blobs: list, deadline: float,
                on_callback: Callable[[dict, list], tuple[dict, list]] | None) -> tuple[dict, list]:
        """Send one request and wait for its reply, serving callbacks meanwhile.

        Raises `_TimedOut` at ``deadline`` (monotonic; extended by time spent in callbacks)
        and `_Died` if the worker dies or sends anything malformed.
        """
        self.seq += 1
        seq = self.seq
        try:
            pending = deque(memoryview(b).cast("B") for b in pack_frame({**msg, "seq": seq},
                                                                          blobs))
        except UnsupportedValue as e:  # the grader's own request is too big
            raise ValueError(f"cannot send this request to the worker: {e}") from None
        return self._pump(seq, pending, deadline, on_callback)

    def wait_ready(self, deadline: float) -> dict:
        return self._pump(0, deque(), deadline, None)[0]

    def _pump(self, seq: int, pending: deque, deadline: float,
              on_callback: Callable | None) -> tuple[dict, list]:
        try:
            while True:
                while self.frames:
                    msg, blobs = self._parse(self.frames.popleft(), seq)
                    if msg["op"] != "callback":
                        self._drain_outputs()
                        return msg, blobs
                    if on_callback is None:
                        raise _Died("the worker asked for a callback outside a call")
                    t0 = time.monotonic()
                    reply, out = on_callback(msg, blobs)  # may pump nested requests itself
                    deadline += time.monotonic() - t0
                    pending.extend(memoryview(b).cast("B")
                                   for b in pack_frame({**reply, "seq": seq}, out))
                self._want_write(bool(pending))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _TimedOut()
                for fd, _ in self.poll.poll(remaining * 1000):
                    if fd == self.req_w:
                        self._write_some(pending)
                    elif fd == self.resp_r:
                        self._read_frames()
                    else:
                        self._read_output(fd)
        finally:
            self._want_write(False)

    def _want_write(self, on: bool) -> None:
        # Shared by nested exchanges (a callback calling the student again), hence on self.
        if on and not self.writing:
            self.poll.register(self.req_w, select.POLLOUT)
        elif not on and self.writing:
            self.poll.unregister(self.req_w)
        self.writing = on

    def _parse(self, payload: bytearray, seq: int) -> tuple[dict, list]:
        try:
            msg, blobs = unpack_payload(payload)
        except ProtocolError as e:
            raise _Died(f"the worker sent a malformed message ({e})", "bad_return") from None
        if type(msg.get("op")) is not str or msg.get("seq") != seq:
            raise _Died("the worker sent a message out of order (did the code write to the "
                        "grader's channel?)", "bad_return")
        return msg, blobs

    def _write_some(self, pending: deque) -> None:
        while pending:
            try:
                n = os.write(self.req_w, pending[0])
            except BlockingIOError:
                return
            except (BrokenPipeError, OSError):
                raise _Died(self.death_reason()) from None
            if n == len(pending[0]):
                pending.popleft()
            else:
                pending[0] = pending[0][n:]

    def _read_frames(self) -> None:
        while True:
            view = self.reader.body_view()
            try:
                if view is not None and len(view) >= _READ_CHUNK:
                    n = os.readv(self.resp_r, [view])  # large bodies: straight into place
                    data = None
                else:
                    data = os.read(self.resp_r, _READ_CHUNK)
                    n = len(data)
            except BlockingIOError:
                return
            except OSError:
                n = 0
            if n == 0:
                raise _Died(self.death_reason())
            try:
                self.frames.extend(self.reader.advance(n) if data is None
                                   else self.reader.feed(data))
            except ProtocolError as e:
                raise _Died(f"the worker sent a malformed message ({e})", "bad_return") from None

    def _read_output(self, fd: int, max_reads: int = 64) -> None:
        for _ in range(max_reads):
            try:
                data = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.poll.unregister(fd)
                self.open_outputs.discard(fd)
                return
            targets = self.captures if fd == self.out_fd else self.stderr_captures
            if targets:
                targets[-1].add(data)
            if fd == self.err_fd:
                self.out_tail.add(data)

    def _drain_outputs(self) -> None:
        # Everything the worker printed before replying is already in the pipes.
        for fd in list(self.open_outputs):
            self._read_output(fd)

    # ------------------------------------------------------------------ death

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole sandbox (bwrap's PID namespace, or the process group)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def death_reason(self) -> str:
        """Why the worker stopped talking; kills it if it is still running."""
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.kill()
            return "it closed the grader's channel"
        end = time.monotonic() + 0.5
        while self.open_outputs and time.monotonic() < end:
            for fd, _ in self.poll.poll(50):
                if fd in self.open_outputs:
                    self._read_output(fd)
        return describe_exit(self.proc.returncode, self.out_tail.text(),
                             bubblewrap=self.plan.bubblewrap, config=self.config)

    def close(self) -> None:
        self.kill()
        for fd in (self.req_w, self.resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        if self.plan.temp_dir:
            import shutil

            shutil.rmtree(self.plan.temp_dir, ignore_errors=True)


def _grow_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)
    except (OSError, ImportError, AttributeError):
        pass


class _SparePool:
    """Started-but-unused worker processes, one per configuration.

    Starting Python and importing NumPy takes most of a worker's start-up time; a spare
    started in the background while the previous submission is graded hides it. A spare has
    run no student code, so handing it to the next submission is safe.
    """

    def __init__(self) -> None:
        self.spares: dict[tuple, _Process] = {}
        self.pid = os.getpid()

    def _check_pid(self) -> None:
        if os.getpid() != self.pid:  # a forked grader: the spares belong to the parent
            self.spares, self.pid = {}, os.getpid()

    def take(self, key: tuple) -> _Process | None:
        self._check_pid()
        proc = self.spares.pop(key, None)
        if proc is not None and not proc.alive():
            proc.close()
            return None
        return proc

    def refill(self, key: tuple, make: Callable[[], _Process]) -> None:
        self._check_pid()
        if key not in self.spares:
            try:
                self.spares[key] = make()
            except OSError:
                pass

    def close(self) -> None:
        self._check_pid()
        for proc in self.spares.values():
            proc.close()
        self.spares.clear()


_spares = _SparePool()
_live_workers: weakref.WeakSet[Worker] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for w in list(_live_workers):
        w.close()
    _spares.close()


def prestart_worker(config: SandboxConfig) -> None:
    """Start a spare worker for ``config`` now, so that it gets ready while the grader is
    still importing and loading (the next `Worker` with this config takes it)."""
    if config.spare_workers:
        worker = Worker(config)
        _spares.refill((worker.config, worker._bubblewrap), worker._new_process)
        worker.close()


def close_spare_workers() -> None:
    """Kill the pre-started spare workers (they are also killed at exit)."""
    _spares.close()


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
        self._bubblewrap, self.isolation = choose_isolation(self.config)
        if self._bubblewrap and _bwrap_broken and self.config.isolation == "auto":
            self._bubblewrap, self.isolation = False, reduced_isolation(_bwrap_broken)
        self._proc: _Process | None = None
        self._cells: list[str] = []
        self._names: list[str] = []
        self._skip: set[int] = set()
        self._n_loaded = 0  # cells already run (and replayed after a restart)
        self._budget = float(self.config.submission_timeout)
        self._closed = False
        self._owner = os.getpid()  # a forked grader must not kill its parent's workers
        self.start_time: float | None = None  # seconds the last (re)start took
        self.restarts = 0
        _live_workers.add(self)

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
             return_args: bool = True) -> CallOutcome:
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

        Raises
        ------
        StudentError
            NotAttempted, MissingName, StudentException, StudentTimeout, StudentCrashed or
            BadReturn, with a message safe to show to the student.
        """
        kwargs = dict(kwargs or {})
        args = tuple(args)
        registry: list[Callable] = []
        try:
            header = encode((args, kwargs), callbacks=registry if callbacks else None,
                            blobs=(blobs := []))
        except UnsupportedValue as e:
            raise TypeError(f"cannot pass this argument to `{name}`: {e}") from None
        out = Capture(self.config.output_cap)
        err = Capture(self.config.output_cap)
        msg = {"op": "call", "name": name, "args": header, "want_args": return_args}
        t0 = time.monotonic()
        reply, rblobs = self._request(msg, blobs, timeout or self.config.call_timeout,
                                      f"`{name}`", out, err, registry)
        duration = time.monotonic() - t0
        value = self._decode(reply, rblobs, "value", name, registry, out, err)
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
        _live_workers.discard(self)

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
            return self._run_cell(index, out, err)
        finally:
            self._n_loaded = index + 1

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
        callback_time = [0.0]

        def on_callback(m: dict, b: list) -> tuple[dict, list]:
            c0 = time.monotonic()
            try:
                return self._serve_callback(m, b, registry)
            finally:
                callback_time[0] += time.monotonic() - c0

        try:
            reply, rblobs = proc.request(msg, blobs, t0 + limit, on_callback)
        except _TimedOut:
            self._kill()
            self._budget -= time.monotonic() - t0 - callback_time[0]
            if budget_bound:
                self._budget = 0.0
                raise self._with_output(StudentTimeout(
                    f"the submission used up its {self.config.submission_timeout:g} s time "
                    f"budget (while running {what})"), out, err) from None
            raise self._with_output(StudentTimeout(
                f"{what} did not return within {timeout:g} s"), out, err) from None
        except _Died as d:
            self._kill()
            self._budget -= time.monotonic() - t0 - callback_time[0]
            if d.kind == "bad_return":
                raise self._with_output(BadReturn(f"{what}: {d.reason}"), out, err) from None
            kind = "memory" if "out of memory" in d.reason else "crashed"
            raise self._with_output(StudentCrashed(
                f"{what} killed the worker process: {d.reason}", kind=kind), out, err) from None
        finally:
            proc.captures.remove(out)
            proc.stderr_captures.remove(err)
        self._budget -= time.monotonic() - t0 - callback_time[0]
        if reply["op"] == "raise":
            raise self._with_output(self._student_error(reply, what), out, err)
        return reply, rblobs

    def _serve_callback(self, msg: dict, blobs: list, registry: list) -> tuple[dict, list]:
        fid = msg.get("id")
        if type(fid) is not int or not 0 <= fid < len(registry):
            raise _Died("the worker asked for an unknown grader function", "bad_return")
        try:
            decoded = decode(msg.get("args"), blobs, function_stub=registry.__getitem__)
        except (ProtocolError, IndexError) as e:
            raise _Died(f"the worker sent malformed callback arguments ({e})",
                        "bad_return") from None
        if not (type(decoded) is tuple and len(decoded) == 2 and type(decoded[0]) is tuple
                and type(decoded[1]) is dict):
            raise _Died("the worker sent malformed callback arguments", "bad_return")
        fn = registry[fid]
        try:
            result = fn(*decoded[0], **decoded[1])
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
            return MissingName(message)
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

    def _ensure_process(self) -> _Process:
        global _bwrap_broken
        while self._proc is None:
            if self._budget <= 0:
                raise StudentTimeout(f"the submission used up its "
                                     f"{self.config.submission_timeout:g} s time budget")
            t0 = time.monotonic()
            key = (self.config, self._bubblewrap)
            proc = _spares.take(key) if self.config.spare_workers else None
            if proc is None:
                proc = self._new_process()
            try:
                ready = proc.wait_ready(t0 + min(self.config.start_timeout, self._budget))
                if ready.get("op") != "ready":
                    raise _Died("the worker did not start properly")
            except (_Died, _TimedOut) as e:
                stderr = proc.out_tail.text()
                proc.close()
                self._budget -= time.monotonic() - t0
                if self._bubblewrap and "bwrap:" in stderr and self.config.isolation == "auto":
                    _bwrap_broken = "bubblewrap failed to start: " + stderr.strip()[:200]
                    self._bubblewrap, self.isolation = False, reduced_isolation(_bwrap_broken)
                    continue
                raise RuntimeError(
                    f"the sandboxed worker did not start ({type(e).__name__}: {e}); its "
                    f"output was: {stderr.strip()[:2000]!r}") from None
            self._proc = proc
            self._budget -= time.monotonic() - t0
            self.start_time = time.monotonic() - t0
            if self.config.spare_workers:
                _spares.refill(key, self._new_process)
            self._replay()
        return self._proc

    def _new_process(self) -> _Process:
        proc = _Process(LaunchPlan([], {}, "/", [], (), self._bubblewrap, self.isolation),
                        self.config)
        proc.start()
        return proc

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
