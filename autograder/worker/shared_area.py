"""The memory a grading process shares with the workers its fork server forks, for the large
blobs of frames (`autograder.sandboxed.protocol.SharedArea` says how both sides use it).

It is a memfd made here, sealed before any worker sees it so that its size can never change
(a worker that shrank it would make the grader's reads of its mapping fault), mapped here,
and passed to the zygote with each worker's pipes. The fork server's workers use it one after
the other, and it is cleared between them (`clear`), so nothing of one student's frames is
there for the next; its pages stay, so the next student's frames do not fault fresh ones in
(a new memfd per student cost more than the pipe it replaces). At most `AREA_BYTES` in all,
only the pages touched.
"""

from __future__ import annotations

import fcntl
import mmap
import os

import numpy as np

from autograder.sandboxed.protocol import SharedArea

AREA_BYTES = 64 * 1024 * 1024
"""Half each way: 32 MiB of blobs per frame (larger ones go through the pipe)."""
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


class SharedMemory:
    """One sealed memfd, mapped: ``fd`` to pass to each worker, ``area`` to use with it."""

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

    def clear(self) -> None:
        """Zero what the last worker's frames used (no process of it may be left): the
        grader's half as far as it wrote, the worker's as far as the grader read, and the
        rest of the worker's half given back (a worker may have written anywhere in it)."""
        area = self.area
        np.frombuffer(area.outgoing, np.uint8, area.written).fill(0)
        used = -(-area.read // mmap.PAGESIZE) * mmap.PAGESIZE
        np.frombuffer(area.incoming, np.uint8, used).fill(0)
        half = len(area.incoming)
        if used < half:
            self._memory.madvise(mmap.MADV_REMOVE, half + used, half - used)
        area.written = area.read = 0

    def close(self) -> None:
        self.area.release()
        self._memory.close()
        os.close(self.fd)


def make_shared_memory() -> SharedMemory | None:
    """A new `SharedMemory`, or None where the system has no sealed memfds (frames then go
    through the pipe whole)."""
    try:
        return SharedMemory()
    except (OSError, AttributeError):
        return None
