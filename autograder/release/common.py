"""What every release format shares: the ``mlhw_check`` package and the support files beside
a notebook, the public tests read as source, the leak check of a finished bundle, and running
an external tool (otter, nbgrader).

Each format is a module of this package with one entry point, ``release(name, to) -> Path``.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .source import ANSWER, REPO, WRITTEN_PROMPT, Source, SourceCell, solution_lines

TOOL_TIMEOUT = 900  # seconds; otter assign executes the solution notebook once
AUTOGRADER = REPO / "autograder"
SUITES = AUTOGRADER / "suites"


TRIVIAL_LINE = re.compile(r"^(break|continue|pass|return|else:|try:|finally:|[)\]}]+[,:]?)$")


class ReleaseError(RuntimeError):
    """The bundle could not be written, or would reveal a solution or hidden test."""


def copy_mlhw_check(dest: Path) -> Path:
    """Write the ``mlhw_check`` package (runner, checks library, errors) into ``dest``."""
    pkg = dest / "mlhw_check"
    pkg.mkdir(parents=True, exist_ok=True)
    for f in (AUTOGRADER / "mlhw_check").glob("*.py"):
        shutil.copy2(f, pkg / f.name)
    shutil.copy2(AUTOGRADER / "errors.py", pkg / "errors.py")
    checks = AUTOGRADER / "checks"
    for f in checks.rglob("*.py"):  # subpackages too (checks/symbolic/)
        (pkg / "checks" / f.relative_to(checks)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, pkg / "checks" / f.relative_to(checks))
    return pkg


def hidden_test_names(name: str) -> set[str]:
    """Names of the hidden suite's test functions (``def test_...``) for assignment ``name``."""
    found: set[str] = set()
    for path in (SUITES / name).glob("*.py"):
        found |= set(re.findall(r"^\s*def\s+(test_\w+)", path.read_text(), re.MULTILINE))
    return found


