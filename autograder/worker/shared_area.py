"""The memory a grading process shares with one forked worker for the large blobs of frames
(`autograder.sandboxed.protocol.SharedArea` says how the two sides use it).

It is a memfd made here, sealed before the worker sees it so that its size can never change
(a worker that shrank it would make the grader's reads of its mapping fault), and mapped
here before its fd is passed to the zygote with the worker's pipes. Each worker gets a new
one, so nothing of one student's frames is there for the next; the pages are only those
touched, at most `AREA_BYTES` in all.
"""

from __future__ import annotations

import fcntl
import mmap
import os

from autograder.sandboxed.protocol import SharedArea

AREA_BYTES = 64 * 1024 * 1024
"""Half each way: 32 MiB of blobs per frame (larger ones go through the pipe)."""
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


class SharedMemory:
    """One sealed memfd, mapped: ``fd`` to pass on (then `close_fd`), ``area`` to use."""

    def __init__(self, size: int = AREA_BYTES) -> None:
        self.fd = os.memfd_create("mlhw-frames", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(self.fd, size)
            fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, _SEALS)
            self._memory = mmap.mmap(self.fd, size)
        except BaseException:
            os.close(self.fd)
            raise
        self.area = SharedArea(self._memory, grader_side=True)

    def close_fd(self) -> None:
        """Close the fd (once passed on); the mapping stays."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def close(self) -> None:
        self.close_fd()
        self.area.release()
        self._memory.close()


def make_shared_memory() -> SharedMemory | None:
    """A new `SharedMemory`, or None where the system has no sealed memfds (frames then go
    through the pipe whole)."""
    try:
        return SharedMemory()
    except (OSError, AttributeError):
        return None
