"""`mlhw release --format nbgrader`, and nbgrader's submitted/ notebooks graded by `mlhw grade`.

The slow tests run nbgrader 0.9.6 on every assignment. Measured for deep_chain on the shared 2-core
machine: generate_assignment 28-38 s, executing the student notebook 8 s, nbgrader autograde
plus mlhw grade of the filled notebook 34 s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.release.nbgrader import _split, solution_code, source_notebook
from autograder.release.source import (
    fill_with_solutions,
    load_source,
    solution_lines,
)
from autograder.runner import available_assignments
from autograder.submission import load_submission

TINY = Path(__file__).parent / "fixtures" / "tiny"
BIN = Path(sys.executable).parent


def _nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_source_notebook_marks_solution_test_and_answer_cells():
    nb, stubs = source_notebook(load_source(TINY))
    solution = [c for c in nb.cells if _nbg(c).get("solution") and not _nbg(c).get("grade")]
    assert [_nbg(c)["grade_id"] for c in solution] == ["q1-cell4", "q2-cell7"]
    assert "    ### BEGIN SOLUTION\n" in solution[0].source
    assert stubs == {
        "q1-cell4": ['raise NotImplementedError("double")'],
        "q2-cell7": ["answer = ...  # YOUR ANSWER"],
    }
    tests = [c for c in nb.cells if _nbg(c).get("grade") and not _nbg(c).get("solution")]
    assert [(_nbg(c)["grade_id"], _nbg(c)["points"]) for c in tests] == [
        ("q1-test_q1_doubles", 2.0),
        ("q1-test_q1_keeps_shape", 2.0),
        ("q2-test_q2_is_a_number", 2.0),
    ]
    assert all(_nbg(c)["locked"] for c in tests)
    assert "test_q1_doubles(Student(globals()))" in tests[0].source
    answer = next(c for c in nb.cells if _nbg(c).get("grade") and _nbg(c).get("solution"))
    assert answer.cell_type == "markdown" and _nbg(answer)["points"] == 1.0
    assert answer.metadata["mlhw"] == {"written": "q3"}
    assert answer.source.startswith("<!-- BEGIN SOLUTION -->")
    sources = "\n".join(c.source for c in nb.cells)
    assert 'check("q' not in sources and "instructor-only" not in sources
    assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_solution_line_becomes_a_one_line_region():
    source = load_source(TINY)
    text, _ = solution_code(next(sc for sc in source.cells if sc.answers))
    assert text.splitlines() == ["### BEGIN SOLUTION", "answer = 6 * 7", "### END SOLUTION"]


def test_points_are_split_over_the_public_tests():
    assert _split(10, 3) == [3.33, 3.33, 3.34]
    assert _split(5, 2) == [2.5, 2.5]
    assert sum(_split(20, 7)) == pytest.approx(20)


# --------------------------------------------------------------------------- the real tool
def execute(nb, cwd: Path) -> None:
    """Run a notebook top to bottom in the venv's python3 kernel, errors kept as outputs."""
    from nbclient import NotebookClient

    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    ).execute()


def nbgrader_solution_cell(cell) -> bool:
    return cell.cell_type == "code" and bool(_nbg(cell).get("solution"))


@pytest.fixture(scope="module", params=available_assignments())
def nbgrader_release(request, tmp_path_factory):
    """course/release/<name>/ made by nbgrader generate_assignment, for each assignment."""
    from autograder.release.nbgrader import release

    return release(request.param, tmp_path_factory.mktemp("nbgrader"))


@pytest.mark.slow
def test_nbgrader_student_notebook_has_stubs_and_no_solution(nbgrader_release):
    name = nbgrader_release.name
    source = load_source(name)
    assert nbgrader_release.parts[-2:] == ("release", name)
    nb = nbformat.read(nbgrader_release / f"{name}.ipynb", as_version=4)
    lines = {ln.strip() for c in nb.cells for ln in c.source.splitlines()}
    assert not lines & solution_lines(source)
    assert not any("BEGIN SOLUTION" in ln or "YOUR CODE HERE" in ln for ln in lines)
    for sc in source.cells:
        for r in sc.regions:
            assert f'raise NotImplementedError("{r.function or sc.question}")' in lines
        for answer in sc.answers:
            assert f"{answer} = ...  # YOUR ANSWER" in lines
    assert (nbgrader_release / "mlhw_check" / "__init__.py").is_file()
    assert (nbgrader_release / "public_tests.py").is_file()


