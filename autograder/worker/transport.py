"""The pipe transport to one running worker process: start it, exchange framed requests
without blocking (serving callbacks meanwhile), drain and cap its stdout/stderr, and kill
the whole sandbox.

Nothing here knows about cells, budgets or student errors: a dead or misbehaving worker is a
`Died`, a missed deadline a `TimedOut`; `autograder.worker.session` turns them into
`StudentError`s.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from itertools import islice

from autograder import cgroup
from autograder.sandbox import LaunchPlan, SandboxConfig, describe_exit, plan_launch
from autograder.sandboxed.protocol import (
    FrameReader,
    ProtocolError,
    SharedArea,
    UnsupportedValue,
    pack_frame,
    unpack_payload,
)

from .shared_area import SharedMemory

_F_SETPIPE_SZ = 1031
_PIPE_SIZE = 1024 * 1024
_READ_CHUNK = 1024 * 1024
_IOV_MAX = 1024  # buffers per writev (Linux's limit)


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


class Died(Exception):
    """The worker process died or misbehaved: ``reason`` says how, ``kind`` is
    ``"crashed"`` or ``"bad_return"`` (it sent something malformed)."""

    def __init__(self, reason: str, kind: str = "crashed") -> None:
        super().__init__(reason)
        self.reason, self.kind = reason, kind


class TimedOut(Exception):
    """The worker did not reply before the deadline (it is still running)."""


class WorkerProcess:
    """One running worker: the child process, its pipes and the framing state."""

    def __init__(self, plan: LaunchPlan, config: SandboxConfig) -> None:
        self.plan, self.config = plan, config
        self.reader = FrameReader(config.max_reply_bytes)
        self.frames: deque = deque()
        self.seq = 0
        self.out_tail = Capture(8 * 1024, keep="tail")
        self.captures: list[Capture] = []
        self.stderr_captures: list[Capture] = []
        self.cgroup: cgroup.SandboxCgroup | None = None
        self.shared: SharedMemory | None = None  # the worker's shared area, if it has one
        self.area: SharedArea | None = None  # the same, once the worker said it mapped it

    def start(self) -> None:
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        for fd in (req_r, resp_w):
            grow_pipe(fd)
        self.cgroup = cgroup.create(self.config.memory_bytes, self.config.max_processes)
        plan = plan_launch(self.config, req_r, resp_w, bubblewrap=self.plan.bubblewrap,
                           isolation=self.plan.isolation,
                           cgroup_procs=self.cgroup.join_paths() if self.cgroup else ())
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
        grow_pipe(self.out_fd)
        self.setup_poll()

    def setup_poll(self) -> None:
        """Make the four pipes non-blocking and watch the readable ones."""
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

        Raises `TimedOut` at ``deadline`` (monotonic; time spent in callbacks counts)
        and `Died` if the worker dies or sends anything malformed.
        """
        self.seq += 1
        seq = self.seq
        try:
            pending = deque(memoryview(b).cast("B")
                            for b in pack_frame({**msg, "seq": seq}, blobs, self.area))
        except UnsupportedValue as e:  # the grader's own request is too big
            raise ValueError(f"cannot send this request to the worker: {e}") from None
        return self._pump(seq, pending, deadline, on_callback)

    def wait_ready(self, deadline: float) -> dict:
        ready = self._pump(0, deque(), deadline, None)[0]
        if ready.get("shared") is True and self.shared is not None:
            self.area = self.shared.area
        return ready

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
                        raise Died("the worker asked for a callback outside a call")
                    # The grader's time inside a callback is the caller's time: it counts
                    # against this call's deadline, never extends it.
                    reply, out = on_callback(msg, blobs)  # may pump nested requests itself
                    pending.extend(memoryview(b).cast("B")
                                   for b in pack_frame({**reply, "seq": seq}, out, self.area))
                if pending:  # the pipe has room for most frames: no poll needed
                    self._write_some(pending)
                self._want_write(bool(pending))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimedOut()
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
            msg, blobs = unpack_payload(payload, self.shared and self.shared.area,
                                        self.config.max_reply_bytes)
        except ProtocolError as e:
            problem = str(e)
        else:
            problem = ""
        if problem:  # raised out here, so that no traceback keeps the frame alive, and
            del payload[:]  # emptied: a grading that records the error must not hold 64 MB
            raise Died(f"the worker sent a malformed message ({problem})", "bad_return")
        if type(msg.get("op")) is not str or msg.get("seq") != seq:
            raise Died("the worker sent a message out of order (did the code write to the "
                        "grader's channel?)", "bad_return")
        return msg, blobs

    def _write_some(self, pending: deque) -> None:
        """Write as much of ``pending`` as the pipe takes, a frame's buffers in one call."""
        while pending:
            try:
                n = os.writev(self.req_w, list(islice(pending, _IOV_MAX)))
            except BlockingIOError:
                return
            except (BrokenPipeError, OSError):
                raise Died(self.death_reason()) from None
            while pending and n >= len(pending[0]):
                n -= len(pending.popleft())
            if n:
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
                raise Died(self.death_reason())
            try:
                self.frames.extend(self.reader.advance(n) if data is None
                                   else self.reader.feed(data))
            except ProtocolError as e:
                raise Died(f"the worker sent a malformed message ({e})", "bad_return") from None

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
        kill_sandbox(self.proc)

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
        if self.cgroup is not None and self.cgroup.oom_killed():
            return (f"it ran out of memory (limit {self.config.memory_text} for the whole "
                    "sandbox, all its processes together)")
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
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.plan.temp_dir:
            import shutil

            shutil.rmtree(self.plan.temp_dir, ignore_errors=True)


def kill_sandbox(proc: subprocess.Popen) -> None:
    """SIGKILL a sandbox's process group and its first process, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def grow_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)
    except (OSError, ImportError, AttributeError):
        pass


def start_process(config: SandboxConfig, bubblewrap: bool, isolation: str) -> WorkerProcess:
    """A new worker process for ``config``, started (not yet ready: see `wait_ready`)."""
    proc = WorkerProcess(LaunchPlan([], {}, "/", [], (), bubblewrap, isolation), config)
    proc.start()
    return proc
