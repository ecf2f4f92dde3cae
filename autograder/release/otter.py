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

The helpers for public tests and support files are in ``common.py``, shared with
``nbgrader.py``.
"""

from __future__ import annotations

import copy
import shutil
import uuid
from pathlib import Path

import nbformat
import yaml
from nbformat import NotebookNode

from .common import (
    PublicTest,
    carried_test,
    check_no_leaks,
    question_runs,
    read_public_tests,
    run_tool,
    stub_for,
    support_files,
    unlock_answer_cells,
)
from .source import (
    ANSWER,
    WRITTEN_PROMPT,
    Source,
    SourceCell,
    load_source,
    model_answer,
    solution_source,
    written_question_text,
)

v4 = nbformat.v4


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
    """A manual otter question: the question text in its own cell (otter locks the first cell
    of a manual question), then the answer prompt alone in the prompt block, so the cell the
    student answers in stays editable."""
    points = source.questions.get(sc.question, {}).get("points")
    config = {
        "name": sc.question,
        "manual": True,
        **({"points": points} if points is not None else {}),
    }
    before, after = written_question_text(sc.source)
    prompt = v4.new_markdown_cell(WRITTEN_PROMPT)
    answer = v4.new_markdown_cell(model_answer(sc.source))
    question = [_copy(sc, before)] if before else []
    if not question:  # the prompt carries the cell's metadata ({"mlhw": {"written": q}})
        prompt = _copy(sc, WRITTEN_PROMPT)
    return [
        _yaml_cell("BEGIN QUESTION", config),
        *question,
        _raw("# BEGIN PROMPT"),
        prompt,
        _raw("# END PROMPT"),
        _raw("# BEGIN SOLUTION"),
        answer,
        _raw("# END SOLUTION"),
        *([v4.new_markdown_cell(after)] if after else []),
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
    master = master_dir / f"{source.name}.ipynb"
    nbformat.write(master_notebook(source, files, run_tests=run_tests), master)
    run_tool(
        ["otter", "assign", master.name, str(dist.resolve())],
        cwd=master_dir,
        what=f"otter assign {master}",
    )
    check_no_leaks(source, dist / "student", "otter assign")
    shutil.copy2(master_dir / "requirements.txt", dist / "student" / "requirements.txt")
    for notebook in (dist / "student").glob("*.ipynb"):
        unlock_answer_cells(notebook)
    return dist


def release(name: str | Source, to: str | Path) -> Path:
    """`mlhw release NAME --to DIR --format otter`: see ``release_otter``."""
    return release_otter(name if isinstance(name, Source) else load_source(name), to)