def bundle_texts(folder: Path) -> dict[Path, str]:
    """Every text file of a bundle (caches excluded)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            try:
                out[path] = path.read_text()
            except UnicodeDecodeError:
                continue
    return out


def find_leaks(folder: Path, lines: Iterable[str], names: Iterable[str]) -> list[str]:
    """``"<file>: <leak>"`` for each solution line found as a line of a bundle file (notebook
    cells are read as their source lines) and each hidden test name found anywhere; also any
    import of the reference package ``mlhw_ref``."""
    import json

    # a line that is one bare keyword or bracket ("break", "else:", ")") reveals nothing and
    # occurs in any Python file (the checks library copied into mlhw_check/ included)
    lines = {ln for ln in lines if not TRIVIAL_LINE.match(ln)}
    names = set(names)
    leaks = []
    for path, text in bundle_texts(folder).items():
        rel = path.relative_to(folder)
        body = text
        if path.suffix == ".ipynb":
            cells = json.loads(text).get("cells", [])
            body = "\n".join("".join(c.get("source", "")) for c in cells)
        stripped = {ln.strip() for ln in body.splitlines()}
        leaks += [f"{rel}: solution line {ln!r}" for ln in sorted(lines & stripped)]
        leaks += [f"{rel}: hidden test name {n!r}" for n in sorted(names) if n in body]
        if re.search(r"^\s*(import|from)\s+mlhw_ref\b", body, re.MULTILINE):
            leaks.append(f"{rel}: imports mlhw_ref")
    return leaks


class ReleaseToolError(ReleaseError):
    """An external tool (otter, nbgrader) failed; the message carries its output."""


@dataclass(frozen=True)
class PublicTest:
    """One ``@question(q)`` function of public_tests.py, as source text."""

    name: str
    question: str
    code: str  # the ``def`` without its decorator


def _question_of(node: ast.FunctionDef) -> str | None:
    for dec in node.decorator_list:
        if (
            isinstance(dec, ast.Call)
            and getattr(dec.func, "id", getattr(dec.func, "attr", "")) == "question"
            and dec.args
            and isinstance(dec.args[0], ast.Constant)
        ):
            return str(dec.args[0].value)
    return None


def read_public_tests(path: Path) -> tuple[str, dict[str, list[PublicTest]]]:
    """(prelude, tests by question) of a public_tests.py, read without running it.

    The prelude is every module-level statement that is not a test (imports, constants,
    helpers), minus the import of ``question``; each carried test re-runs it in its own scope
    so that nothing leaks into the student's namespace.
    """
    if not path.is_file():
        return "", {}
    text = path.read_text()
    lines = text.split("\n")
    prelude: list[str] = []
    tests: dict[str, list[PublicTest]] = {}
    for node in ast.parse(text).body:
        segment = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        if isinstance(node, ast.FunctionDef) and _question_of(node):
            qid = _question_of(node)
            tests.setdefault(qid, []).append(PublicTest(node.name, qid, segment))
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "mlhw_check":
            names = [a for a in node.names if a.name != "question"]
            if not names:
                continue
            node = ast.ImportFrom(module="mlhw_check", names=names, level=0)
            segment = ast.unparse(node)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.decorator_list:
            segment = "\n".join(lines[node.decorator_list[0].lineno - 1 : node.end_lineno])
        if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
            continue  # the module docstring
        prelude.append(segment)
    return "\n".join(prelude), tests


def carried_test(test: PublicTest, prelude: str, *, outer: str, namespace: str) -> str:
    """A self-contained function ``outer`` that runs ``test`` against ``namespace`` (an
    expression evaluating to the notebook's globals) through mlhw_check's ``Student``."""
    body = "\n\n".join(
        part
        for part in (
            "from mlhw_check import Student",
            prelude.strip(),
            test.code.strip(),
            f"{test.name}(Student({namespace}))",
        )
        if part
    )
    return f"{outer}:\n{textwrap.indent(body, '    ')}\n"


def stub_for(sc: SourceCell, kind: str, line: str, function: str | None) -> str:
    """mlhw's stub for a region (kind "region") or a ``# SOLUTION`` line (kind "answer")."""
    if kind == "region":
        return f'raise NotImplementedError("{function or sc.question or "solution"}")'
    return f"{ANSWER.match(line).group('target').strip()} = ...  # YOUR ANSWER"


def support_files(source: Source, dest: Path) -> list[str]:
    """Copy what the notebook needs beside it (public_tests.py, mlhw_check/, data files)
    into ``dest`` and write its requirements.txt; returns the copied names relative to
    ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    write_requirements(source, dest)  # not in the names: otter names it on its own
    names = [copy_mlhw_check(dest).name]
    if source.public_tests.is_file():
        shutil.copy2(source.public_tests, dest / source.public_tests.name)
        names.append(source.public_tests.name)
    for rel in source.data_files:
        src = REPO / rel
        if not src.exists():
            raise ReleaseError(f"data file {rel} (listed in assignment.toml) does not exist")
        target = dest / Path(rel).name
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)
        names.append(target.name)
    return names


def tool_env() -> dict[str, str]:
    """The environment for otter/nbgrader: this interpreter's bin first on PATH (nbgrader
    shells out to ``alembic``, otter to ``jupyter``)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_tool(argv: list[str], cwd: Path, what: str, timeout: float = TOOL_TIMEOUT) -> str:
    """Run otter or nbgrader (from this interpreter's bin) in ``cwd``; its output, or
    `ReleaseToolError` with the output when it fails."""
    bindir = Path(sys.executable).parent
    exe = bindir / argv[0]
    if not exe.exists():
        raise ReleaseToolError(
            f"{argv[0]} is not installed next to {sys.executable}; "
            f"pip install otter-grader==7.0.0 nbgrader==0.9.6"
        )
    proc = subprocess.run(  # noqa: PLW1510 (the exit code is checked below)
        [str(exe), *argv[1:]],
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise ReleaseToolError(
            f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc.stdout + proc.stderr


def check_no_leaks(source: Source, student_dir: Path, tool: str) -> None:
    """Refuse a student folder a tool wrote if it holds any solution line or hidden test name."""
    leaks = find_leaks(student_dir, solution_lines(source), hidden_test_names(source.name))
    if leaks:
        shutil.rmtree(student_dir)
        raise ReleaseError(
            f"{tool}'s student version would reveal solutions; removed "
            f"{student_dir}:\n  " + "\n  ".join(leaks)
        )


def question_runs(source: Source) -> list[tuple[str, list[SourceCell]]]:
    """Split the cells (instructor cells dropped) into question blocks and loose cells.

    Returns (kind, cells) pairs: ``("code", run)`` is a run of cells of one question ending at
    its check cell, ``("written", [cell])`` a written answer, ``("loose", [cell])`` anything
    else (title, set-up, cells after the last check).
    """
    cells = [sc for sc in source.cells if sc.kind != "instructor"]
    out: list[tuple[str, list[SourceCell]]] = []
    i = 0
    while i < len(cells):
        sc = cells[i]
        if sc.kind == "written":
            out.append(("written", [sc]))
            i += 1
            continue
        j = i
        while (
            sc.question
            and j < len(cells)
            and cells[j].question == sc.question
            and cells[j].kind not in ("written", "setup", "check")
        ):
            j += 1
        if (
            sc.question
            and sc.kind != "setup"
            and j < len(cells)
            and cells[j].kind == "check"
            and cells[j].question == sc.question
        ):
            out.append(("code", cells[i : j + 1]))
            i = j + 1
            continue
        out.append(("loose", [sc]))
        i += 1
    return out


def unlock_answer_cells(path: Path) -> None:
    """Make the written-answer cells of the notebook at ``path`` editable and deletable (a
    tool may lock them): every cell with mlhw's ``written`` metadata or the answer prompt."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if (meta.get("mlhw") or {}).get("written") or WRITTEN_PROMPT in cell.get("source", ""):
            for key in ("editable", "deletable"):
                if meta.get(key) is False:
                    del meta[key]
                    changed = True
    if changed:
        nbformat.write(nb, path)


# What a student bundle's requirements.txt may name: the import name, the distribution and
# its lower bound (those of pyproject.toml; the checks library itself needs numpy and sympy).
DISTRIBUTIONS = {
    "numpy": "numpy>=2.0",
    "scipy": "scipy>=1.11",
    "sympy": "sympy>=1.12",
    "matplotlib": "matplotlib>=3.8",
    "lda": "lda>=3.0.2",
    "sklearn": "scikit-learn>=1.4",
    "pandas": "pandas>=2.0",
}
CHECKS_NEED = ("numpy", "sympy")
STATISTICS_CHECKS = re.compile(
    r"\b(assert_std_close|assert_mean_close|assert_normal|assert_variance_ratio_in|"
    r"samples_needed_for_std)\b"
)


def imported_modules(source: Source) -> set[str]:
    """Top-level modules imported by the notebook's code cells and its public tests."""
    texts = [sc.source for sc in source.cells if sc.cell.cell_type == "code"]
    if source.public_tests.is_file():
        texts.append(source.public_tests.read_text())
    found: set[str] = set()
    for text in texts:
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:  # a stub the student completes; read its imports line by line
            found |= set(re.findall(r"^\s*(?:import|from)\s+(\w+)", text, re.MULTILINE))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def requirements(source: Source) -> list[str]:
    """The pip requirements of the student notebook of ``source``: what it and the checks
    import, outside the standard library and the bundle itself (mlhw_check).

    An import this table does not know is an error: a student would meet it as a
    ModuleNotFoundError."""
    modules = (imported_modules(source) | set(CHECKS_NEED)) - set(sys.stdlib_module_names)
    tests = source.public_tests.read_text() if source.public_tests.is_file() else ""
    if STATISTICS_CHECKS.search(tests):
        modules.add("scipy")  # checks/statistics.py draws its quantiles from scipy.stats
    modules -= {"mlhw_check", "public_tests"}
    unknown = sorted(m for m in modules if m not in DISTRIBUTIONS)
    if unknown:
        raise ReleaseError(
            f"{source.name}'s notebook imports {', '.join(unknown)}, which release/common.py's "
            "DISTRIBUTIONS does not map to a pip package; add it there"
        )
    return sorted(DISTRIBUTIONS[m] for m in modules)


def write_requirements(source: Source, dest: Path) -> Path:
    """Write ``dest/requirements.txt`` for the notebook of ``source``."""
    path = dest / "requirements.txt"
    path.write_text("\n".join(requirements(source)) + "\n")
    return path
