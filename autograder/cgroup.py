"""One sandbox, one memory limit: a cgroup that holds a worker and every process it starts.

``RLIMIT_AS`` limits each process on its own, so a worker that forks could hold its limit
several times over. Where the machine offers cgroups (v2: ``memory.max`` and ``pids.max``;
v1: ``memory.limit_in_bytes`` and ``pids.max``, as root) each worker gets a cgroup of its
own under the grader's, joined before the worker's program starts, so the limits hold for
the sandbox as a whole. Elsewhere the sandbox's process limit is made much smaller (see
`sandbox.rlimits`), and every result says which of the two applied.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_names = itertools.count()


@dataclass
class SandboxCgroup:
    """The cgroup directories of one worker (one per v1 controller, or one for v2)."""

    version: int
    dirs: tuple[Path, ...]

    def join_paths(self) -> tuple[str, ...]:
        """The ``cgroup.procs`` files a starting worker writes its pid into."""
        return tuple(str(d / "cgroup.procs") for d in self.dirs)

    def oom_kills(self) -> int:
        """How many processes of this sandbox the kernel killed for its memory limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"  # memory is first
        try:
            words = (self.dirs[0] / name).read_text().split()
            return int(dict(zip(words[::2], words[1::2])).get("oom_kill", "0"))
        except (OSError, ValueError):
            return 0

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of this sandbox for its memory limit."""
        return self.oom_kills() > 0

    def remove(self) -> None:
        """Kill whatever is left in it and remove it."""
        for _ in range(50):
            pids = set()
            for d in self.dirs:
                try:
                    pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
                except (OSError, ValueError):
                    pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                for d in self.dirs:
                    if d.exists():
                        d.rmdir()
                return
            except OSError:
                time.sleep(0.02)  # killed processes leave the cgroup a moment later


def join(paths: tuple[str, ...]) -> None:
    """Move the calling process into the cgroup (run in the worker before it execs)."""
    pid = str(os.getpid()).encode()
    for path in paths:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)


def _own_path(controller: str) -> Path | None:
    """This process's cgroup directory for a v1 ``controller``, or (``""``) for v2."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers.split(",") == [controller] or (controller == "" and controllers == ""):
            base = ROOT / controller if controller else ROOT
            return base / path.lstrip("/")
    return None


@functools.cache
def support() -> int:
    """The cgroup version this grader can make sandbox cgroups with: 2, 1 or 0 (none)."""
    if os.environ.get("MLHW_NO_CGROUP"):
        return 0
    for version in (2, 1):
        try:
            group = create(64 << 20, 8, version=version)
        except OSError:
            continue
        if group is not None:
            group.remove()
            return version
    return 0


def create(memory_bytes: int, max_pids: int, *, version: int | None = None
           ) -> SandboxCgroup | None:
    """A new cgroup with these limits for one worker, or None where none can be made."""
    version = support() if version is None else version
    name = f"mlhw-{os.getpid()}-{next(_names)}"
    made: list[Path] = []
    try:
        if version == 2:
            own = _own_path("")
            if own is None or not (ROOT / "cgroup.controllers").exists():
                return None
            d = own / name
            d.mkdir()
            made.append(d)
            (d / "memory.max").write_text(str(memory_bytes))
            if (d / "memory.swap.max").exists():
                (d / "memory.swap.max").write_text("0")
            (d / "pids.max").write_text(str(max_pids))
        elif version == 1:
            memory, pids = _own_path("memory"), _own_path("pids")
            if memory is None or pids is None:
                return None
            for parent in (memory, pids):
                d = parent / name
                d.mkdir()
                made.append(d)
            (made[0] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            memsw = made[0] / "memory.memsw.limit_in_bytes"
            if memsw.exists():  # swap must not extend the limit
                memsw.write_text(str(memory_bytes))
            (made[1] / "pids.max").write_text(str(max_pids))
        else:
            return None
    except OSError:
        SandboxCgroup(version, tuple(made)).remove()
        return None
    return SandboxCgroup(version, tuple(made))


def describe(memory_text: str, max_pids: int, fallback_pids: int) -> str:
    """Which limit applies to a sandbox here, in the words results use."""
    version = support()
    if version:
        return f"cgroup v{version}: {memory_text} and {max_pids} processes for the whole sandbox"
    return (f"no cgroup here: {memory_text} per process, at most {fallback_pids} processes")
