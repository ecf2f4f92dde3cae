"""How a worker process is started: limits, the launch plan, reduced-isolation fallback, and
what a worker's exit status means (the bubblewrap command line is in ``bubblewrap.py``).

With bubblewrap (Linux, grader running as root) the worker gets no network, new PID/IPC/UTS
namespaces, a private size-limited ``/tmp`` as its working directory, read-only ``/usr``, a
few ``/etc`` files and the Python installation, and nothing else: the repository, the
reference package, the suites and any gradebook are simply not in its file system. bwrap
runs as root without a user namespace and keeps only CAP_SETUID/CAP_SETGID, which
``worker_main.py`` uses to drop to an unprivileged uid before anything else; RLIMIT_NPROC
then really applies (root is exempt from it) and bound files are read-only to the student.

Without bubblewrap the worker runs with the same rlimits, a scrubbed environment and a
temporary working directory, and ``isolation`` says so.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from autograder.bubblewrap import (
    PROTECTED_PACKAGES,
    SANDBOX_CODE_DIR,
    SANDBOX_HOME,
    WORKER_MAIN,
    bwrap_args,
    bwrap_path,
)
from autograder.cgroup import describe as cgroup_description
from autograder.cgroup import join as join_cgroup

KiB, MiB, GiB = 1024, 1024**2, 1024**3

UID_RANGE = (1_900_000_000, 2_000_000_000)
EXIT_NO_MEMORY = 86  # worker_main's exit status when it cannot even report a MemoryError
EXIT_BROKEN = 87  # worker_main's exit status when student code broke what it relies on

Isolation = Literal["auto", "bubblewrap", "reduced"]


@dataclass(frozen=True)
class SandboxConfig:
    """Limits and isolation for one submission's worker.

    Parameters
    ----------
    call_timeout : float
        Wall-clock seconds per call (a suite may pass a longer ``timeout`` to one call).
    load_timeout : float
        Wall-clock seconds per notebook cell while loading.
    submission_timeout : float
        Wall-clock budget for everything the submission runs (loading, restarts, calls).
    memory_bytes : int
        RLIMIT_AS of the worker (2 GiB by default; NumPy + OpenBLAS need ~0.3 GiB).
    cpu_seconds : int or None
        RLIMIT_CPU; by default the submission budget plus 10 s.
    max_processes, max_file_bytes, max_open_files : int
        RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE.
    tmp_bytes : int
        Size of the private /tmp (bubblewrap only).
    output_cap : int
        Bytes of stdout and of stderr kept per call and per load.
    max_frame_bytes : int
        Largest message the worker accepts from the grader (the grader's own inputs).
    max_reply_bytes : int
        Largest message the grader accepts from the worker, refused before it is read
        (the suites' inputs and answers are far smaller).
    isolation : {"auto", "bubblewrap", "reduced"}
        "auto" uses bubblewrap when it can and otherwise reduced isolation; "bubblewrap"
        refuses to run without it; "reduced" forces the fallback (tests, debugging).
    python : str or None
        Interpreter for the worker; default the grader's own (it must have NumPy).
    uid : int or None
        Unprivileged uid to drop to under bubblewrap; default a random one from a high range
        so that RLIMIT_NPROC counts this worker's processes only.
    start_timeout : float
        Seconds to wait for the worker's ready message.
    hidden_paths : tuple of str
        Extra paths to hide from the worker if they lie inside something it can see.
    read_only_paths : tuple of str
        Extra host paths (data files) made readable at the same path inside the sandbox.
    spare_workers : bool
        Keep one pre-started worker per configuration so the next submission (or restart)
        does not wait for Python and NumPy to start. Under bubblewrap the spare is a fork
        server (`worker.forkserver`) unless ``preload`` is empty.
    preload : tuple of str
        Modules a fork server imports once, before any student code, for all the
        submissions it serves (notebooks import them; each import costs every submission
        CPU time otherwise). Empty: no fork server, a new sandbox per submission.
    """

    call_timeout: float = 10.0
    load_timeout: float = 60.0
    submission_timeout: float = 300.0
    memory_bytes: int = 2 * GiB
    cpu_seconds: int | None = None
    max_processes: int = 64
    max_file_bytes: int = 64 * MiB
    max_open_files: int = 256
    tmp_bytes: int = 512 * MiB
    output_cap: int = 64 * KiB
    max_frame_bytes: int = 256 * MiB
    max_reply_bytes: int = 64 * MiB
    isolation: Isolation = "auto"
    python: str | None = None
    uid: int | None = None
    start_timeout: float = 30.0
    hidden_paths: tuple[str, ...] = ()
    read_only_paths: tuple[str, ...] = field(default=())
    spare_workers: bool = True
    preload: tuple[str, ...] = ("numpy", "scipy.sparse", "matplotlib.pyplot", "sympy")

    def __post_init__(self) -> None:
        if self.isolation not in ("auto", "bubblewrap", "reduced"):
            raise ValueError(
                f"SandboxConfig.isolation must be 'auto', 'bubblewrap' or 'reduced', "
                f"got {self.isolation!r}"
            )
        for name in ("call_timeout", "load_timeout", "submission_timeout", "start_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"SandboxConfig.{name} must be positive, got "
                                 f"{getattr(self, name)!r}")

    @property
    def memory_text(self) -> str:
        """The memory limit in words, e.g. ``"2 GiB"``."""
        return format_bytes(self.memory_bytes)


def format_bytes(n: float) -> str:
    """``2147483648 -> "2 GiB"``, ``65536 -> "64 KiB"``."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{int(n)} bytes"


@dataclass
class LaunchPlan:
    """Everything needed to start one worker process.

    ``own_fds`` are descriptors opened for the launch (e.g. the font cache passed to
    bubblewrap); the caller closes them once the process has started.
    """

    argv: list[str]
    env: dict[str, str]
    cwd: str
    limits: list[tuple[str, int, int]]
    pass_fds: tuple[int, ...]
    bubblewrap: bool
    isolation: str
    temp_dir: str | None = None
    own_fds: tuple[int, ...] = ()
    cgroup_procs: tuple[str, ...] = ()  # the sandbox's cgroup, joined before exec

    def preexec(self) -> Callable[[], None]:
        """A preexec_fn joining the sandbox's cgroup and applying the rlimits in the child
        before exec."""
        limits = [(getattr(resource, name), soft, hard) for name, soft, hard in self.limits
                  if hasattr(resource, name)]
        procs = self.cgroup_procs

        def apply() -> None:
            if procs:
                join_cgroup(procs)
            for res, soft, hard in limits:
                try:
                    resource.setrlimit(res, (soft, hard))
                except (ValueError, OSError):
                    pass  # worker_main re-applies each limit and lowers what it can

        return apply


def choose_isolation(config: SandboxConfig) -> tuple[bool, str]:
    """Decide between bubblewrap and reduced isolation.

    Returns
    -------
    use_bwrap : bool
    description : str
        ``"bubblewrap"`` or ``"reduced: <why> (rlimits, scrubbed env, temp dir)"``.

    Raises
    ------
    RuntimeError
        If ``config.isolation == "bubblewrap"`` and bubblewrap cannot be used here.
    """
    why = None
    if config.isolation == "reduced":
        why = "bubblewrap disabled by configuration"
    elif not sys.platform.startswith("linux"):
        why = f"no bubblewrap on {sys.platform}"
    elif bwrap_path() is None:
        why = "no bubblewrap"
    elif os.geteuid() != 0:
        why = "not running as root, so the worker cannot switch to a private uid"
    if why is None:
        return True, "bubblewrap"
    if config.isolation == "bubblewrap":
        raise RuntimeError(
            f"SandboxConfig(isolation='bubblewrap') but {why}; install bubblewrap "
            f"(apt-get install bubblewrap) and grade as root, or use isolation='auto'"
        )
    return False, reduced_isolation(why)


def limits_text(config: SandboxConfig) -> str:
    """Which memory and process limits hold a sandbox here (recorded with every result)."""
    return cgroup_description(config.memory_text, config.max_processes,
                              min(config.max_processes, FALLBACK_PROCESSES))


def reduced_isolation(why: str) -> str:
    return f"reduced: {why} (rlimits, scrubbed env, temp dir)"


FALLBACK_PROCESSES = 8
"""The process limit of a sandbox that no cgroup holds: RLIMIT_AS is per process, so fewer
processes keep the sandbox's memory within a few times its limit."""


def rlimits(config: SandboxConfig, *, bubblewrap: bool, whole_sandbox: bool = False
            ) -> list[tuple[str, int, int]]:
    """The (name, soft, hard) rlimits of a worker; ``whole_sandbox`` when a cgroup limits
    the sandbox as a whole (otherwise far fewer processes are allowed)."""
    cpu = config.cpu_seconds or int(config.submission_timeout) + 10
    nproc = config.max_processes if whole_sandbox else min(config.max_processes, FALLBACK_PROCESSES)
    if not bubblewrap and os.geteuid() != 0:
        # Without a private uid RLIMIT_NPROC counts all of this user's processes.
        nproc += _count_own_tasks()
    return [
        ("RLIMIT_CPU", cpu, cpu + 1),
        ("RLIMIT_AS", config.memory_bytes, config.memory_bytes),
        ("RLIMIT_NPROC", nproc, nproc),
        ("RLIMIT_FSIZE", config.max_file_bytes, config.max_file_bytes),
        ("RLIMIT_NOFILE", config.max_open_files, config.max_open_files),
        ("RLIMIT_CORE", 0, 0),
    ]


def _count_own_tasks() -> int:
    uid, n = os.getuid(), 0
    try:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if os.stat(f"/proc/{pid}").st_uid == uid:
                        n += len(os.listdir(f"/proc/{pid}/task"))
                except OSError:
                    pass
    except OSError:
        return 4096  # no /proc: stay out of the way rather than break the worker
    return n


def worker_env(home: str) -> dict[str, str]:
    """The scrubbed environment of a worker (nothing inherited from the grader)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
        "NUMBA_CACHE_DIR": os.path.join(home, ".numba"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }


def plan_launch(config: SandboxConfig, req_fd: int, resp_fd: int, *, bubblewrap: bool,
                isolation: str, cgroup_procs: tuple[str, ...] = (),
                ctl_fd: int | None = None) -> LaunchPlan:
    """Build the command line, environment and limits of one worker.

    Parameters
    ----------
    req_fd, resp_fd : int
        The worker's ends of the request (read) and response (write) pipes; they keep their
        numbers in the worker.
    bubblewrap : bool
        From `choose_isolation`.
    isolation : str
        Description recorded with every result.
    ctl_fd : int, optional
        A fork server's control socket (bubblewrap only): the worker becomes the zygote of
        `worker.forkserver`, and ``req_fd``/``resp_fd`` are where its children find the
        pipes each is given.
    """
    python = config.python or sys.executable
    limits = rlimits(config, bubblewrap=bubblewrap, whole_sandbox=bool(cgroup_procs))
    worker_cfg = {
        "req_fd": req_fd, "resp_fd": resp_fd, "limits": limits,
        "max_frame_bytes": config.max_frame_bytes,
        "uid": None, "blocked_modules": [] if bubblewrap else list(PROTECTED_PACKAGES),
        # Without bwrap the worker is the grader's direct child (bwrap's init is its parent
        # otherwise, and --die-with-parent covers that case).
        "parent_pid": None if bubblewrap else os.getpid(),
    }
    font_files = matplotlib_font_cache(python)
    if not bubblewrap:
        temp_dir = tempfile.mkdtemp(prefix="mlhw-worker-")
        env = worker_env(temp_dir)
        if font_files:
            os.makedirs(env["MPLCONFIGDIR"])
            for f in font_files:
                shutil.copy(f, env["MPLCONFIGDIR"])
        argv = [python, "-I", "-B", str(WORKER_MAIN), json.dumps(worker_cfg)]
        return LaunchPlan(argv, env, temp_dir, limits, (req_fd, resp_fd),
                          False, isolation, temp_dir, cgroup_procs=cgroup_procs)
    worker_cfg["uid"] = config.uid if config.uid is not None else random.randrange(*UID_RANGE)
    channel: tuple[int, ...] = (req_fd, resp_fd)
    if ctl_fd is not None:
        worker_cfg.update(ctl_fd=ctl_fd, preload=list(config.preload), home=SANDBOX_HOME)
        channel = (ctl_fd,)
    env = worker_env(SANDBOX_HOME)
    main_in_box = f"{SANDBOX_CODE_DIR}/{WORKER_MAIN.name}"
    font_args, font_fds = [], []
    if font_files:
        # Copied (not bound) into a writable dir: matplotlib refuses a read-only cache dir.
        font_args = ["--perms", "0777", "--dir", env["MPLCONFIGDIR"]]
        for f in font_files:
            try:
                fd = os.open(f, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            font_fds.append(fd)
            font_args += ["--perms", "0644", "--file", str(fd),
                          f"{env['MPLCONFIGDIR']}/{os.path.basename(f)}"]
    argv = bwrap_args(config, python) + font_args + [
        "--", python, "-I", "-B", main_in_box, json.dumps(worker_cfg),
    ]
    return LaunchPlan(argv, env, "/", limits, (*channel, *font_fds),
                      True, isolation, own_fds=tuple(font_fds), cgroup_procs=cgroup_procs)


_font_cache_builder: subprocess.Popen[bytes] | None = None


def matplotlib_font_cache(python: str) -> list[str]:
    """Matplotlib's font list for the worker's interpreter, if built already.

    A fresh sandbox would otherwise rebuild it (about a second) whenever a notebook imports
    matplotlib. The first call starts building it in the background, outside the sandbox,
    with the grader's own (trusted) matplotlib; workers started before it is ready simply
    build their own. Returns the files to place in the worker's MPLCONFIGDIR.
    """
    global _font_cache_builder
    try:
        from importlib.metadata import version

        mpl_version = version("matplotlib")
    except Exception:
        return []
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    tag = f"{mpl_version}-{sys.version_info.major}.{sys.version_info.minor}-{os.getuid()}"
    cache = os.path.join(base, "mlhw", f"matplotlib-{tag}")
    try:
        files = [os.path.join(cache, f) for f in os.listdir(cache)
                 if f.startswith("fontlist") and f.endswith(".json")]
    except OSError:
        files = []
    if files:
        return files
    if _font_cache_builder is None or _font_cache_builder.poll() is not None:
        if _font_cache_builder is not None and _font_cache_builder.returncode != 0:
            return []  # tried once and failed: do not keep trying
        try:
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            work = tempfile.mkdtemp(prefix="fontcache-", dir=os.path.dirname(cache))
            script = ("import os, sys, matplotlib.font_manager; "
                      "os.replace(sys.argv[1], sys.argv[2])")
            _font_cache_builder = subprocess.Popen(
                [python, "-I", "-c", script, work, cache],
                env={**worker_env(work), "MPLCONFIGDIR": work},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        except OSError:
            pass
    return []


_SIGNAL_WORDS = {
    "SIGSEGV": "a segmentation fault (SIGSEGV)",
    "SIGBUS": "a bus error (SIGBUS)",
    "SIGABRT": "an abort (SIGABRT)",
    "SIGFPE": "a floating-point exception (SIGFPE)",
    "SIGILL": "an illegal instruction (SIGILL)",
    "SIGKILL": "SIGKILL",
    "SIGTERM": "SIGTERM",
}
_MEMORY_HINTS = ("MemoryError", "Cannot allocate memory", "bad_alloc", "out of memory",
                 "OpenBLAS blas_thread_init", "failed to allocate")


def describe_exit(returncode: int | None, stderr_tail: str, *, bubblewrap: bool,
                  config: SandboxConfig) -> str:
    """Explain in words why a worker process ended.

    Parameters
    ----------
    returncode : int or None
        As from ``Popen.returncode``; under bubblewrap a child killed by signal N shows as
        128 + N.
    stderr_tail : str
        The last bytes the worker wrote to stderr (to recognise memory exhaustion).
    """
    import signal as _signal

    if returncode == EXIT_NO_MEMORY or any(h in stderr_tail for h in _MEMORY_HINTS):
        return f"it ran out of memory (limit {format_bytes(config.memory_bytes)})"
    if returncode is None:
        return "it stopped answering"
    if returncode == EXIT_BROKEN:
        return ("the worker could not go on after the code changed Python itself (e.g. "
                "rebound builtins or closed the grader's channel)")
    signo = -returncode if returncode < 0 else (
        returncode - 128 if bubblewrap and 128 < returncode < 128 + 65 else 0)
    if signo:
        try:
            name = _signal.Signals(signo).name
        except ValueError:
            name = f"signal {signo}"
        if name == "SIGXCPU":
            cpu = config.cpu_seconds or int(config.submission_timeout) + 10
            return f"it used up its CPU time limit ({cpu} s)"
        if name == "SIGXFSZ":
            return f"it wrote a file larger than {format_bytes(config.max_file_bytes)}"
        return f"it was killed by {_SIGNAL_WORDS.get(name, name)}"
    return (f"the process exited with status {returncode} (the code called "
            f"os._exit({returncode}) or something like it)")
