"""`mlhw release --format gradescope`: the autograder.zip Gradescope runs.

Fast tests pin down the zip's layout, how ``run_autograder`` finds a submission, visibility
and the refusal of an old Python. The slow ones do what Gradescope does: unzip into a
temporary root, run ``setup.sh`` into a fresh virtual environment (one for the module), run
``run_autograder`` on every example submission of every assignment, validate each
results.json against Gradescope's format (``schemas/gradescope_results.schema.json``, written
from its specification) and compare the score with ``mlhw grade`` on the same file and seed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from sweeps import sweep

from autograder.release.gradescope import release, unpack
from autograder.release.gradescope_run import (
    NoSubmission,
    assignment_config,
    find_submission,
    with_visibility,
)
from autograder.release.source import REPO
from autograder.results import Status, SubmissionResult, TestResult
from autograder.runner import available_assignments

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json")
                    .read_text())
SEED = 4321
DEV_VENV = Path(sys.executable).parent.parent


def validate(data: dict) -> None:
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)


def examples(assignment: str) -> list[Path]:
    return sorted((REPO / "assignments" / assignment / "examples").glob("*.ipynb"))


GRADED = [a for a in available_assignments() if examples(a)]


def run_autograder(root: Path, venv: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLHW_GRADESCOPE_ROOT": str(root), "MLHW_GRADESCOPE_VENV": str(venv),
           "MLHW_GRADESCOPE_SEED": str(SEED)}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(root / "run_autograder")], cwd=root, env=env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def deep_chain_zip(tmp_path_factory) -> Path:
    return release("deep_chain", tmp_path_factory.mktemp("gradescope"))


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_zip_has_the_scripts_at_its_root_and_only_this_assignments_suite(deep_chain_zip):
    with zipfile.ZipFile(deep_chain_zip) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert script in infos
        assert (infos[script].external_attr >> 16) & 0o111, f"{script} is not executable"
    names = set(infos)
    assert {"mlhw/pyproject.toml", "mlhw/autograder/runner.py",
            "mlhw/autograder/suites/deep_chain/test_forward_backward.py",
            "mlhw/assignments/deep_chain/assignment.toml",
            "mlhw/assignments/deep_chain/public_tests.py", "mlhw/mlhw_ref/chain.py"} <= names
    others = [a for a in available_assignments() if a != "deep_chain"]
    assert not [n for n in names if any(f"suites/{a}/" in n for a in others)]
    assert not [n for n in names if "/examples/" in n
                or n.startswith("mlhw/solutions") or "__pycache__" in n]
    text = zipfile.ZipFile(deep_chain_zip).read("run_autograder").decode()
    assert "--assignment deep_chain" in text


def test_find_submission_takes_one_notebook_of_any_name(tmp_path):
    (tmp_path / "mlhw_check").mkdir()
    (tmp_path / "mlhw_check" / "__init__.py").write_text("")
    (tmp_path / "public_tests.py").write_text("")
    (tmp_path / "my homework (final).ipynb").write_text("{}")
    (tmp_path / "notes.py").write_text("")
    assert find_submission(tmp_path).name == "my homework (final).ipynb"


def test_find_submission_takes_an_otter_zip_or_a_py_when_there_is_no_notebook(tmp_path):
    (tmp_path / "public_tests.py").write_text("")
    (tmp_path / "hw.py").write_text("x = 1\n")
    assert find_submission(tmp_path).name == "hw.py"
    (tmp_path / "hw-export.zip").write_bytes(b"PK")
    assert find_submission(tmp_path).name == "hw-export.zip"


def test_find_submission_says_what_it_found_when_none_or_several(tmp_path):
    (tmp_path / "README.md").write_text("")
    with pytest.raises(NoSubmission, match=r"no notebook was submitted \(found README.md\)"):
        find_submission(tmp_path)
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b.ipynb").write_text("{}")
    with pytest.raises(NoSubmission, match=r"found 2 .ipynb files \(a.ipynb, b.ipynb\)"):
        find_submission(tmp_path)


def _result(*visibilities: str) -> SubmissionResult:
    tests = [TestResult(f"t{i}", f"q1.{i}", "q1", 1, 1, Status.PASSED, visibility=v)
             for i, v in enumerate(visibilities)]
    return SubmissionResult("deep_chain", "x.ipynb", tuple(tests))


def test_hidden_tests_follow_the_assignments_visibility():
    shown = with_visibility(_result("visible", "after_published", "hidden"), "after_due_date")
    assert [t.visibility for t in shown.tests] == ["visible", "after_due_date", "hidden"]
    for name in available_assignments():  # every shipped assignment.toml is valid
        assert assignment_config(name).get("hidden_visibility", "after_published") in (
            "visible", "hidden", "after_due_date", "after_published")


def test_setup_stops_with_a_clear_message_on_an_old_python(tmp_path, deep_chain_zip):
    root = unpack(deep_chain_zip, tmp_path / "root")
    old = tmp_path / "python3.8"
    old.write_text('#!/bin/sh\n[ "$1" = "-V" ] && echo "Python 3.8.10" && exit 0\nexit 1\n')
    old.chmod(0o755)
    env = {**os.environ, "MLHW_GRADESCOPE_ROOT": str(root), "MLHW_GRADESCOPE_PYTHON": str(old),
           "MLHW_GRADESCOPE_VENV": str(tmp_path / "venv")}
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "needs Python 3.11 or newer" in proc.stderr and "Python 3.8.10" in proc.stderr
    assert not (tmp_path / "venv").exists()


def test_run_autograder_without_a_submission_writes_a_zero_and_the_reason(tmp_path,
                                                                          deep_chain_zip):
    root = unpack(deep_chain_zip, tmp_path / "root")
    (root / "submission").mkdir()
    (root / "submission" / "answers.txt").write_text("I did it")
    proc = run_autograder(root, DEV_VENV, timeout=120)
    assert proc.returncode == 1, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    validate(data)
    assert data["score"] == 0
    assert "no notebook was submitted (found answers.txt)" in data["output"]


# ------------------------------------------------------------------------- slow: end to end
@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory, deep_chain_zip) -> Path:
    """setup.sh, as Gradescope runs it, into a fresh virtual environment (shared: every
    assignment's zip installs the same dependencies; run_autograder imports its own mlhw)."""
    root = unpack(deep_chain_zip, tmp_path_factory.mktemp("setup"))
    venv = root / "mlhw-venv"
    env = {**os.environ, "MLHW_GRADESCOPE_ROOT": str(root), "MLHW_GRADESCOPE_VENV": str(venv)}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "mlhw setup: ready" in proc.stdout
    return venv


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sweep(GRADED, ["deep_chain"]))
def test_run_autograder_grades_every_example_as_mlhw_grade_does(assignment, fresh_venv,
                                                               tmp_path):
    zip_path = release(assignment, tmp_path / "release")
    root = unpack(zip_path, tmp_path / "root")
    files = examples(assignment)
    scores = {}
    for example in files:
        submission = root / "submission"
        shutil.rmtree(submission, ignore_errors=True)
        submission.mkdir()
        shutil.copy2(example, submission / example.name)
        proc = run_autograder(root, fresh_venv)
        assert proc.returncode == 0, f"{example.name}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        data = json.loads((root / "results" / "results.json").read_text())
        validate(data)
        scores[example.stem] = data["score"]
        public = [t for t in data["tests"] if "(public check)" in t["name"]]
        assert public and all(t["visibility"] == "visible" and t["max_score"] == 0
                              for t in public)
        hidden = [t for t in data["tests"] if t not in public and t["max_score"] > 0]
        assert hidden and all(t["visibility"] == "after_published" for t in hidden)
        assert "seed" not in data.get("extra_data", {})
    out = tmp_path / "mlhw-grade"
    proc = subprocess.run(
        [str(DEV_VENV / "bin" / "mlhw"), "grade", *map(str, files), "--assignment", assignment,
         "--json", str(out), "--seed", str(SEED), "--quiet"],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = {p.stem: json.loads(p.read_text())["score"] for p in out.glob("*.json")}
    assert scores == expected
    assert any(v > 0 for v in scores.values())
