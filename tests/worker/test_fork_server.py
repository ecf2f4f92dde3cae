"""The fork server: the submissions one grading process grades share one sandbox, one after
the other, and nothing one of them does reaches the next."""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder.errors import StudentCrashed, StudentTimeout
from autograder.sandbox import SandboxConfig, choose_isolation
from autograder.worker import Worker, close_spare_workers, prestart_worker
from autograder.worker.forkserver import ForkedWorker

pytestmark = pytest.mark.skipif(not choose_isolation(SandboxConfig())[0],
                                reason="the fork server runs under bubblewrap only")

CONFIG = SandboxConfig(call_timeout=3.0, load_timeout=5.0, submission_timeout=60.0)

LEAVE_TRACES = """
import os, subprocess
open("/tmp/answers.txt", "w").write("the first student's answers")
os.makedirs("/tmp/locked/deeper")
os.chmod("/tmp/locked", 0)
daemon = subprocess.Popen(["sleep", "1000"], start_new_session=True)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
assert libc.shmget(0x4d4c4857, 4096, 0o1666) >= 0  # IPC_CREAT | 0666: outlives its process
assert libc.msgget(0x4d4c4858, 0o1666) >= 0
import numpy as np
draw = float(np.random.random())
"""

LOOK_AROUND = """
import os, sys
import numpy as np
files = sorted(os.listdir("/tmp"))
others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, 2, os.getpid()))
draw = float(np.random.random())
ipc = [len(open(f"/proc/sysvipc/{k}").readlines()) - 1 for k in ("shm", "sem", "msg")]
preloaded = "sympy" in sys.modules and "matplotlib.pyplot" in sys.modules
preloaded_scipy = "scipy.sparse" in sys.modules
# imported by SymPy on the first sum, by Matplotlib on the first figure: done in the zygote
warmed = "sympy.tensor.tensor" in sys.modules and "matplotlib.backends.backend_agg" in sys.modules
def sockets():
    import stat
    return [fd for fd in range(256) if _is_socket(fd)]
def _is_socket(fd):
    import stat
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False
def zygote_fds():
    try:
        return os.listdir("/proc/2/fd")
    except OSError as e:
        return type(e).__name__
"""


@pytest.fixture(autouse=True)
def _own_servers():
    close_spare_workers()
    prestart_worker(CONFIG)  # as a grading process does before its first submission
    yield
    close_spare_workers()


def _worker(cells):
    w = Worker(CONFIG)
    report = w.load(cells)
    assert all(c.status == "ok" for c in report.cells), report
    return w


def test_the_next_submission_finds_nothing_of_the_one_before():
    first = _worker([LEAVE_TRACES])
    first_draw, server = first.get("draw"), first._proc.server
    assert isinstance(first._proc, ForkedWorker)
    first.close()
    second = _worker([LOOK_AROUND])
    try:
        assert second._proc.server is server  # the same sandbox, forked again
        assert second.get("files") == [".matplotlib"]  # the file and the locked folder gone
        assert second.get("others") == []  # the first one's background process killed
        assert second.get("ipc") == [0, 0, 0]  # and its System V IPC objects removed
        assert second.get("draw") != first_draw  # NumPy's global generator reseeded
        assert second.get("preloaded") is True
        assert second.get("preloaded_scipy") is True
        assert second.get("warmed") is True
        assert second.call("sockets").value == []  # the zygote's control socket is not here
        assert second.call("zygote_fds").value == "PermissionError"  # nor reachable via /proc
    finally:
        second.close()


SHARED = """
import ctypes, os
import numpy as np
MARK = 0x4D4C4857
def big(n):
    return np.full(n, MARK, dtype=np.int64)  # large enough for the shared area
def echo(a):
    return a
def resize_area():
    # what shrinking or growing the area through its fd (mmap keeps one) gives
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if "mlhw-frames" in os.readlink(f"/proc/self/fd/{fd}"):
                for size in (0, 1 << 30):
                    try:
                        os.ftruncate(int(fd), size)
                        out.append("resized")
                    except OSError as e:
                        out.append(type(e).__name__)
        except OSError:  # the listing's own fd, closed
            pass
    return out
def area():
    for line in open("/proc/self/maps"):
        if "mlhw-frames" in line:
            return tuple(int(x, 16) for x in line.split()[0].split("-"))
def scribble():  # marks at the end of the area, where no frame of this worker went
    start, end = area()
    mark = np.full(1024, MARK, dtype=np.int64)
    ctypes.memmove(end - mark.nbytes, mark.ctypes.data, mark.nbytes)
    return 1
def marks_in_area():
    start, end = area()
    data = np.frombuffer(ctypes.string_at(start, end - start), dtype=np.int64)
    return int(np.count_nonzero(data == MARK))
"""


