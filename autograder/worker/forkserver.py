"""A fork server: one bubblewrap sandbox whose first process, the zygote, imports the modules
notebooks use once and then forks one worker per submission.

A new sandbox per submission costs about half a second of CPU before the first student call
(bubblewrap, Python, NumPy, then the notebook's own imports of matplotlib and sympy); on a
class that is CPU the students' code does not get. The submissions one grading process
grades, one after the other, therefore share one sandbox, and nothing one of them did reaches
the next (see ``worker_main._zygote``): before the next child is forked every process left
in the sandbox is killed and reaped and ``/tmp`` is emptied; each child gets new pipes,
passed over a control socket that only the zygote holds; the zygote runs no student code and
cannot be reached through ``/proc``. A zygote that does not answer in time is killed with
its whole sandbox, and the next submission gets a new one.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import time

from autograder import cgroup
from autograder.sandbox import SandboxConfig, describe_exit, plan_launch

from .shared_area import SharedMemory, make_shared_memory
from .transport import WorkerProcess, grow_pipe, kill_sandbox

REQ_FD, RESP_FD = 200, 201  # where a child finds its pipes (below RLIMIT_NOFILE)
ANSWER_TIMEOUT = 10.0  # seconds for the zygote to fork, or to clean up after a child


class ForkServer:
    """One sandbox running a zygote; `fork` makes a worker for one submission."""

    def __init__(self, config: SandboxConfig, isolation: str) -> None:
        self.config, self.busy, self.ready = config, False, False
        self.shared = make_shared_memory()  # its workers' shared area, one after the other
        self.ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.cgroup = cgroup.create(config.memory_bytes, config.max_processes)
        self.plan = plan_launch(config, REQ_FD, RESP_FD, bubblewrap=True, isolation=isolation,
                                cgroup_procs=self.cgroup.join_paths() if self.cgroup else (),
                                ctl_fd=theirs.fileno())
        try:
            self.proc = subprocess.Popen(
                self.plan.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=self.plan.pass_fds, env=self.plan.env,
                cwd=self.plan.cwd, start_new_session=True, preexec_fn=self.plan.preexec(),
                close_fds=True,
            )
        except OSError:
            self.close()
            raise
        finally:
            theirs.close()
            for fd in self.plan.own_fds:
                os.close(fd)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _ask(self, msg: dict, fds: list[int], timeout: float) -> dict | None:
        """Send ``msg`` (with ``fds``) and return the zygote's answer; None when it does not
        answer in time or answers nonsense."""
        try:
            if msg:
                socket.send_fds(self.ctl, [json.dumps(msg).encode()], fds)
            if select.select([self.ctl], [], [], timeout)[0]:
                answer = json.loads(self.ctl.recv(4096) or b"null")
                if isinstance(answer, dict):
                    return answer
        except (OSError, ValueError):
            pass
        return None

    def fork(self) -> ForkedWorker | None:
        """A new worker in this sandbox, or None when the server is busy or broken."""
        if self.busy or not self.alive():
            return None
        if not self.ready:
            answer = self._ask({}, [], self.config.start_timeout)
            if answer is None or answer.get("op") != "ready":
                self.close()
                return None
            self.ready = True
        pipes = [os.pipe() for _ in range(4)]  # request, response, stdout, stderr
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
        ours = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]]
        for fd in theirs[:3]:
            grow_pipe(fd)
        if self.shared:
            self.shared.clear()  # the last child and all it started are gone (`end`)
        oom_before = self.cgroup.oom_kills() if self.cgroup else 0
        try:
            answer = self._ask({"op": "fork"}, theirs + ([self.shared.fd] if self.shared else []),
                               ANSWER_TIMEOUT)
        finally:
            for fd in theirs:
                os.close(fd)
        if answer is None or answer.get("op") != "forked":
            for fd in ours:
                os.close(fd)
            self.close()
            return None
        self.busy = True
        return ForkedWorker(self, *ours, oom_before=oom_before, shared=self.shared)

    def end(self, grace: float = 0.0) -> tuple[bool, int | None, bool]:
        """End the current child (after ``grace`` s for it to exit by itself) and clean the
        sandbox: ``(cleaned, the child's exit code (negative: a signal), whether it had to
        be killed)``."""
        answer = self._ask({"op": "end", "grace": grace}, [], ANSWER_TIMEOUT + grace)
        self.busy = False
        if answer is None or answer.get("op") != "ended":
            return False, None, False
        status = answer.get("status")
        return True, status if type(status) is int else None, answer.get("killed") is True

    def close(self) -> None:
        """Kill the whole sandbox."""
        self.busy = True  # never forks again
        proc = getattr(self, "proc", None)
        if proc is not None:
            kill_sandbox(proc)
        self.ctl.close()
        if self.shared is not None:
            self.shared.close()
            self.shared = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


class ForkedWorker(WorkerProcess):
    """A worker forked by a `ForkServer`: the transport of `WorkerProcess` on the pipes the
    child was given; its end and its exit status go through the zygote."""

    def __init__(self, server: ForkServer, req_w: int, resp_r: int, out_r: int, err_r: int,
                 *, oom_before: int, shared: SharedMemory | None = None) -> None:
        super().__init__(server.plan, server.config)
        self.server, self.oom_before, self.shared = server, oom_before, shared
        self.req_w, self.resp_r, self.out_fd, self.err_fd = req_w, resp_r, out_r, err_r
        self.status: int | None = None
        self.ended = self.cleaned = self.killed = self.out_of_memory = False
        self.setup_poll()

    def alive(self) -> bool:
        return not self.ended and self.server.alive()

    def _end(self, grace: float = 0.0) -> None:
        if not self.ended:
            self.ended = True
            self.cleaned, self.status, self.killed = self.server.end(grace)
            group = self.server.cgroup
            self.out_of_memory = group is not None and group.oom_kills() > self.oom_before
            if not self.cleaned:
                self.server.close()

    def kill(self) -> None:
        self._end()

    def death_reason(self) -> str:
        """Why the child stopped talking (its exit status, from the zygote)."""
        self._end(grace=1.0)
        end = time.monotonic() + 0.5
        while self.open_outputs and time.monotonic() < end:
            for fd, _ in self.poll.poll(50):
                if fd in self.open_outputs:
                    self._read_output(fd)
        if self.out_of_memory:
            return (f"it ran out of memory (limit {self.config.memory_text} for the whole "
                    "sandbox, all its processes together)")
        if self.killed:  # still running after it stopped talking
            return "it closed the grader's channel"
        if self.status is None:
            return "its sandbox stopped answering"
        return describe_exit(self.status, self.out_tail.text(), bubblewrap=False,
                             config=self.config)

    def close(self) -> None:
        self._end()
        for fd in (self.req_w, self.resp_r, self.out_fd, self.err_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.area = self.shared = None  # the server's, for its next child
