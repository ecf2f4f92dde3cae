"""The bubblewrap command line of a worker: what the sandbox's file system holds (``/usr``,
a few ``/etc`` files, the Python installation, the ``sandboxed/`` code at ``/opt/mlhw``, a
private ``/tmp``) and what is masked inside it (the grader, the reference, the solutions)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograder.sandbox import SandboxConfig

HERE = Path(__file__).resolve().parent
SANDBOXED = HERE / "sandboxed"  # the code that runs inside the sandbox, bound as SANDBOX_CODE_DIR
WORKER_MAIN = SANDBOXED / "worker_main.py"
SANDBOX_CODE_DIR = "/opt/mlhw"
SANDBOX_HOME = "/tmp"

ETC_FILES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "passwd", "group",
    "localtime", "alternatives", "os-release", "mime.types",
)
ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
PROTECTED_PACKAGES = ("autograder", "mlhw_ref")


def bwrap_path() -> str | None:
    """The bubblewrap binary, if installed."""
    return shutil.which("bwrap") or (
        "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None
    )


def bwrap_args(config: SandboxConfig, python: str) -> list[str]:
    """The bubblewrap options (everything before ``--``)."""
    args = [
        bwrap_path() or "bwrap",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session",
        "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
        "--hostname", "sandbox",
        "--ro-bind", "/usr", "/usr",
    ]
    for name in ROOT_LINKS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(config.tmp_bytes), "--tmpfs", "/tmp"]
    made: set[str] = {"/", "/usr", "/tmp", "/etc", "/proc", "/dev"}
    sources = python_roots(python) + [
        os.path.realpath(p) for p in config.read_only_paths if os.path.exists(p)
    ]
    bound: list[str] = []
    for src in sources:
        if any(_inside(src, b) for b in bound + ["/usr"]):
            continue
        args += _parents(src, made)
        args += ["--ro-bind", src, src]
        made.add(src)
        bound.append(src)
    for hidden in protected_paths(config):
        if any(_inside(hidden, b) for b in bound):
            args += (["--tmpfs", hidden] if os.path.isdir(hidden)
                     else ["--ro-bind", "/dev/null", hidden])
    args += _parents(SANDBOX_CODE_DIR + "/x", made)
    for path in sorted(SANDBOXED.glob("*.py")):  # the folder's code, without its __pycache__
        args += ["--ro-bind", str(path), f"{SANDBOX_CODE_DIR}/{path.name}"]
    args += ["--chdir", SANDBOX_HOME]
    return args


def python_roots(python: str) -> list[str]:
    """Directories holding the interpreter, its standard library and the environment's
    site-packages, symlinks resolved (e.g. a venv and the pyenv installation it points to)."""
    roots = []
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.dirname(os.path.realpath(python))),
                  os.path.dirname(os.path.dirname(os.path.abspath(python)))]
    for c in candidates:
        real = os.path.realpath(c)
        if real not in roots and real != "/":
            roots.append(real)
    roots.sort(key=len)
    return roots


def protected_paths(config: SandboxConfig) -> list[str]:
    """Where the grader's own code, the reference, the solutions and the suites live."""
    paths = []
    for name in PROTECTED_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            for loc in list(spec.submodule_search_locations or []) or [spec.origin]:
                if loc:
                    paths.append(os.path.realpath(loc))
    repo = HERE.parent
    for extra in ("solutions", "mlhw_ref", "autograder"):
        paths.append(str(repo / extra))
    paths += [os.path.realpath(p) for p in config.hidden_paths]
    return [p for i, p in enumerate(paths) if p not in paths[:i] and os.path.exists(p)]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _parents(path: str, made: set[str]) -> list[str]:
    """``--dir`` options (mode 0755) for the missing parents of ``path``: bwrap would
    otherwise create them 0700 and the unprivileged uid could not traverse them."""
    args = []
    parts = Path(path).parent.parts
    for i in range(2, len(parts) + 1):
        p = str(Path(*parts[:i]))
        if p not in made:
            args += ["--perms", "0755", "--dir", p]
            made.add(p)
    return args
