"""The `mlhw` command line: exit codes, output files, and the demo."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import corpus
import pytest

from autograder.runner import available_assignments

CORPUS = Path(__file__).parent.parent / "submissions" / "deep_chain"
EXAMPLES = Path(__file__).parents[2] / "assignments" / "deep_chain" / "examples"
MLHW = [sys.executable, "-m", "autograder.cli"]
PARTIAL = corpus.case("deep_chain", "partial").total


def mlhw(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(MLHW + list(args), capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.slow
def test_grade_writes_every_format_and_exits_zero(tmp_path):
    run = mlhw("grade", str(EXAMPLES / "partial.ipynb"), "--assignment", "deep_chain",
               "--gradescope", str(tmp_path / "results.json"), "--junit", str(tmp_path / "junit.xml"),
               "--json", str(tmp_path / "full.json"), "--seed", "7")
    assert run.returncode == 0, run.stderr
    assert f"{PARTIAL:g} / 100" in run.stdout
    gradescope = json.loads((tmp_path / "results.json").read_text())
    assert gradescope["score"] == PARTIAL
    assert {t["number"] for t in gradescope["tests"]} >= {"q1.1", "q2.1", "q6.4"}
    assert all(t["name"].split(":")[0] == t["number"].split(".")[0] for t in gradescope["tests"]
               if "number" in t and t["number"].startswith("q"))
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert int(suite.get("tests") or suite[0].get("tests")) >= 20
    full = json.loads((tmp_path / "full.json").read_text())
    assert full["seed"] == 7 and full["isolation"].startswith("bubblewrap")


@pytest.mark.slow
def test_fail_under_sets_exit_code_one():
    run = mlhw("grade", str(EXAMPLES / "partial.ipynb"), "-a", "deep_chain", "--fail-under", "50", "-q")
    assert run.returncode == 1
    assert f"{PARTIAL:g} / 100" in run.stdout


def test_unknown_assignment_is_a_grader_failure():
    run = mlhw("grade", str(EXAMPLES / "solution.ipynb"), "-a", "no_such_thing")
    assert run.returncode == 3
    assert "unknown assignment 'no_such_thing'" in run.stderr
    assert "deep_chain" in run.stderr


def test_broken_submission_still_grades_to_zero_with_exit_zero(tmp_path):
    run = mlhw("grade", str(CORPUS / "broken_not_json.ipynb"), "-a", "deep_chain",
               "--gradescope", str(tmp_path / "r.json"))
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["score"] == 0
    assert "not valid JSON" in result["output"]


def test_a_missing_file_is_one_clear_line_and_a_non_zero_exit(tmp_path):
    run = mlhw("grade", str(tmp_path / "nope.ipynb"), "-a", "deep_chain", "-q")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == f"mlhw: {tmp_path / 'nope.ipynb'}: no such file or folder"


@pytest.mark.parametrize("verb", ["grade-class", "export"])
def test_an_unknown_assignment_is_refused_by_every_verb(tmp_path, verb):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ann.py").write_text("x = 1\n")
    from autograder.gradebook import Gradebook

    Gradebook(tmp_path / "g.db").close()
    target = [str(tmp_path / "class"), "--gradebook", str(tmp_path / "g.db")] \
        if verb == "grade-class" else [str(tmp_path / "g.db"), "--csv", str(tmp_path / "x.csv")]
    run = mlhw(verb, *target, "-a", "no_such_thing")
    assert run.returncode != 0
    assert "no_such_thing" in run.stdout + run.stderr
    assert not (tmp_path / "x.csv").exists()


def test_an_empty_class_folder_is_refused(tmp_path):
    (tmp_path / "class").mkdir()
    run = mlhw("grade-class", str(tmp_path / "class"), "-a", "deep_chain", "--gradebook",
               str(tmp_path / "g.db"))
    assert run.returncode != 0 and "no submissions" in run.stdout


def test_a_notebook_of_another_assignment_is_not_graded_against_this_one(tmp_path):
    from autograder.release.plain import release

    bundle = release("plsa_em", tmp_path / "handout")
    notebook = bundle / "plsa_em.ipynb"
    run = mlhw("grade", str(notebook), "-a", "deep_chain", "-q")
    assert run.returncode == 2
    assert "is the notebook of plsa_em, not of deep_chain" in run.stderr
    assert "--assignment plsa_em" in run.stderr
    forced = mlhw("grade", str(notebook), "-a", "deep_chain", "-q", "--force")
    assert forced.returncode == 0 and "0 / 100" in forced.stdout


def test_a_class_member_with_another_assignments_notebook_gets_zero_with_the_reason(tmp_path):
    from autograder.release.plain import release
    from autograder.runner import GradeOptions, grade_submission

    notebook = release("plsa_em", tmp_path / "handout") / "plsa_em.ipynb"
    result = grade_submission(notebook, "deep_chain", GradeOptions(seed=1))
    assert result.score == 0
    assert any("is the notebook of plsa_em" in m for m in result.messages)


def test_require_sandbox_refuses_without_bubblewrap(monkeypatch):
    from autograder import sandbox
    from autograder.grade_cli import EXIT_GRADER_FAILED, check_request
    from autograder.sandbox import SandboxConfig

    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    code, line = check_request((EXAMPLES / "partial.ipynb",), "deep_chain",
                               SandboxConfig(isolation="bubblewrap"))
    assert code == EXIT_GRADER_FAILED
    assert "--require-sandbox: bubblewrap cannot isolate" in line
    assert "apt-get install bubblewrap" in line
    assert check_request((EXAMPLES / "partial.ipynb",), "deep_chain", SandboxConfig()) is None


def test_report_files_are_readable_by_the_group(tmp_path):
    import stat

    from autograder.reporters.jsonfile import write_text_atomic

    write_text_atomic(tmp_path / "r.json", "{}")
    mode = stat.S_IMODE((tmp_path / "r.json").stat().st_mode)
    assert mode & stat.S_IRGRP and mode & stat.S_IRUSR


@pytest.mark.slow
def test_demo_grades_the_example_class(tmp_path):
    run = mlhw("demo", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "deep_chain: example class" in run.stdout
    assert "solution" in run.stdout
    for assignment in available_assignments():
        examples = corpus.example_class(assignment)
        scores = {p.parent.name: json.loads(p.read_text())["score"]
                  for p in tmp_path.glob(f"{assignment}/*/results.json")}
        assert scores == {c.name: c.total for c in examples}, assignment