"""`mlhw release NAME --format otter`: the assignment as an otter-grader "assign" notebook.

The source notebook becomes otter-grader 7's master format (a ``# ASSIGNMENT CONFIG`` cell,
``# BEGIN QUESTION`` ... ``# END QUESTION`` blocks with solution and test blocks), then
``otter assign`` writes ``dist/student`` (the student notebook) and ``dist/autograder``
(otter's autograder zip). Only the public tests are carried: the hidden suite stays with mlhw.

Each solution region becomes ``# BEGIN SOLUTION NO PROMPT`` plus an otter prompt block (a
string literal opened on a ``# BEGIN PROMPT`` line and closed on an ``# END PROMPT`` line;
otter drops both lines from the student version) holding mlhw's stub, so the student notebook
has the same stubs as the plain release (``raise NotImplementedError("f")``, ``x = ...  # YOUR
ANSWER``) rather than otter's bare ``...``. Experiment cells are tagged ``otter_ignore``;
mlhw's ``check("qN")`` cells give way to otter's ``grader.check("qN")``.

The helpers for public tests and support files are shared with ``nbgrader.py``.
"""

from __future__ import annotations

import ast
import copy
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from nbformat import NotebookNode

from .plain import ReleaseError, copy_mlhw_check, find_leaks, hidden_test_names
from .source import (
    ANSWER,
    REPO,
    Source,
    SourceCell,
    load_source,
    solution_lines,
    solution_source,
    solution_written,
    student_written,
)

v4 = nbformat.v4

OTTER_TIMEOUT = 900  # seconds; otter assign executes the solution notebook once


class ReleaseToolError(ReleaseError):
    """An external tool (otter, nbgrader) failed; the message carries its output."""


# --------------------------------------------------------------------------- shared helpers
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
    into ``dest``; returns their names relative to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
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


def run_tool(argv: list[str], cwd: Path, what: str, timeout: float = OTTER_TIMEOUT) -> str:
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


# --------------------------------------------------------------------------- otter format
def _raw(text: str) -> NotebookNode:
    return v4.new_raw_cell(text)


def _yaml_cell(header: str, config: dict) -> NotebookNode:
    return _raw(f"# {header}\n" + yaml.safe_dump(config, sort_keys=False).rstrip())


def _copy(sc: SourceCell, source: str | None = None) -> NotebookNode:
    cell = copy.deepcopy(sc.cell)
    cell["id"] = uuid.uuid4().hex[:8]  # a written answer is copied twice (prompt and answer)
    if source is not None:
        cell.source = source
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    if sc.kind == "experiment":  # kept for students, skipped when otter grades
        tags = cell.metadata.setdefault("tags", [])
        tags.append("otter_ignore")
    return cell


def master_code(sc: SourceCell) -> str:
    """A code cell's text in otter's solution syntax with mlhw's stubs as prompts."""
    lines = sc.source.split("\n")
    begins = {r.begin: r for r in sc.regions}
    ends = {r.end: r for r in sc.regions}
    out: list[str] = []
    for i, line in enumerate(lines):
        if i in begins:
            out.append(f"{begins[i].indent}# BEGIN SOLUTION NO PROMPT")
        elif i in ends:
            r = ends[i]
            out += [
                f"{r.indent}# END SOLUTION",
                f'{r.indent}""" # BEGIN PROMPT',
                f"{r.indent}{stub_for(sc, 'region', line, r.function)}",
                f'{r.indent}"""; # END PROMPT',
            ]
        elif (
            line.rstrip().endswith("# SOLUTION")
            and ANSWER.match(line)
            and not any(r.begin < i < r.end for r in sc.regions)
        ):
            indent = ANSWER.match(line).group("indent")
            out += [
                f"{solution_source(line)}  # SOLUTION NO PROMPT",
                f'{indent}""" # BEGIN PROMPT',
                f"{indent}{stub_for(sc, 'answer', line, None)}",
                f'{indent}"""; # END PROMPT',
            ]
        else:
            out.append(line)
    return "\n".join(out)


