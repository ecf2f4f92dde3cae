"""The `mlhw` command line: exit codes, output files, and the demo."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import corpus
import pytest

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


def test_missing_file_is_reported_not_crashed(tmp_path):
    run = mlhw("grade", str(tmp_path / "nope.ipynb"), "-a", "deep_chain", "-q")
    assert run.returncode == 0
    assert "0 / 100" in run.stdout


@pytest.mark.slow
def test_demo_grades_the_example_class(tmp_path):
    run = mlhw("demo", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "deep_chain: example class" in run.stdout
    assert "solution" in run.stdout
    scores = {p.parent.name: json.loads(p.read_text())["score"]
              for p in tmp_path.glob("deep_chain/*/results.json")}
    assert scores == {c.name: c.total for c in corpus.example_class("deep_chain")}
    sigmoid = {p.parent.name: json.loads(p.read_text())["score"]
               for p in tmp_path.glob("sigmoid_mlp/*/results.json")}
    assert sigmoid == {c.name: c.total for c in corpus.example_class("sigmoid_mlp")}
