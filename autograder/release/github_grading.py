"""`mlhw release NAME --format github-grading` and `mlhw grade-github`: the instructor's side
of GitHub Classroom.

The release writes ``DIR/<name>-grading/``, a template for the instructor's *private*
repository: ``.github/workflows/grade.yml``, ``roster.csv`` (``student,repository``) and
``mlhw/`` (the project with this assignment's hidden suite, as in the Gradescope zip). The
workflow's work is one command, ``mlhw grade-github roster.csv --assignment NAME --deadline
D --out graded``:

1. clones each student's repository and picks the last commit pushed before the deadline.
   Commit dates are set by the student's machine, so the time GitHub's server recorded for
   each push is used where it can be read (the repository activity API, with
   ``$GITHUB_TOKEN``); otherwise, for a repository that is not on GitHub or an API that does
   not answer, the committer date of the last first-parent commit of the default branch
   before the deadline (which a student could set by hand). ``graded/collected.csv`` says,
   per student, which commit and which time was used;
2. copies its notebook to ``graded/submissions/<student>.ipynb``;
3. runs ``grade-class`` into ``graded/grades.db`` with ``graded/grades.csv`` and
   ``graded/reports/`` (``reports/feedback/`` is what students get).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click

from .common import ReleaseError
from .gradescope import project_files
from .source import REPO, Source, load_source

ROSTER_HEADER = "student,repository\n"
GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
STUDENT = re.compile(r"^[A-Za-z0-9_.@+-]{1,100}$")


def release_github_grading(source: Source, to: str | Path) -> Path:
    """Write the grading repository template into ``to/<name>-grading/`` and return it."""
    from .github import template

    name = source.name
    if not (REPO / "autograder" / "suites" / name).is_dir():
        raise ReleaseError(f"{name} has no hidden suite (autograder/suites/{name}/)")
    out = Path(to) / f"{name}-grading"
    if (out / "mlhw").exists():
        shutil.rmtree(out / "mlhw")
    workflows = out / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    (workflows / "grade.yml").write_text(template("grade.yml", name))
    roster = out / "roster.csv"
    if not roster.exists():  # the instructor's list is never overwritten
        roster.write_text(ROSTER_HEADER + f"ada,my-classroom/{name}-ada\n")
    for path, rel in project_files(name):
        target = out / "mlhw" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    (out / ".gitignore").write_text("graded/\n__pycache__/\n")
    return out


def release(name: str | Source, to: str | Path) -> Path:
    """`mlhw release NAME --to DIR --format github-grading`: see ``release_github_grading``."""
    return release_github_grading(name if isinstance(name, Source) else load_source(name), to)


# ------------------------------------------------------------------------------ collecting
@dataclass(frozen=True)
class Collected:
    student: str
    repository: str
    commit: str = ""
    time: str = ""
    time_source: str = ""
    note: str = ""


def _git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip()
                           else f"git {args[0]} failed")
    return proc.stdout.strip()


def _clone_url(repository: str, token: str | None) -> str:
    if GITHUB_REPO.match(repository) and not Path(repository).exists():
        auth = f"x-access-token:{token}@" if token else ""
        return f"https://{auth}github.com/{repository}.git"
    return repository


def pushed_before(repository: str, branch: str, deadline: datetime,
                  token: str | None) -> tuple[str, str] | None:
    """(commit, time) of the last push to ``branch`` before ``deadline`` as GitHub's server
    recorded it (the repository activity API), or None where that cannot be read."""
    if not token or not GITHUB_REPO.match(repository) or Path(repository).exists():
        return None
    import urllib.request

    url = (f"https://api.github.com/repos/{repository}/activity?per_page=100"
           f"&ref=refs/heads/{branch}")
    request = urllib.request.Request(url, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (https)
            events = json.load(response)
    except (OSError, ValueError):
        return None
    pushes = [e for e in events if isinstance(e, dict) and e.get("after")
              and e.get("activity_type") in ("push", "force_push", "branch_creation")]
    for event in sorted(pushes, key=lambda e: e.get("timestamp", ""), reverse=True):
        when = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        if when <= deadline:
            return event["after"], when.isoformat()
    return None


def collect(roster: Path, deadline: datetime, dest: Path, token: str | None = None
            ) -> list[Collected]:
    """Check out each student of ``roster`` at the last push before ``deadline`` and copy
    the notebook to ``dest/submissions/``; returns what was collected, per student."""
    from .gradescope_run import NoSubmission, find_submission

    submissions = dest / "submissions"
    if submissions.exists():
        shutil.rmtree(submissions)
    submissions.mkdir(parents=True)
    repos = dest / "repos"
    out = []
    with roster.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        student = (row.get("student") or "").strip()
        repository = (row.get("repository") or "").strip()
        if not STUDENT.match(student) or not repository:
            out.append(Collected(student, repository, note="skipped: not a student,repository line"))
            continue
        clone = repos / student
        try:
            if clone.exists():
                shutil.rmtree(clone)
            _git("clone", "--quiet", "--no-checkout", _clone_url(repository, token), str(clone))
            branch = _git("symbolic-ref", "--short", "refs/remotes/origin/HEAD", cwd=clone)
            branch = branch.removeprefix("origin/")
            found = pushed_before(repository, branch, deadline, token)
            source = "push time recorded by GitHub"
            if found is None:
                commit = _git("rev-list", "-1", "--first-parent", f"--before={deadline.isoformat()}",
                              f"origin/{branch}", cwd=clone)
                when = _git("show", "-s", "--format=%cI", commit, cwd=clone) if commit else ""
                found = (commit, when) if commit else None
                source = "committer date (set by the student's machine)"
            if found is None:
                out.append(Collected(student, repository, note="no commit before the deadline"))
                continue
            _git("checkout", "--quiet", "--detach", found[0], cwd=clone)
            notebook = find_submission(clone)
            shutil.copy2(notebook, submissions / f"{student}{notebook.suffix}")
            out.append(Collected(student, repository, found[0], found[1], source))
        except (RuntimeError, NoSubmission, OSError) as exc:
            out.append(Collected(student, repository, note=f"not collected: {exc}"))
    with (dest / "collected.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "repository", "commit", "time", "time_source", "note"])
        for c in out:
            writer.writerow([c.student, c.repository, c.commit, c.time, c.time_source, c.note])
    return out


@click.command("grade-github")
@click.argument("roster", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--assignment", "-a", required=True, help="Assignment name, e.g. deep_chain.")
@click.option("--deadline", required=True,
              help="ISO 8601 with a time zone, e.g. 2025-03-01T23:59:00+01:00.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("graded"),
              show_default=True, help="Folder for submissions, gradebook, CSV and reports.")
@click.option("--workers", "-j", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--require-sandbox", is_flag=True,
              help="Refuse to grade without bubblewrap.")
def grade_github(roster: Path, assignment: str, deadline: str, out: Path, workers: int,
                 require_sandbox: bool) -> None:
    """Grade every student of ROSTER (CSV: student,repository) at the last commit pushed
    before the deadline, into OUT/grades.db, OUT/grades.csv and OUT/reports/."""
    import sys
    from dataclasses import replace

    from autograder.class_cli import run_grade_class
    from autograder.sandbox import SandboxConfig

    try:
        when = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{deadline!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise click.BadParameter(f"{deadline!r} has no time zone; add one (+01:00, Z)")
    out.mkdir(parents=True, exist_ok=True)
    collected = collect(roster, when, out, os.environ.get("GITHUB_TOKEN") or None)
    for c in collected:
        line = f"{c.student}: {c.commit[:12]} ({c.time}, {c.time_source})" if c.commit \
            else f"{c.student}: {c.note}"
        click.echo(line)
    if not any(c.commit for c in collected):
        click.echo("mlhw: no student's notebook was collected; nothing to grade", err=True)
        sys.exit(3)
    sandbox = SandboxConfig()
    if require_sandbox:
        sandbox = replace(sandbox, isolation="bubblewrap")
    sys.exit(run_grade_class(out / "submissions", assignment, out / "grades.db",
                             workers=workers, out=out / "reports", csv_path=out / "grades.csv",
                             regrade=False, seed=None, sandbox=sandbox))
