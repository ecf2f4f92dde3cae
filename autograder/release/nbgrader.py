"""`mlhw release NAME --format nbgrader`: the assignment in an nbgrader course directory.

Writes ``out_dir/<name>/`` as a small nbgrader course (``nbgrader_config.py``,
``source/<name>/<name>.ipynb`` with nbgrader cell metadata and the support files), runs
``nbgrader generate_assignment <name> --force`` there and returns ``release/<name>/``. An
instructor can use that directory as is or copy ``source/<name>`` into their own course.

- Code cells with solution regions become solution cells (``### BEGIN SOLUTION`` /
  ``### END SOLUTION``); a ``x = v  # SOLUTION`` line becomes a one-line region.
- Each public test becomes a locked autograded test cell carrying the test's code; the
  question's points are split over them. The hidden suite stays with mlhw.
- Written answers become manually graded answer cells (``grade`` and ``solution``).

nbgrader puts one configured stub in every region; mlhw's stubs name the function
(``raise NotImplementedError("f")``) or keep the notebook runnable (``x = ...  # YOUR
ANSWER``), so the released notebook's stub lines are replaced by mlhw's, region by region.
These cells are ungraded and unlocked, so nbgrader never compares them with the gradebook's
copy; their checksum is recomputed all the same.
"""

from __future__ import annotations

import copy
import re
import shutil
import uuid
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .common import (
    PublicTest,
    ReleaseError,
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
    WRITTEN_BEGIN,
    WRITTEN_END,
    WRITTEN_PROMPT,
    Source,
    SourceCell,
    load_source,
    model_answer,
    solution_source,
)

v4 = nbformat.v4

STUB_SENTINEL = "raise NotImplementedError()  # YOUR CODE HERE"
COURSE_ID = "mlhw"
NBGRADER_TIMEOUT = 600

CONFIG = f"""\
# Written by `mlhw release --format nbgrader`.
c = get_config()
c.CourseDirectory.course_id = {COURSE_ID!r}
c.ClearSolutions.code_stub = {{"python": {STUB_SENTINEL!r}}}
c.ClearSolutions.text_stub = {WRITTEN_PROMPT!r}
"""


def _meta(
    grade_id: str, *, solution: bool, grade: bool, points: float | None = None, locked: bool = False
) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _cell(sc: SourceCell, source: str | None = None, **metadata) -> NotebookNode:
    cell = copy.deepcopy(sc.cell)
    cell["id"] = uuid.uuid4().hex[:8]
    if source is not None:
        cell.source = source
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    cell.metadata.update(copy.deepcopy(metadata))
    return cell


def solution_code(sc: SourceCell) -> tuple[str, list[str]]:
    """(nbgrader source text, mlhw's stub for each region in order) of a code cell."""
    lines = sc.source.split("\n")
    begins = {r.begin: r for r in sc.regions}
    ends = {r.end for r in sc.regions}
    out, stubs = [], []
    for i, line in enumerate(lines):
        if i in begins:
            r = begins[i]
            out.append(f"{r.indent}### BEGIN SOLUTION")
            stubs.append(stub_for(sc, "region", line, r.function))
        elif i in ends:
            out.append(f"{line[: len(line) - len(line.lstrip())]}### END SOLUTION")
        elif (
            line.rstrip().endswith("# SOLUTION")
            and ANSWER.match(line)
            and not any(r.begin < i < r.end for r in sc.regions)
        ):
            indent = ANSWER.match(line).group("indent")
            out += [
                f"{indent}### BEGIN SOLUTION",
                solution_source(line).rstrip(),
                f"{indent}### END SOLUTION",
            ]
            stubs.append(stub_for(sc, "answer", line, None))
        else:
            out.append(line)
    return "\n".join(out), stubs


def _split(points: float | None, n: int) -> list[float]:
    """``points`` over ``n`` tests (2 decimals; the last one takes the rounding)."""
    total = float(points if points is not None else n)
    each = round(total / n, 2)
    return [each] * (n - 1) + [round(total - each * (n - 1), 2)]


def _test_cell(qid: str, test: PublicTest, prelude: str, points: float) -> NotebookNode:
    code = carried_test(test, prelude, outer="def _mlhw_public_test()", namespace="globals()")
    text = (
        f"# Public test of {qid} (mlhw): {test.name}\n{code}\n"
        "_mlhw_public_test()\ndel _mlhw_public_test"
    )
    return v4.new_code_cell(
        text,
        metadata=_meta(
            f"{qid}-{test.name}", solution=False, grade=True, points=points, locked=True
        ),
    )