@pytest.mark.slow
def test_nbgrader_written_answer_cells_are_editable_and_collected(nbgrader_release):
    name = nbgrader_release.name
    written = [q for q, spec in load_source(name).questions.items() if spec.get("kind") == "written"]
    path = nbgrader_release / f"{name}.ipynb"
    answers = [c for c in nbformat.read(path, as_version=4).cells
               if c.metadata.get("mlhw", {}).get("written")]
    assert len(answers) == len(written)
    assert all(c.metadata.get("editable", True) and c.metadata.get("deletable", True)
               for c in answers)
    submission = load_submission(path)
    assert sorted(submission.written) == sorted(submission.unanswered) == sorted(written)


@pytest.mark.slow
def test_nbgrader_student_notebook_runs_top_to_bottom(nbgrader_release):
    name = nbgrader_release.name
    nb = nbformat.read(nbgrader_release / f"{name}.ipynb", as_version=4)
    execute(nb, nbgrader_release)
    not_attempted, stub_failed = 0, False
    for cell in nb.cells:
        errors = {o.ename for o in cell.get("outputs", []) if o.output_type == "error"}
        if _nbg(cell).get("grade"):  # a public test of a stub: "not attempted"
            assert errors <= {"NotAttempted"}, cell.source
            not_attempted += bool(errors)
        else:  # only experiments calling the stubs may fail: as stubs do, or for want of
            # the result of an earlier experiment cell that failed (a NameError)
            allowed = {"NotImplementedError", "NameError"} if stub_failed else {"NotImplementedError"}
            assert errors <= allowed, cell.source
            stub_failed |= "NotImplementedError" in errors
    assert not_attempted > 0  # the public tests did run


@pytest.mark.slow
def test_filled_submission_scores_full_marks_in_nbgrader_and_in_mlhw(nbgrader_release, tmp_path):
    name = nbgrader_release.name
    source = load_source(name)
    course = nbgrader_release.parents[1]
    nb = nbformat.read(nbgrader_release / f"{name}.ipynb", as_version=4)
    fill_with_solutions(source, nb, nbgrader_solution_cell)
    submitted = course / "submitted" / "alice" / name / f"{name}.ipynb"
    submitted.parent.mkdir(parents=True)
    nbformat.write(nb, submitted)
    for extra in ("mlhw_check", "public_tests.py"):  # what the student's folder holds
        src = nbgrader_release / extra
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, submitted.parent / extra)
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(
        [str(BIN / "nbgrader"), "autograde", name, "--force", "--create"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(name, "alice")
        assert sub.code_score == sub.max_code_score > 0
    # mlhw grades the same submitted/ notebook, with the hidden suite
    written = {sc.question for sc in source.of_kind("written")}
    assert set(load_submission(submitted).written) == written  # nbgrader metadata is no obstacle
    out = tmp_path / "results.json"
    grade = subprocess.run(
        [
            str(BIN / "mlhw"),
            "grade",
            str(submitted),
            "--assignment",
            name,
            "--gradescope",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert grade.returncode == 0, grade.stdout + grade.stderr
    assert json.loads(out.read_text())["score"] == 100


def test_an_existing_course_of_someone_else_is_left_alone(tmp_path):
    from autograder.release.common import ReleaseError
    from autograder.release.nbgrader import release_nbgrader

    config = tmp_path / "tiny" / "nbgrader_config.py"
    config.parent.mkdir()
    config.write_text("c = get_config()\nc.CourseDirectory.course_id = 'ml101'\n")
    with pytest.raises(ReleaseError, match="did not write"):
        release_nbgrader(load_source(TINY), tmp_path)
    assert "ml101" in config.read_text()
