"""`mlhw release --format plain`: the bundle's layout, that it never reveals a solution or a
hidden test, the committed worked solution, and assignment.toml against the hidden suite."""

import json
import re
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from autograder.release.cli import release
from autograder.release.common import (
    TRIVIAL_LINE,
    ReleaseError,
    bundle_texts,
    find_leaks,
    hidden_test_names,
)
from autograder.release.plain import release_plain
from autograder.release.source import (
    REPO,
    load_source,
    solution_lines,
    solution_notebook,
    student_notebook,
)

SUITE = REPO / "autograder" / "suites" / "deep_chain"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return release_plain("deep_chain", tmp_path_factory.mktemp("release"))


def test_bundle_layout(bundle):
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert {
        "deep_chain.ipynb",
        "public_tests.py",
        "mlhw_check/__init__.py",
        "mlhw_check/errors.py",
        "mlhw_check/checks/__init__.py",
        "mlhw_check/checks/arrays.py",
    } <= names
    assert not any("__pycache__" in n for n in names)
    nb = nbformat.read(bundle / "deep_chain.ipynb", as_version=4)
    nbformat.validate(nb)
    assert all(c.get("outputs", []) == [] for c in nb.cells)


def test_written_answer_cell_is_editable_and_read_as_unanswered(bundle):
    from autograder.submission import load_submission

    cells = nbformat.read(bundle / "deep_chain.ipynb", as_version=4).cells
    written = [c for c in cells if c.metadata.get("mlhw", {}).get("written")]
    assert written and all(
        c.metadata.get("editable", True) and c.metadata.get("deletable", True) for c in written
    )
    submission = load_submission(bundle / "deep_chain.ipynb")
    assert submission.unanswered == tuple(submission.written) == ("q7",)


def test_student_notebook_has_stubs_and_prompts(bundle):
    nb = nbformat.read(bundle / "deep_chain.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for fn in (
        "chain_forward",
        "chain_backward",
        "chain_gradients",
        "train_chain",
        "first_iteration_trace",
        "two_layer_grads",
        "plot_costs",
        "plot_trace",
    ):
        assert f'raise NotImplementedError("{fn}")' in code
    assert "shrink_factor = ...  # YOUR ANSWER" in code
    written = [c for c in nb.cells if c.metadata.get("mlhw", {}).get("written") == "q7"]
    assert len(written) == 1 and "*Your answer here.*" in written[0].source
    checks = [
        c.metadata["mlhw"]["check"] for c in nb.cells if "check" in c.metadata.get("mlhw", {})
    ]
    assert checks == ["q1", "q2", "q3", "q4", "q5", "q6", "q8"]
    assert not any("instructor" in c.metadata.get("tags", []) for c in nb.cells)
    assert sum("experiment" in c.metadata.get("tags", []) for c in nb.cells) == 2


def test_bundle_reveals_no_solution_line_and_no_hidden_test(bundle):
    source = load_source("deep_chain")
    # a bare keyword ("break") reveals nothing and occurs in the checks library too
    lines = {ln for ln in solution_lines(source) if not TRIVIAL_LINE.match(ln)}
    names = hidden_test_names("deep_chain")
    assert len(lines) > 40 and "shrink_factor = 5 * sp.sech(5) ** 2" in lines
    assert {"test_q2_output_layer", "test_q5_shrink_factor", "test_q8_plot_trace"} <= names
    texts = bundle_texts(bundle)
    assert len(texts) >= 10
    for path, text in texts.items():
        body = text
        if path.suffix == ".ipynb":
            body = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        file_lines = {ln.strip() for ln in body.splitlines()}
        assert not lines & file_lines, f"{path.name} holds solution lines {lines & file_lines}"
        assert not [n for n in names if n in body], f"{path.name} names a hidden test"
        assert "mlhw_ref" not in body, f"{path.name} mentions the reference package"
    assert find_leaks(bundle, lines, names) == []


def test_source_and_public_tests_never_import_the_reference():
    source = load_source("deep_chain")
    code = "\n".join(c.source for c in source.cells if c.cell.cell_type == "code")
    code += (source.folder / "public_tests.py").read_text()
    assert not re.search(r"^\s*(import|from)\s+mlhw_ref\b", code, re.MULTILINE)
    imported = set(re.findall(r"^\s*(?:import|from)\s+(\w+)", code, re.MULTILINE))
    assert imported <= {"numpy", "sympy", "matplotlib", "mlhw_check"}


