"""One sandbox, one memory limit: children forked by student code share the sandbox's limit."""

import resource

import pytest

from autograder import cgroup
from autograder.errors import StudentCrashed
from autograder.sandbox import SandboxConfig
from autograder.worker import Worker, close_spare_workers, prestart_worker

needs_cgroup = pytest.mark.skipif(not cgroup.support(), reason="no cgroup can be made here")

FORKS = '''
import os, time

def fork_and_hold(n_children, mib):
    """Fork children that each touch `mib` MiB and keep it 3 s; count those that held it to
    the end (one that got its memory and was then killed for a later one's does not count)."""
    children = []
    for _ in range(n_children):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            block = bytearray(mib << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            os.write(w, b"ok")
            time.sleep(3)
            os._exit(0)
        os.close(w)
        children.append((pid, r))
    held = 0
    for pid, r in children:
        got = os.read(r, 2) == b"ok"
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            continue
        held += got and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return held
'''


@needs_cgroup
def test_forked_children_cannot_hold_more_than_the_sandbox_limit():
    config = SandboxConfig(memory_bytes=1 << 30, call_timeout=30, load_timeout=20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Worker(config) as worker:
        assert f"cgroup v{cgroup.support()}: 1 GiB and 64 processes for the whole sandbox" \
            in worker.isolation
        worker.load([FORKS], ["cell 1"])
        try:
            held = worker.call("fork_and_hold", (3, 600)).value
        except StudentCrashed as crash:  # the OOM killer may take the parent instead
            assert "out of memory" in str(crash) or "killed" in str(crash), crash
            held = 0
    assert held <= 1  # three children of 600 MiB each would need 1.8 GiB
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 1024  # the grader itself held none of it


def test_without_a_cgroup_the_process_limit_is_small(monkeypatch):
    from autograder import sandbox

    monkeypatch.setattr(cgroup, "support", lambda: 0)
    limits = dict((n, soft) for n, soft, _ in sandbox.rlimits(SandboxConfig(), bubblewrap=True))
    assert limits["RLIMIT_NPROC"] == sandbox.FALLBACK_PROCESSES
    assert "no cgroup here: 2 GiB per process, at most 8 processes" in \
        sandbox.limits_text(SandboxConfig())


@needs_cgroup
def test_a_sandbox_cgroup_is_removed_with_its_worker():
    with Worker(SandboxConfig(preload=())) as worker:  # a sandbox of its own
        worker.load(["x = 1"], ["cell 1"])
        group = worker._proc.cgroup
        assert group is not None and all(d.exists() for d in group.dirs)
    assert not any(d.exists() for d in group.dirs)


@needs_cgroup
def test_a_fork_servers_cgroup_is_removed_with_its_sandbox():
    config = SandboxConfig(call_timeout=9.0)
    prestart_worker(config)
    with Worker(config) as worker:
        worker.load(["x = 1"], ["cell 1"])
        group = worker._proc.server.cgroup
        assert group is not None and all(d.exists() for d in group.dirs)
    assert all(d.exists() for d in group.dirs)  # the sandbox serves the next submission
    close_spare_workers()
    assert not any(d.exists() for d in group.dirs)
