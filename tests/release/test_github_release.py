"""`mlhw release --format github` and `--format github-grading`: GitHub Classroom.

No GitHub is reachable here, so each workflow is checked against GitHub's workflow JSON
Schema (the one check-jsonschema vendors) and its ``run:`` steps are executed in order, as a
runner would, in a temporary folder with the ``GITHUB_*`` variables a runner sets: the
``uses:`` steps are stood in for (checkout = a clone of a local repository, setup-python = a
virtual environment on PATH, the Classroom reporter = decoding its input, upload-artifact =
the paths must exist). The grading workflow runs on local repositories holding a student's
commits before and after the deadline.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from autograder.release.github import release as release_github
from autograder.release.github_grading import release as release_grading
from autograder.release.source import REPO

BIN = Path(sys.executable).parent
EXAMPLES = REPO / "assignments" / "deep_chain" / "examples"


def validate_workflow(path: Path) -> None:
    exe = BIN / "check-jsonschema"
    if not exe.exists():
        pytest.skip("check-jsonschema is not installed (pip install -e '.[dev]')")
    proc = subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def git(*args: str, cwd: Path, date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.org"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def grading_python(tmp: Path) -> Path:
    """actions/setup-python for the grading job: ``python`` is the dev venv's (the sandbox
    binds a real virtual environment), ``python -m pip install`` is skipped (the dev venv has
    mlhw's dependencies; PYTHONPATH makes the grading repository's own mlhw/ the one used)."""
    bindir = tmp / "grading-python" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").write_text(
        f'#!/bin/sh\n[ "$1 $2" = "-m pip" ] && exit 0\nexec "{sys.executable}" "$@"\n')
    (bindir / "mlhw").symlink_to(BIN / "mlhw")
    (bindir / "sudo").write_text('#!/bin/sh\nwhile [ "${1#-}" != "$1" ]; do shift; done\n'
                                 'exec "$@"\n')
    for f in bindir.iterdir():
        f.chmod(0o755)
    return bindir.parent


def runner_python(tmp: Path) -> Path:
    """A virtual environment standing for actions/setup-python: it sees the dev venv's
    packages through a .pth file, so ``pip install`` finds them installed (no download)."""
    venv = tmp / "runner-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "dev.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (venv / "bin" / "pip").write_text(f'#!/bin/sh\nexec "{venv}/bin/python" -m pip "$@"\n')
    fake_sudo = venv / "bin" / "sudo"
    fake_sudo.write_text('#!/bin/sh\nwhile [ "${1#-}" != "$1" ]; do shift; done\nexec "$@"\n')
    fake_sudo.chmod(0o755)
    return venv


EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def run_workflow(workflow: Path, workspace: Path, env: dict[str, str], outputs_seen: dict,
                 uses: dict) -> list[str]:
    """Execute the steps of the workflow's one job in order; returns the names run."""
    job = next(iter(yaml.safe_load(workflow.read_text())["jobs"].values()))
    outputs: dict[str, dict[str, str]] = {}
    done = []
    for n, step in enumerate(job["steps"]):
        def expand(text: str) -> str:
            def value(m: re.Match) -> str:
                parts = m.group(1).split(".")
                if parts[0] == "steps":
                    return outputs.get(parts[1], {}).get(parts[3], "")
                return env.get(f"EXPR_{m.group(1)}", "")
            return EXPRESSION.sub(value, str(text))

        step_env = {**env, **{k: expand(v) for k, v in (step.get("env") or {}).items()}}
        if "uses" in step:
            uses[step["uses"].split("@")[0]](step, step_env, workspace)
            done.append(step["uses"])
            continue
        output = workspace.parent / f"output-{n}"
        output.write_text("")
        proc = subprocess.run(["bash", "-e", "-c", expand(step["run"])], cwd=workspace,
                              env={**step_env, "GITHUB_OUTPUT": str(output)},
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{step.get('name')}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        if step.get("id"):
            outputs[step["id"]] = dict(line.split("=", 1) for line in
                                       output.read_text().splitlines() if "=" in line)
            outputs_seen[step["id"]] = outputs[step["id"]]
        done.append(step.get("name", step["run"][:30]))
    return done


def runner_env(tmp: Path, python: Path, workspace: Path, **extra: str) -> dict[str, str]:
    summary = tmp / "step_summary.md"
    summary.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PATH": f"{python / 'bin'}:{env['PATH']}", "CI": "true",
            "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_REPOSITORY": "classroom/hw-ada",
            "GITHUB_SHA": "0" * 40, "GITHUB_REF": "refs/heads/main", "GITHUB_RUN_ID": "1",
            "GITHUB_EVENT_NAME": "push", "RUNNER_TEMP": str(tmp), "RUNNER_OS": "Linux",
            **extra}


def test_workflows_are_valid_github_workflows(tmp_path):
    student = release_github("deep_chain", tmp_path)
    grading = release_grading("deep_chain", tmp_path)
    validate_workflow(student / ".github" / "workflows" / "check.yml")
    validate_workflow(grading / ".github" / "workflows" / "grade.yml")