def test_large_arrays_cross_through_a_shared_area_cleared_between_submissions():
    first = _worker([SHARED])
    try:
        assert first._proc.area is not None
        first_shared = first._proc.shared
        shrink, grow = first.call("resize_area").value  # sealed: both refused
        assert shrink == "PermissionError" and grow != "resized"
        value = first.call("big", (1 << 19,)).value  # 4 MiB
        assert value.dtype == np.int64 and value.shape == (1 << 19,) and (value == 0x4D4C4857).all()
        assert first.call("marks_in_area").value >= 1 << 19  # it went through the area
        sent = np.arange(3 << 18, dtype=float)  # 6 MiB each way
        assert np.array_equal(first.call("echo", (sent,)).value, sent)
        big = first.call("big", (1 << 19,)).value  # the last reply's marks: the second looks
        assert (big == 0x4D4C4857).all() and first.call("scribble").value == 1
    finally:
        first.close()
    second = _worker([SHARED])
    try:
        assert second._proc.shared is first_shared
        assert second.call("marks_in_area").value == 0  # cleared: nothing of the first's
    finally:
        second.close()


def test_the_shared_memory_cannot_change_size_and_is_cleared_whole():
    from autograder.worker.shared_area import SharedMemory

    memory = SharedMemory(1 << 20)
    try:
        for size in (0, 2 << 20):
            with pytest.raises(PermissionError):
                os.ftruncate(memory.fd, size)
        area = memory.area
        area.put([bytes(range(256)) * 1024])  # the grader's frame: 256 KiB
        area.incoming[:] = b"\x07" * len(area.incoming)  # a worker wrote all of its half...
        area.take(1000, 5000)  # ... and the grader read a blob of it
        memory.clear()
        assert not any(area.outgoing) and not any(area.incoming)
        assert area.written == area.read == 0
    finally:
        memory.close()


@pytest.mark.parametrize("cell, call, error, match", [
    ("import os\ndef f():\n    os._exit(3)\n", {}, StudentCrashed, "exited with status 3"),
    ("def f():\n    while True:\n        pass\n", {"timeout": 0.5}, StudentTimeout, "within"),
], ids=["crash", "timeout"])
def test_a_crash_or_timeout_ends_only_the_child(cell, call, error, match):
    w = _worker([cell])
    server = w._proc.server
    with pytest.raises(error, match=match):
        w.call("f", **call)
    w.close()
    after = _worker([LOOK_AROUND])  # the same sandbox serves the next submission, cleaned
    assert after._proc.server is server and after.get("others") == []
    after.close()


def test_a_submission_that_kills_the_zygote_gets_a_new_sandbox_next_time():
    w = _worker(["import os, signal\ndef strike():\n    os.kill(2, signal.SIGKILL)\n    return 1\n"])
    server = w._proc.server
    try:  # the sandbox ends with its zygote, perhaps only after this call returned
        w.call("strike")
    except StudentCrashed:
        pass
    w.close()
    after = _worker([LOOK_AROUND])
    assert getattr(after._proc, "server", None) is not server and not server.alive()
    assert after.get("files") == [".matplotlib"] and after.get("others") == []
    after.close()
    again = _worker([LOOK_AROUND])  # and the submission after it, a new fork server's
    assert isinstance(again._proc, ForkedWorker) and again._proc.server.alive()
    again.close()


def test_without_modules_to_preload_every_submission_has_its_own_sandbox():
    w = Worker(SandboxConfig(preload=()))
    w.load(["x = 1"])
    assert not isinstance(w._proc, ForkedWorker)
    w.close()
