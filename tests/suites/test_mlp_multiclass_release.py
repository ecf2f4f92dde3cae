"""mlp_multiclass in every released format, in the real tools: the plain bundle in a Jupyter
kernel (unfilled: every check "not attempted"; filled from the source: every check passes),
otter (assign, run, export) and nbgrader (generate, autograde, then `mlhw grade`: 100).

The tests are those of tests/release/, run here on this assignment with fixtures of its own
(the lists of assignments there are shared files).
"""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
RELEASE_TESTS = Path(__file__).parents[1] / "release"
NAME = "mlp_multiclass"


def _load(stem):
    spec = importlib.util.spec_from_file_location(f"_{NAME}_{stem}", RELEASE_TESTS / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_execute = _load("test_notebooks_execute")
_otter = _load("test_otter_release")
_nbgrader = _load("test_nbgrader_release")

kernel_name = _execute.kernel_name


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from autograder.release.plain import release_plain

    return release_plain(NAME, tmp_path_factory.mktemp("jupyter"))


@pytest.fixture(scope="module")
def otter_dist(tmp_path_factory):
    from autograder.release.otter import release

    return release(NAME, tmp_path_factory.mktemp("otter"))


@pytest.fixture(scope="module")
def nbgrader_release(tmp_path_factory):
    from autograder.release.nbgrader import release

    return release(NAME, tmp_path_factory.mktemp("nbgrader"))


test_unfilled_notebook_runs_and_every_check_is_not_attempted = (
    _execute.test_unfilled_notebook_runs_and_every_check_is_not_attempted)
test_notebook_filled_from_the_source_passes_every_check = (
    _execute.test_notebook_filled_from_the_source_passes_every_check)
test_otter_student_notebook_has_stubs_and_no_solution = _otter.test_otter_student_notebook_has_stubs_and_no_solution
test_otter_written_answer_cells_are_editable_and_collected = (
    _otter.test_otter_written_answer_cells_are_editable_and_collected)
test_otter_student_notebook_runs_top_to_bottom = _otter.test_otter_student_notebook_runs_top_to_bottom
test_filled_otter_notebook_passes_otter_run_and_its_export_zip_grades = (
    _otter.test_filled_otter_notebook_passes_otter_run_and_its_export_zip_grades)
test_nbgrader_student_notebook_has_stubs_and_no_solution = (
    _nbgrader.test_nbgrader_student_notebook_has_stubs_and_no_solution)
test_nbgrader_written_answer_cells_are_editable_and_collected = (
    _nbgrader.test_nbgrader_written_answer_cells_are_editable_and_collected)
test_nbgrader_student_notebook_runs_top_to_bottom = _nbgrader.test_nbgrader_student_notebook_runs_top_to_bottom
test_filled_submission_scores_full_marks_in_nbgrader_and_in_mlhw = (
    _nbgrader.test_filled_submission_scores_full_marks_in_nbgrader_and_in_mlhw)
