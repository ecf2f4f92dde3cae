"""`mlhw release --format otter`, and otter submissions (export zips) handed to `mlhw grade`.

The slow tests run the real tool (otter-grader 7.0.0, no Docker: otter assign and otter run) on
every assignment. Measured for deep_chain on the shared 2-core machine: otter assign 13-45 s (it
also grades the solution notebook), executing the student notebook 6-22 s, otter run plus
grader.export() 15-46 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.release.common import unlock_answer_cells
from autograder.release.otter import master_code, master_notebook, read_public_tests
from autograder.release.source import (
    WRITTEN_PROMPT,
    fill_with_solutions,
    load_source,
    solution_lines,
)
from autograder.runner import available_assignments
from autograder.submission import load_submission, resolve_submission

TINY = Path(__file__).parent / "fixtures" / "tiny"
BIN = Path(sys.executable).parent


def _raw_texts(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "raw"]


# --------------------------------------------------------------------------- master notebook
def test_master_notebook_has_otter_blocks_for_every_question():
    source = load_source(TINY)
    nb = master_notebook(source, ["mlhw_check", "public_tests.py"])
    raws = _raw_texts(nb)
    assert raws[0].startswith("# ASSIGNMENT CONFIG")
    assert "name: tiny" in raws[0] and "ok_format: false" in raws[0]
    assert "# BEGIN QUESTION\nname: q1\npoints: 4" in raws
    assert "# BEGIN QUESTION\nname: q2\npoints: 2" in raws
    assert "# BEGIN QUESTION\nname: q3\nmanual: true\npoints: 1" in raws
    assert sum(r.startswith("# BEGIN QUESTION") for r in raws) == raws.count("# END QUESTION") == 3
    assert raws.count("# BEGIN TESTS") == 2  # q1 and q2 have public tests; q3 is manual
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not any('check("q' in c for c in code), "mlhw check cells give way to otter's"
    assert not any("instructor-only" in c for c in code)
    experiment = next(c for c in nb.cells if "experiment" in c.metadata.get("tags", []))
    assert "otter_ignore" in experiment.metadata.tags


def test_written_question_text_and_answer_prompt_are_separate_cells():
    source = load_source(TINY)
    nb = master_notebook(source, ["mlhw_check", "public_tests.py"])
    texts = [c.source for c in nb.cells]
    start = texts.index("# BEGIN QUESTION\nname: q3\nmanual: true\npoints: 1")
    block = texts[start : texts.index("# END QUESTION", start)]
    prompt = block[block.index("# BEGIN PROMPT") + 1]
    assert prompt == WRITTEN_PROMPT  # otter locks a manual question's first cell, not this one
    assert block[block.index("# BEGIN SOLUTION") + 1].startswith("Because 2(x + y)")


def test_locked_answer_cells_are_unlocked(tmp_path):
    locked = {"editable": False, "deletable": False}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("question", metadata={**locked, "mlhw": {"written": "q3"}}),
        nbformat.v4.new_markdown_cell(WRITTEN_PROMPT, metadata=dict(locked)),
        nbformat.v4.new_markdown_cell("<!-- END QUESTION -->", metadata=dict(locked)),
    ])
    path = tmp_path / "hw.ipynb"
    nbformat.write(nb, path)
    unlock_answer_cells(path)
    cells = nbformat.read(path, as_version=4).cells
    assert [("editable" in c.metadata, "deletable" in c.metadata) for c in cells] == [
        (False, False), (False, False), (True, True)]


def test_master_code_keeps_mlhw_stubs_as_otter_prompts():
    source = load_source(TINY)
    region = next(sc for sc in source.cells if sc.regions)
    text = master_code(region)
    assert "    # BEGIN SOLUTION NO PROMPT" in text
    assert (
        '    """ # BEGIN PROMPT\n    raise NotImplementedError("double")\n    """; # END PROMPT'
        in text
    )
    answer = next(sc for sc in source.cells if sc.answers)
    assert master_code(answer).splitlines() == [
        "answer = 6 * 7  # SOLUTION NO PROMPT",
        '""" # BEGIN PROMPT',
        "answer = ...  # YOUR ANSWER",
        '"""; # END PROMPT',
    ]
    compile(text, "master", "exec")  # the solution version is still valid Python


def test_public_tests_are_carried_without_the_question_decorator():
    prelude, tests = read_public_tests(TINY / "public_tests.py")
    assert [t.name for t in tests["q1"]] == ["test_q1_doubles", "test_q1_keeps_shape"]
    assert "import question" not in prelude and "INPUT = np.array" in prelude
    assert "def _twice" in prelude
    assert all("@question" not in t.code for ts in tests.values() for t in ts)


# --------------------------------------------------------------------------- the real tool
def execute(nb, cwd: Path):
    """Run a notebook top to bottom; returns the error outputs (ename, evalue)."""
    from nbclient import NotebookClient

    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    ).execute()
    return [
        (o.ename, o.evalue)
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]


