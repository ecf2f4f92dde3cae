"""`mlhw release --format otter`, and otter submissions (export zips) handed to `mlhw grade`.

The slow tests run the real tool (otter-grader 7.0.0, no Docker: otter assign and otter run) on
every assignment. Measured for deep_chain on the shared 2-core machine: otter assign 13-45 s (it
also grades the solution notebook), executing the student notebook 6-22 s, otter run plus
grader.export() 15-46 s.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.release.otter import master_code, master_notebook, read_public_tests
from autograder.release.source import load_source, solution_lines, solution_source
from autograder.submission import MAX_BYTES, SubmissionError, load_submission
from autograder.submission_formats import is_tool_cell, resolve_submission

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


# --------------------------------------------------------------------------- zip submissions
def _zip(path: Path, entries: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # a symbolic link
            zf.writestr(info, "/etc/passwd")
    return path


def _notebook_bytes(code: str = "x = 1") -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    return nbformat.writes(nb).encode()


def test_zip_submission_yields_its_notebook(tmp_path):
    z = _zip(
        tmp_path / "hw_2026_11_22.zip",
        {
            ".OTTER_LOG": b"log",
            "hw.pdf": b"%PDF-1.4",
            "__MACOSX/._hw.ipynb": b"junk",
            "hw.ipynb": _notebook_bytes("answer = 42"),
            "extra/other.ipynb": _notebook_bytes(),
        },
    )
    path = resolve_submission(z, into=tmp_path / "out")
    assert path == tmp_path / "out" / "hw.ipynb"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hw.ipynb"]
    assert load_submission(path).cells[0].source == "answer = 42"


def test_non_zip_submission_is_returned_unchanged(tmp_path):
    nb = tmp_path / "submitted" / "alice" / "tiny" / "tiny.ipynb"
    assert resolve_submission(nb) == nb


def test_nbgrader_submission_folder_gives_its_notebook(tmp_path):
    folder = tmp_path / "submitted" / "alice" / "tiny"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "tiny.ipynb").write_bytes(_notebook_bytes())
    (folder / "timestamp.txt").write_text("2026-11-22 05:00:00 UTC")
    assert resolve_submission(folder) == folder / "tiny.ipynb"
    (folder / "copy.ipynb").write_bytes(_notebook_bytes())
    with pytest.raises(SubmissionError, match="several notebooks"):
        resolve_submission(folder)


@pytest.mark.parametrize(
    "entry",
    [
        "../../evil.ipynb",
        "/etc/evil.ipynb",
        "a/../../evil.ipynb",
        "C:/evil.ipynb",
        "..\\evil.ipynb",
    ],
)
def test_zip_with_path_traversal_is_refused(tmp_path, entry):
    z = _zip(tmp_path / "s.zip", {"hw.ipynb": _notebook_bytes(), entry: _notebook_bytes()})
    with pytest.raises(SubmissionError, match="refused"):
        resolve_submission(z, into=tmp_path / "out")
    assert not (tmp_path / "evil.ipynb").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_zip_with_a_symlink_is_refused(tmp_path):
    z = _zip(tmp_path / "s.zip", {"hw.ipynb": _notebook_bytes()}, symlinks=("link.ipynb",))
    with pytest.raises(SubmissionError, match="symbolic link"):
        resolve_submission(z, into=tmp_path / "out")


def test_zip_bomb_is_refused_before_unpacking(tmp_path):
    z = tmp_path / "bomb.zip"
    block = b"\0" * (1 << 20)
    with (
        zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("hw.ipynb", "w", force_zip64=True) as f,
    ):
        for _ in range(MAX_BYTES // len(block) + 2):
            f.write(block)
    assert z.stat().st_size < 1 << 20
    with pytest.raises(SubmissionError, match="MiB"):
        resolve_submission(z, into=tmp_path / "out")
    assert not (tmp_path / "out" / "hw.ipynb").exists()


def test_zip_that_lies_about_its_size_is_cut_off(tmp_path):
    big = b"{" + b" " * (MAX_BYTES + 10)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("hw.ipynb", big)
    data = bytearray(buf.getvalue())
    # rewrite the uncompressed size in the central directory to 1 KiB
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (1024).to_bytes(4, "little")
    z = tmp_path / "liar.zip"
    z.write_bytes(bytes(data))
    with pytest.raises(SubmissionError):
        resolve_submission(z, into=tmp_path / "out")
    assert not (tmp_path / "out" / "hw.ipynb").exists()


def test_zip_without_a_notebook_says_so(tmp_path):
    z = _zip(tmp_path / "s.zip", {"hw.pdf": b"%PDF", "notes.txt": b"hi"})
    with pytest.raises(SubmissionError, match="no Jupyter notebook.*hw.pdf"):
        resolve_submission(z)


def test_corrupt_zip_is_a_submission_error(tmp_path):
    z = tmp_path / "s.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        resolve_submission(z)


def test_tool_cells_are_recognised():
    new = nbformat.v4.new_code_cell
    assert is_tool_cell(
        new('# Initialize Otter\nimport otter\ngrader = otter.Notebook("hw.ipynb")')
    )
    assert is_tool_cell(new('grader.check("q1")'))
    assert is_tool_cell(
        new(
            "# Save your notebook first, then run this cell to export your "
            "submission.\ngrader.export(pdf=False)"
        )
    )
    assert not is_tool_cell(new('grader.check("q1")\nanswer = 42'))
    test = new("assert True", metadata={"nbgrader": {"grade": True, "solution": False}})
    answer = new("x = 1", metadata={"nbgrader": {"grade": True, "solution": True}})
    assert is_tool_cell(test) and not is_tool_cell(answer)
    assert not is_tool_cell(nbformat.v4.new_markdown_cell('grader.check("q1")'))


# --------------------------------------------------------------------------- the real tool
def fill_with_solutions(source, nb, is_solution_cell) -> None:
    """Put the source's solution into each solution cell of a tool's student notebook."""
    solutions = [
        sc for sc in source.cells if sc.cell.cell_type == "code" and (sc.regions or sc.answers)
    ]
    cells = [c for c in nb.cells if is_solution_cell(c)]
    assert len(cells) == len(solutions)
    for cell, sc in zip(cells, solutions):
        cell.source = solution_source(sc.source)


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


@pytest.fixture(scope="module", params=["deep_chain", "plsa_em", "sigmoid_mlp"])
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