def test_release_refuses_a_leaking_public_test(tmp_path):
    source = load_source("deep_chain")
    leaky = tmp_path / "src"
    leaky.mkdir()
    for name in ("source.ipynb", "assignment.toml"):
        (leaky / name).write_bytes((source.folder / name).read_bytes())
    (leaky / "public_tests.py").write_text("u = 1\nshrink_factor = 5 * sp.sech(5) ** 2\n")
    leaky_source = load_source(leaky)
    object.__setattr__(leaky_source, "name", "deep_chain")  # same hidden suite
    with pytest.raises(ReleaseError, match="solution line"):
        release_plain(leaky_source, tmp_path / "out")
    assert not (tmp_path / "out" / "deep_chain").exists()


def test_release_replaces_an_old_bundle_but_not_another_folder(tmp_path):
    release_plain("deep_chain", tmp_path)
    (tmp_path / "deep_chain" / "stale.txt").write_text("old")
    release_plain("deep_chain", tmp_path)
    assert not (tmp_path / "deep_chain" / "stale.txt").exists()
    (tmp_path / "other" / "deep_chain").mkdir(parents=True)
    (tmp_path / "other" / "deep_chain" / "notes.txt").write_text("mine")
    with pytest.raises(ReleaseError, match="not a released bundle"):
        release_plain("deep_chain", tmp_path / "other")


def test_cli_release_plain(tmp_path):
    result = CliRunner().invoke(release, ["deep_chain", "--to", str(tmp_path), "--format", "plain"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "deep_chain" / "deep_chain.ipynb").is_file()
    result = CliRunner().invoke(release, ["no_such_assignment", "--to", str(tmp_path)])
    assert result.exit_code == 1 and "no source notebook" in result.output


def _suite_points() -> dict[str, int]:
    points: dict[str, int] = {}
    for path in SUITE.glob("test_*.py"):
        for q, p in re.findall(r'question\("(q\d+)", points=(\d+)', path.read_text()):
            points[q] = points.get(q, 0) + int(p)
    return points


def test_assignment_points_equal_the_hidden_suite():
    questions = load_source("deep_chain").questions
    suite = _suite_points()
    assert {q: c["points"] for q, c in questions.items() if c["kind"] != "written"} == suite
    assert questions["q7"] == {"points": 0, "kind": "written", "manual_points": 5}


def test_committed_solution_is_generated_from_the_source():
    committed = nbformat.read(REPO / "solutions" / "deep_chain" / "solution.ipynb", as_version=4)
    fresh = solution_notebook(load_source("deep_chain"))
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in fresh.cells
    ], "run scripts/build_solutions.py"
    assert "BEGIN SOLUTION" not in json.dumps([c.source for c in committed.cells])


def test_student_and_solution_notebooks_line_up():
    source = load_source("deep_chain")
    student, solution = student_notebook(source), solution_notebook(source)
    assert [c.id for c in student.cells] == [c.id for c in solution.cells]


@pytest.mark.slow
def test_worked_solution_scores_full_marks():
    from autograder.runner import GradeOptions, grade_submission

    result = grade_submission(
        REPO / "solutions" / "deep_chain" / "solution.ipynb", "deep_chain", GradeOptions(seed=7)
    )
    assert (result.score, result.max_score) == (100, 100)
    written = {w.question: w.text for w in result.written}
    assert "saturated" in written["q7"] and "BEGIN SOLUTION" not in written["q7"]


def test_data_files_are_copied_and_missing_ones_refused(tmp_path):
    import dataclasses

    source = load_source("deep_chain")
    with_data = dataclasses.replace(source, config={**source.config, "data": ["mlhw_ref/data/mnist_subset.npz"]})
    out = release_plain(with_data, tmp_path)
    data = REPO / "mlhw_ref" / "data" / "mnist_subset.npz"
    assert (out / "mnist_subset.npz").read_bytes() == data.read_bytes()
    missing = dataclasses.replace(source, config={"data": ["no/such/file.npz"]})
    with pytest.raises(ReleaseError, match="no/such/file.npz"):
        release_plain(missing, tmp_path / "again")
