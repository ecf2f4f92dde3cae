"""The process-wide state of the grader's workers, all of it: the spare workers and fork
servers started ahead of need, the live `Worker`s killed at exit, and whether bubblewrap
failed on this host.

Starting Python and importing NumPy takes most of a worker's start-up time; a spare started
in the background while the previous submission is graded hides it. A spare has run no
student code, so handing it to the next submission is safe.
"""

from __future__ import annotations

import atexit
import os
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from autograder.sandbox import SandboxConfig, choose_isolation, limits_text, reduced_isolation

from .forkserver import ForkServer
from .transport import WorkerProcess, start_process

if TYPE_CHECKING:
    from .session import Worker

_bwrap_broken: str | None = None  # why bubblewrap failed to start on this host, once seen


class SparePool:
    """Started-but-unused worker processes, one per configuration (a forked grader process
    starts with none: the spares belong to its parent)."""

    def __init__(self) -> None:
        self.spares: dict[tuple, WorkerProcess] = {}
        self.pid = os.getpid()

    def _check_pid(self) -> None:
        if os.getpid() != self.pid:  # a forked grader: the spares belong to the parent
            self.spares, self.pid = {}, os.getpid()

    def take(self, key: tuple) -> WorkerProcess | None:
        self._check_pid()
        proc = self.spares.pop(key, None)
        if proc is not None and not proc.alive():
            proc.close()
            return None
        return proc

    def refill(self, key: tuple, make: Callable[[], WorkerProcess]) -> None:
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


class ForkServers:
    """One `ForkServer` per configuration (a forked grader process starts with none)."""

    def __init__(self) -> None:
        self.servers: dict[SandboxConfig, ForkServer] = {}
        self.pid = os.getpid()

    def _check_pid(self) -> None:
        if os.getpid() != self.pid:
            self.servers, self.pid = {}, os.getpid()

    def take(self, config: SandboxConfig) -> WorkerProcess | None:
        """A worker forked by this configuration's server; None when there is none, or it
        is busy with another worker or broken (it is then dropped)."""
        self._check_pid()
        server = self.servers.get(config)
        if server is None or server.busy:
            return None
        worker = server.fork()
        if worker is None:
            server.close()
            del self.servers[config]
        return worker

    def refill(self, config: SandboxConfig, isolation: str) -> None:
        """Start a server for ``config`` unless it has a live one."""
        self._check_pid()
        server = self.servers.get(config)
        if server is not None and server.alive():
            return
        if server is not None:
            server.close()
        try:
            self.servers[config] = ForkServer(config, isolation)
        except OSError:
            self.servers.pop(config, None)

    def close(self) -> None:
        self._check_pid()
        for server in self.servers.values():
            server.close()
        self.servers.clear()


spares = SparePool()
fork_servers = ForkServers()
live_workers: weakref.WeakSet[Worker] = weakref.WeakSet()


def uses_fork_server(config: SandboxConfig, bubblewrap: bool) -> bool:
    """Whether workers for ``config`` come from a fork server (bubblewrap, spares on, and
    modules to preload)."""
    return bubblewrap and config.spare_workers and bool(config.preload)


@atexit.register
def _close_all() -> None:
    for w in list(live_workers):
        w.close()
    spares.close()
    fork_servers.close()


def isolation_for(config: SandboxConfig) -> tuple[bool, str]:
    """``(use bubblewrap, isolation text)`` for a new worker: `choose_isolation`, except that
    ``isolation="auto"`` falls back to reduced isolation once bubblewrap failed here."""
    bubblewrap, isolation = choose_isolation(config)
    if bubblewrap and _bwrap_broken and config.isolation == "auto":
        bubblewrap, isolation = False, reduced_isolation(_bwrap_broken)
    return bubblewrap, f"{isolation}; {limits_text(config)}"


def mark_bwrap_broken(stderr: str, config: SandboxConfig) -> str:
    """Record that bubblewrap failed to start (its ``stderr``); returns the reduced isolation
    text every later worker with ``isolation="auto"`` gets."""
    global _bwrap_broken
    _bwrap_broken = "bubblewrap failed to start: " + stderr.strip()[:200]
    return f"{reduced_isolation(_bwrap_broken)}; {limits_text(config)}"


def prestart_worker(config: SandboxConfig) -> None:
    """Start a spare worker for ``config`` now, so that it gets ready while the grader is
    still importing and loading (the next `Worker` with this config takes it)."""
    if config.spare_workers:
        bubblewrap, isolation = isolation_for(config)
        if uses_fork_server(config, bubblewrap):
            fork_servers.refill(config, isolation)
        else:
            spares.refill((config, bubblewrap), lambda: start_process(config, bubblewrap, isolation))


def close_spare_workers() -> None:
    """Kill the pre-started spare workers and fork servers (also killed at exit)."""
    spares.close()
    fork_servers.close()