def test_the_student_repository_never_holds_the_hidden_suite(tmp_path):
    student = release_github("deep_chain", tmp_path)
    names = {p.relative_to(student).as_posix() for p in student.rglob("*") if p.is_file()}
    assert {"deep_chain.ipynb", "public_tests.py", "requirements.txt",
            ".github/workflows/check.yml", "mlhw_check/__main__.py"} <= names
    assert not [n for n in names if "suites" in n or n.startswith("mlhw_ref")
                or n.startswith("autograder")]
    grading = release_grading("deep_chain", tmp_path)
    assert (grading / "mlhw" / "autograder" / "suites" / "deep_chain").is_dir()
    assert "--require-sandbox" in (grading / ".github" / "workflows" / "grade.yml").read_text()


@pytest.mark.slow
def test_check_workflow_runs_the_public_checks_of_the_committed_notebook(tmp_path):
    template = release_github("deep_chain", tmp_path / "release")
    origin = tmp_path / "origin"
    shutil.copytree(template, origin)
    shutil.copy2(EXAMPLES / "solution.ipynb", origin / "deep_chain.ipynb")
    git("init", "-q", "-b", "main", cwd=origin)
    git("add", "-A", cwd=origin)
    git("commit", "-q", "-m", "my homework", cwd=origin)
    workspace = tmp_path / "work" / "hw-ada"
    python = runner_python(tmp_path)
    reported = {}

    def checkout(step, env, ws):
        git("clone", "-q", str(origin), str(ws), cwd=tmp_path)

    def reporter(step, env, ws):
        for runner in step["with"]["runners"].split(","):
            reported[runner] = json.loads(base64.b64decode(env[f"{runner.upper()}_RESULTS"]))

    seen: dict = {}
    env = runner_env(tmp_path, python, workspace)
    workspace.parent.mkdir(parents=True)
    run_workflow(template / ".github" / "workflows" / "check.yml", workspace, env, seen,
                 {"actions/checkout": checkout, "actions/setup-python": lambda *a: None,
                  "classroom-resources/autograding-grading-reporter": reporter})
    result = reported["public_checks"]
    assert result["version"] == 1 and result["status"] == "pass"
    assert result["max_score"] == len(result["tests"]) > 5
    assert all(t["status"] == "pass" and t["score"] == 1 for t in result["tests"])
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "| check | result | message |" in summary and "passed" in summary


@pytest.mark.slow
def test_grading_workflow_grades_the_last_push_before_the_deadline(tmp_path):
    repos = tmp_path / "students"
    template = release_github("deep_chain", tmp_path / "release")
    for student, before, after in (("ada", "partial", "solution"), ("bob", "solution", None)):
        repo = repos / student
        shutil.copytree(template, repo)
        shutil.copy2(EXAMPLES / f"{before}.ipynb", repo / "deep_chain.ipynb")
        git("init", "-q", "-b", "main", cwd=repo)
        git("add", "-A", cwd=repo)
        git("commit", "-q", "-m", "before", cwd=repo, date="2030-03-01T12:00:00+00:00")
        if after:
            shutil.copy2(EXAMPLES / f"{after}.ipynb", repo / "deep_chain.ipynb")
            git("commit", "-qam", "after the deadline", cwd=repo,
                date="2030-03-02T12:00:00+00:00")
    grading = release_grading("deep_chain", tmp_path / "release")
    (grading / "roster.csv").write_text(
        f"student,repository\nada,{repos / 'ada'}\nbob,{repos / 'bob'}\n")
    workspace = tmp_path / "work" / "grading"
    workspace.parent.mkdir(parents=True)
    python = grading_python(tmp_path)
    uploaded = []

    def checkout(step, env, ws):
        shutil.copytree(grading, ws)

    def upload(step, env, ws):
        for path in step["with"]["path"].split():
            assert (ws / path).exists(), f"{path} was not written"
            uploaded.append(path)

    env = runner_env(tmp_path, python, workspace,
                     PYTHONPATH=str(workspace / "mlhw"),
                     **{"EXPR_inputs.deadline": "2030-03-01T23:59:00+00:00",
                        "EXPR_secrets.CLASSROOM_TOKEN": ""})
    run_workflow(grading / ".github" / "workflows" / "grade.yml", workspace, env, {},
                 {"actions/checkout": checkout, "actions/setup-python": lambda *a: None,
                  "actions/upload-artifact": upload})
    graded = workspace / "graded"
    with (graded / "collected.csv").open() as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    assert rows["ada"]["time"].startswith("2030-03-01T12:00:00")
    assert rows["ada"]["time_source"].startswith("committer date")
    with sqlite3.connect(graded / "grades.db") as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
    assert tables
    with (graded / "grades.csv").open() as handle:
        scores = {r["student"]: float(r["score"]) for r in csv.DictReader(handle)}
    assert scores["bob"] > scores["ada"]  # ada's solution came after the deadline
    assert sorted(p.name for p in (graded / "reports" / "feedback").iterdir()) == [
        "ada.html", "ada.md", "bob.html", "bob.md"]
    assert {"graded/grades.db", "graded/grades.csv", "graded/reports/feedback/"} <= set(uploaded)
