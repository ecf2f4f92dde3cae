"""The trust boundary in the tree: what runs in the sandbox and what ships to students
imports only what it may."""

import ast
import sys
from pathlib import Path

import autograder

AUTOGRADER = Path(autograder.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (anywhere in it), relative imports as ``.name``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_sandboxed_code_imports_only_the_standard_library_and_numpy() -> None:
    files = sorted((AUTOGRADER / "sandboxed").glob("*.py"))
    assert {f.name for f in files} >= {"worker_main.py", "protocol.py"}
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    for path in files:
        for module in imported_modules(path):
            assert module.split(".")[0] in allowed, f"{path.name} imports {module}"


def test_the_sandbox_sees_the_sandboxed_folder() -> None:
    from autograder.bubblewrap import SANDBOX_CODE_DIR, bwrap_args
    from autograder.sandbox import SandboxConfig

    args = bwrap_args(SandboxConfig(), sys.executable)
    binds = {args[i + 2]: args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"}
    for path in (AUTOGRADER / "sandboxed").glob("*.py"):
        assert binds[f"{SANDBOX_CODE_DIR}/{path.name}"] == str(path)


def test_checks_import_nothing_from_the_grader_but_errors() -> None:
    """checks/ is copied into every student bundle as mlhw_check/checks/, beside errors.py."""
    for path in sorted((AUTOGRADER / "checks").rglob("*.py")):
        depth = len(path.relative_to(AUTOGRADER / "checks").parts)  # 1 for checks/x.py
        for module in imported_modules(path):
            dots = len(module) - len(module.lstrip("."))
            assert not module.startswith("autograder"), f"{path.name} imports {module}"
            if dots > depth:  # leaves checks/: only errors, beside it in the bundle
                assert module[dots:] == "errors", f"{path.name} imports {module}"


def test_mlhw_check_imports_only_its_bundle_and_the_standard_library() -> None:
    """mlhw_check/ ships with copies of errors.py and checks/ beside it (``.errors``,
    ``.checks``); in the repository they are one level up (``..errors``, ``..checks``)."""
    bundle = {".", ".errors", "..errors", ".checks", "..checks"}  # "." : mlhw_check itself
    allowed = set(sys.stdlib_module_names) | {"numpy"} | bundle
    for path in sorted((AUTOGRADER / "mlhw_check").glob("*.py")):
        for module in imported_modules(path):
            assert module in allowed or module.split(".")[0] in allowed, (
                f"{path.name} imports {module}"
            )