def _code_question(
    source: Source, qid: str, run: list[SourceCell], prelude: str, tests: list[PublicTest]
) -> list[NotebookNode]:
    points = source.questions.get(qid, {}).get("points")
    config = {"name": qid, **({"points": points} if points is not None else {})}
    cells = [_yaml_cell("BEGIN QUESTION", config)]
    in_solution = False
    for sc in run:
        if sc.kind == "check":
            continue
        has_solution = bool(sc.regions or sc.answers)
        if has_solution != in_solution:
            cells.append(_raw("# BEGIN SOLUTION" if has_solution else "# END SOLUTION"))
            in_solution = has_solution
        cells.append(_copy(sc, master_code(sc) if has_solution else None))
    if in_solution:
        cells.append(_raw("# END SOLUTION"))
    if tests:
        cells.append(_raw("# BEGIN TESTS"))
        for t in tests:
            cells.append(
                v4.new_code_cell(
                    carried_test(t, prelude, outer=f"def {t.name}(env)", namespace="env").rstrip()
                )
            )
        cells.append(_raw("# END TESTS"))
    cells.append(_raw("# END QUESTION"))
    return cells


def _written_question(source: Source, sc: SourceCell) -> list[NotebookNode]:
    points = source.questions.get(sc.question, {}).get("points")
    config = {
        "name": sc.question,
        "manual": True,
        **({"points": points} if points is not None else {}),
    }
    prompt = _copy(sc, student_written(sc.source))
    answer = _copy(sc, solution_written(sc.source))
    return [
        _yaml_cell("BEGIN QUESTION", config),
        _raw("# BEGIN PROMPT"),
        prompt,
        _raw("# END PROMPT"),
        _raw("# BEGIN SOLUTION"),
        answer,
        _raw("# END SOLUTION"),
        _raw("# END QUESTION"),
    ]


def master_notebook(source: Source, files: list[str], *, run_tests: bool = True) -> NotebookNode:
    """The otter assign master notebook of ``source`` (``files``: support files beside it)."""
    prelude, tests = read_public_tests(source.public_tests)
    config = {
        "name": source.name,
        "requirements": "requirements.txt",
        "files": files,
        "init_cell": True,
        "check_all_cell": False,
        # no PDF: it needs LaTeX, and mlhw grades written answers from the notebook itself
        "export_cell": {"pdf": False, "run_tests": False},
        "generate": {"pdf": False, "show_stdout": True},
        "tests": {"files": False, "ok_format": False},
        "run_tests": run_tests,
        # safety net: strip solution markers in every code cell, even outside a question
        "strip_solutions_from_all_cells": True,
    }
    cells = [_yaml_cell("ASSIGNMENT CONFIG", config)]
    for kind, run in question_runs(source):
        if kind == "code":
            qid = run[-1].question
            cells += _code_question(source, qid, run, prelude, tests.get(qid, []))
        elif kind == "written":
            cells += _written_question(source, run[0])
        elif run[0].kind != "check":
            cells.append(_copy(run[0]))
    nb = v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.notebook.metadata))
    nb.metadata.setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"}
    )
    return nb


REQUIREMENTS = "numpy>=2\nsympy\nmatplotlib\n"


def release_otter(source: Source, out_dir: str | Path, *, run_tests: bool = True) -> Path:
    """Write ``out_dir/<name>/master/<name>.ipynb`` (otter's format), run ``otter assign`` into
    ``out_dir/<name>/dist`` and return that directory (``student/``, ``autograder/``).

    ``run_tests``: let otter assign grade the solution notebook against the public tests
    (slower; a failure raises ReleaseToolError).
    """
    root = Path(out_dir) / source.name
    master_dir, dist = root / "master", root / "dist"
    for d in (master_dir, dist):
        if d.exists():
            shutil.rmtree(d)
    files = support_files(source, master_dir)
    (master_dir / "requirements.txt").write_text(REQUIREMENTS)
    master = master_dir / f"{source.name}.ipynb"
    nbformat.write(master_notebook(source, files, run_tests=run_tests), master)
    run_tool(
        ["otter", "assign", master.name, str(dist.resolve())],
        cwd=master_dir,
        what=f"otter assign {master}",
    )
    check_no_leaks(source, dist / "student", "otter assign")
    return dist


def release(name: str | Source, to: str | Path) -> Path:
    """`mlhw release NAME --to DIR --format otter`: see ``release_otter``."""
    return release_otter(name if isinstance(name, Source) else load_source(name), to)
