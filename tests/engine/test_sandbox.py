"""The sandbox: what student code can and cannot see or do, and how workers are launched."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import autograder
from autograder import bubblewrap, sandbox
from autograder.sandbox import SandboxConfig, choose_isolation, describe_exit
from autograder.worker import Worker

REPO = Path(autograder.__file__).resolve().parent.parent
HAVE_BWRAP = choose_isolation(SandboxConfig())[0]
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap isolation not available")

PROBE = '''
import os, sys, socket

def try_open(path, mode="r"):
    try:
        with open(path, mode) as f:
            f.write("x") if "w" in mode else f.read(1)
        return "ok"
    except Exception as e:
        return type(e).__name__

def try_import(name):
    try:
        __import__(name)
        return "ok"
    except Exception as e:
        return type(e).__name__

def connect():
    try:
        socket.create_connection(("1.1.1.1", 80), timeout=1).close()
        return "ok"
    except Exception as e:
        return type(e).__name__

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return line.split()[1]

def pids():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())

def env():
    return dict(os.environ)

def fork_bomb():
    n = 0
    while True:
        try:
            os.fork()
            n += 1
        except OSError as e:
            return f"fork failed after {n} forks: {e.strerror}"

def uid():
    return os.getuid()

def spawn_detached():
    import signal
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass
    return os.getuid()
'''


def _owned_by(uid: int) -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.stat(f"/proc/{p}").st_uid == uid:
                    out.append(int(p))
            except OSError:
                pass
    return out


@pytest.fixture(scope="module")
def boxed():
    os.environ["MLHW_TEST_SECRET"] = "do-not-leak"
    try:
        with Worker(SandboxConfig(call_timeout=5)) as w:
            assert w.load([PROBE]).ok
            yield w
    finally:
        os.environ.pop("MLHW_TEST_SECRET", None)


# ------------------------------------------------------------------ inside bubblewrap


@needs_bwrap
def test_reference_and_grader_packages_cannot_be_imported(boxed):
    assert boxed.isolation.startswith("bubblewrap; ")
    assert boxed.call("try_import", ("mlhw_ref",)).value == "ModuleNotFoundError"
    assert boxed.call("try_import", ("autograder",)).value == "ModuleNotFoundError"
    assert boxed.call("try_import", ("numpy",)).value == "ok"


@needs_bwrap
def test_suites_reference_and_grader_files_cannot_be_read(boxed):
    suites = sorted((REPO / "autograder" / "suites").rglob("*.py"))
    paths = [REPO / "autograder" / "runner.py", REPO / "autograder" / "worker.py",
             REPO / "mlhw_ref" / "__init__.py", REPO / "pyproject.toml", *suites[:3]]
    for path in paths:
        assert boxed.call("try_open", (str(path),)).value == "FileNotFoundError", path


@needs_bwrap
@pytest.mark.parametrize("path", ["/usr/evil", "/etc/evil", "/evil", "/opt/mlhw/protocol.py",
                                  "/dev/shm/evil", bubblewrap.python_roots(
                                      os.sys.executable)[0] + "/evil"])
def test_writing_outside_tmp_fails(boxed, path):
    assert boxed.call("try_open", (path, "w")).value in ("PermissionError", "OSError",
                                                         "FileNotFoundError")


@needs_bwrap
def test_tmp_is_private_and_writable(boxed, tmp_path):
    marker = tmp_path / "grader-side"
    marker.write_text("x")
    assert boxed.call("try_open", ("/tmp/student.txt", "w")).value == "ok"
    assert boxed.call("try_open", (str(marker),)).value == "FileNotFoundError"
    assert not Path("/tmp/student.txt").exists()


@needs_bwrap
def test_network_is_unreachable(boxed):
    assert boxed.call("connect").value != "ok"


@needs_bwrap
def test_runs_as_an_unprivileged_uid_without_capabilities(boxed):
    assert boxed.call("uid").value not in (0, os.getuid())
    assert boxed.call("status", ("CapEff",)).value == "0000000000000000"
    assert boxed.call("status", ("NoNewPrivs",)).value == "1"


@needs_bwrap
def test_the_graders_processes_are_invisible(boxed):
    assert len(boxed.call("pids").value) <= 3  # bwrap's init, the worker (and a /proc race)


def test_the_environment_is_scrubbed(boxed):
    env = boxed.call("env").value
    assert "MLHW_TEST_SECRET" not in env
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["MPLBACKEND"] == "Agg"


@needs_bwrap
def test_fork_bomb_is_contained(boxed):
    t0 = time.monotonic()
    message = boxed.call("fork_bomb").value
    assert message.startswith("fork failed after") and time.monotonic() - t0 < 5
    n = int(message.split()[3])
    assert n < 64  # the doubling hit RLIMIT_NPROC (without it this call would time out)


@needs_bwrap
def test_no_process_outlives_close():
    w = Worker(SandboxConfig(spare_workers=False))
    w.load([PROBE])
    uid = w.call("spawn_detached").value
    assert _owned_by(uid)
    w.close()
    deadline = time.monotonic() + 5
    while _owned_by(uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _owned_by(uid) == []


@needs_bwrap
def test_read_only_paths_are_visible_and_hidden_paths_are_masked(tmp_path):
    data = tmp_path / "data"
    (data / "secret").mkdir(parents=True)
    (data / "corpus.txt").write_text("words")
    (data / "secret" / "answers.txt").write_text("42")
    config = SandboxConfig(read_only_paths=(str(data),), hidden_paths=(str(data / "secret"),))
    with Worker(config) as w:
        w.load([PROBE])
        assert w.call("try_open", (str(data / "corpus.txt"),)).value == "ok"
        assert w.call("try_open", (str(data / "corpus.txt"), "w")).value in ("OSError",
                                                                           "PermissionError")
        assert w.call("try_open", (str(data / "secret" / "answers.txt"),)).value == \
            "FileNotFoundError"


# ------------------------------------------------------------------ launching


def test_bwrap_command_line_isolates():
    args = bubblewrap.bwrap_args(SandboxConfig(), os.sys.executable)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert flag in args
    tmp = args.index("--tmpfs")
    assert args[tmp + 1] == "/tmp" and args[tmp - 4:tmp - 2] == ["--perms", "1777"]
    # every directory created for a bind is traversable by the unprivileged uid
    for i, a in enumerate(args):
        if a == "--dir":
            assert args[i - 2:i] == ["--perms", "0755"]
    assert str(REPO) not in [args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"]


def test_grader_code_inside_a_bound_path_is_masked():
    args = bubblewrap.bwrap_args(SandboxConfig(read_only_paths=(str(REPO),)), os.sys.executable)
    bind = args.index(str(REPO))
    for name in ("autograder", "mlhw_ref"):
        mask = args.index(str(REPO / name))
        assert args[mask - 1] == "--tmpfs" and mask > bind


def test_fallback_is_chosen_and_described(monkeypatch):
    assert choose_isolation(SandboxConfig(isolation="reduced")) == (
        False, "reduced: bubblewrap disabled by configuration (rlimits, scrubbed env, temp dir)")
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    use, text = choose_isolation(SandboxConfig())
    assert not use and text.startswith("reduced: no bubblewrap")
    with pytest.raises(RuntimeError, match="apt-get install bubblewrap"):
        choose_isolation(SandboxConfig(isolation="bubblewrap"))


def test_fallback_when_not_root(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    use, text = choose_isolation(SandboxConfig())
    assert not use and "not running as root" in text


def test_rlimits_cover_cpu_memory_processes_files():
    limits = {n: (s, h) for n, s, h in sandbox.rlimits(SandboxConfig(), bubblewrap=True,
                                                        whole_sandbox=True)}
    assert limits["RLIMIT_AS"] == (2 * 2**30, 2 * 2**30)
    assert limits["RLIMIT_NPROC"] == (64, 64) and limits["RLIMIT_CORE"] == (0, 0)
    assert limits["RLIMIT_CPU"][0] >= 300 and limits["RLIMIT_FSIZE"][0] == 64 * 2**20


def test_bad_configuration_is_refused_with_the_value():
    with pytest.raises(ValueError, match="'docker'"):
        SandboxConfig(isolation="docker")
    with pytest.raises(ValueError, match="call_timeout"):
        SandboxConfig(call_timeout=0)


@pytest.mark.parametrize("code, bwrap, words", [
    (-11, False, "segmentation fault (SIGSEGV)"),
    (139, True, "segmentation fault (SIGSEGV)"),
    (-24, False, "CPU time limit"),
    (3, False, "os._exit(3)"),
    (86, True, "ran out of memory (limit 2 GiB)"),
    (87, True, "changed Python itself"),
])
def test_exit_descriptions(code, bwrap, words):
    assert words in describe_exit(code, "", bubblewrap=bwrap, config=SandboxConfig())


def test_memory_errors_in_stderr_are_recognised():
    text = describe_exit(1, "...\nMemoryError\n", bubblewrap=False,
                         config=SandboxConfig(memory_bytes=512 * 2**20))
    assert text == "it ran out of memory (limit 512 MiB)"