def otter_solution_cell(cell) -> bool:
    return cell.cell_type == "code" and "otter_assign_solution_cell" in cell.metadata.get(
        "tags", []
    )


@pytest.fixture(scope="module", params=available_assignments())
def otter_dist(request, tmp_path_factory):
    """otter assign's output for each assignment (its folder is named after it)."""
    from autograder.release.otter import release

    return release(request.param, tmp_path_factory.mktemp("otter"))


def first_function(source) -> str:
    return next(r.function for sc in source.cells for r in sc.regions if r.function)


@pytest.mark.slow
def test_otter_student_notebook_has_stubs_and_no_solution(otter_dist):
    name = otter_dist.parent.name  # out/<name>/dist
    source = load_source(name)
    nb = nbformat.read(otter_dist / "student" / f"{name}.ipynb", as_version=4)
    lines = {ln.strip() for c in nb.cells for ln in c.source.splitlines()}
    assert not lines & solution_lines(source)
    for sc in source.cells:
        for r in sc.regions:
            assert f'raise NotImplementedError("{r.function or sc.question}")' in lines
        for answer in sc.answers:
            assert f"{answer} = ...  # YOUR ANSWER" in lines
    assert (otter_dist / "student" / "mlhw_check" / "__init__.py").is_file()
    assert (otter_dist / "student" / "public_tests.py").is_file()
    assert len(list((otter_dist / "autograder").glob(f"{name}-autograder_*.zip"))) == 1


@pytest.mark.slow
def test_otter_written_answer_cells_are_editable_and_collected(otter_dist):
    name = otter_dist.parent.name  # out/<name>/dist
    written = [q for q, spec in load_source(name).questions.items() if spec.get("kind") == "written"]
    path = otter_dist / "student" / f"{name}.ipynb"
    prompts = [c for c in nbformat.read(path, as_version=4).cells if WRITTEN_PROMPT in c.source]
    assert len(prompts) == len(written)
    assert all(c.metadata.get("editable", True) and c.metadata.get("deletable", True)
               for c in prompts)
    submission = load_submission(path)
    assert sorted(submission.written) == sorted(submission.unanswered) == sorted(written)


@pytest.mark.slow
def test_otter_student_notebook_runs_top_to_bottom(otter_dist):
    name = otter_dist.parent.name  # out/<name>/dist
    source = load_source(name)
    nb = nbformat.read(otter_dist / "student" / f"{name}.ipynb", as_version=4)
    errors = execute(nb, otter_dist / "student")
    # only the experiment cells, which call the stubs, may fail: as stubs do, or because an
    # earlier experiment cell that failed so did not define its result (a NameError)
    assert {ename for ename, _ in errors} <= {"NotImplementedError", "NameError"}
    assert not errors or errors[0][0] == "NotImplementedError"
    checks = [c for c in nb.cells if c.source.startswith("grader.check(")]
    assert checks and all(c.outputs for c in checks)
    shown = "".join(str(o.get("data", {}).get("text/plain", "")) for c in checks for o in c.outputs)
    assert f"NotAttempted: {first_function(source)} still raises NotImplementedError" in shown
    assert "ModuleNotFoundError" not in shown and "NameError" not in shown


@pytest.mark.slow
def test_filled_otter_notebook_passes_otter_run_and_its_export_zip_grades(otter_dist, tmp_path):
    name = otter_dist.parent.name  # out/<name>/dist
    source = load_source(name)
    student = otter_dist / "student"
    nb = nbformat.read(student / f"{name}.ipynb", as_version=4)
    fill_with_solutions(source, nb, otter_solution_cell)
    nbformat.write(nb, student / f"{name}.ipynb")
    # otter run: the filled notebook against the generated autograder zip (no Docker)
    ag_zip = next((otter_dist / "autograder").glob(f"{name}-autograder_*.zip"))
    run = subprocess.run(
        [
            str(BIN / "otter"),
            "run",
            "-a",
            str(ag_zip),
            "-o",
            str(tmp_path),
            str(student / f"{name}.ipynb"),
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    scores = {
        t["name"]: (t["score"], t["max_score"])
        for t in results["tests"]
        if t.get("score") is not None
    }
    coded = {q: spec["points"] for q, spec in source.questions.items() if spec["kind"] != "written"}
    assert scores == {q: (p, p) for q, p in coded.items()}
    # grader.export(): the zip a student hands in; mlhw finds the notebook inside
    export = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import otter; otter.Notebook('{name}.ipynb').export(pdf=False, display_link=False)",
        ],
        cwd=student,
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )
    assert export.returncode == 0, export.stderr
    zip_path = next(student.glob(f"{name}_*.zip"))
    path = resolve_submission(zip_path, into=tmp_path / "unzipped")
    submission = load_submission(path)
    assert any(f"def {first_function(source)}" in c.source for c in submission.cells)