def _written_cells(source: Source, sc: SourceCell) -> list[NotebookNode]:
    """The question text (before/after the model answer) as plain Markdown cells, and the
    answer alone in a manually graded answer cell, so students edit only their answer."""
    text = sc.source
    before, after = "", ""
    if WRITTEN_BEGIN in text:
        before, rest = text.split(WRITTEN_BEGIN, 1)
        after = rest.split(WRITTEN_END, 1)[1]
    points = float(source.questions.get(sc.question, {}).get("points", 1))
    body = f"<!-- BEGIN SOLUTION -->\n{model_answer(text)}\n<!-- END SOLUTION -->"
    meta = _meta(f"{sc.question}-answer", solution=True, grade=True, points=points)
    cells = [_cell(sc, body, **meta)]
    if before.strip():
        cells.insert(0, v4.new_markdown_cell(before.strip("\n")))
    if after.strip():
        cells.append(v4.new_markdown_cell(after.strip("\n")))
    return cells


def source_notebook(source: Source) -> tuple[NotebookNode, dict[str, list[str]]]:
    """nbgrader's source notebook of ``source`` and mlhw's stubs by solution cell grade_id."""
    prelude, tests = read_public_tests(source.public_tests)
    cells: list[NotebookNode] = []
    stubs: dict[str, list[str]] = {}
    for _kind, run in question_runs(source):
        for sc in run:
            if sc.kind == "written":
                cells += _written_cells(source, sc)
            elif sc.kind == "check":
                carried = tests.get(sc.question, [])
                points = source.questions.get(sc.question, {}).get("points")
                for test, p in zip(carried, _split(points, len(carried)) if carried else []):
                    cells.append(_test_cell(sc.question, test, prelude, p))
            elif sc.cell.cell_type == "code" and (sc.regions or sc.answers):
                grade_id = f"{sc.question or 'cell'}-cell{sc.index + 1}"
                text, stubs[grade_id] = solution_code(sc)
                cells.append(_cell(sc, text, **_meta(grade_id, solution=True, grade=False)))
            else:
                cells.append(_cell(sc))
    nb = v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.notebook.metadata))
    nb.metadata.setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"}
    )
    return nb, stubs


def _restore_stubs(path: Path, stubs: dict[str, list[str]]) -> None:
    """Replace nbgrader's stub lines in the released notebook by mlhw's, in order."""
    from nbgrader.utils import compute_checksum

    nb = nbformat.read(path, as_version=4)
    sentinel = re.compile(rf"^(?P<indent>[ \t]*){re.escape(STUB_SENTINEL)}$")
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or grade_id not in stubs:
            continue
        queue = list(stubs[grade_id])
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            m = sentinel.match(line)
            if m and queue:
                lines[i] = m.group("indent") + queue.pop(0)
        if queue:
            raise RuntimeError(
                f"{path.name}, cell {grade_id}: nbgrader left fewer stubs "
                "than the source has solution regions"
            )
        cell.source = "\n".join(lines)
        cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
    nbformat.write(nb, path)


def release_nbgrader(source: Source, out_dir: str | Path) -> Path:
    """Write the course directory ``out_dir/<name>/``, run ``nbgrader generate_assignment``
    and return ``out_dir/<name>/release/<name>/`` (the student version)."""
    course = Path(out_dir).resolve() / source.name
    config = course / "nbgrader_config.py"
    if config.is_file() and not config.read_text().startswith(CONFIG.splitlines()[0]):
        raise ReleaseError(
            f"{course} is an nbgrader course mlhw did not write; release into another "
            f"--to and copy source/{source.name} into your course"
        )
    course.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG)
    src = course / "source" / source.name
    if src.exists():
        shutil.rmtree(src)
    support_files(source, src)
    nb, stubs = source_notebook(source)
    nbformat.write(nb, src / f"{source.name}.ipynb")
    run_tool(
        ["nbgrader", "generate_assignment", source.name, "--force"],
        cwd=course,
        what=f"nbgrader generate_assignment {source.name}",
        timeout=NBGRADER_TIMEOUT,
    )
    release = course / "release" / source.name
    _restore_stubs(release / f"{source.name}.ipynb", stubs)
    check_no_leaks(source, release, "nbgrader generate_assignment")
    unlock_answer_cells(release / f"{source.name}.ipynb")
    return release


def release(name: str | Source, to: str | Path) -> Path:
    """`mlhw release NAME --to DIR --format nbgrader`: see ``release_nbgrader``."""
    return release_nbgrader(name if isinstance(name, Source) else load_source(name), to)
