"""The `mlhw` command line.

Exit codes: 0 grading ran (whatever the score); 1 the score is below ``--fail-under``;
2 wrong usage (or a report that cannot be written); 3 the grader itself could not run
(unknown assignment, broken suite, no worker).
Each verb's work is in its own module (``grade_cli``, ``class_cli``, ``release/``, ...); the
sandbox limits' defaults are ``SandboxConfig``'s.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from autograder import keep_freed_memory, one_thread_per_grader
from autograder.sandbox import SandboxConfig

LIMITS = SandboxConfig()  # the defaults of --timeout, --total-timeout and --memory


def limit_options(worker: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--timeout``, ``--total-timeout`` and ``--memory``, defaulting to ``SandboxConfig``'s."""
    options = [
        click.option("--timeout", type=float, default=LIMITS.call_timeout, show_default=True,
                     help="Seconds allowed per call."),
        click.option("--total-timeout", type=float, default=LIMITS.submission_timeout,
                     show_default=True, help="Seconds allowed per submission."),
        click.option("--memory", type=int, default=LIMITS.memory_bytes // 2**20,
                     show_default=True, help=f"Memory limit of {worker} in MB."),
    ]

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


require_sandbox_option = click.option(
    "--require-sandbox", is_flag=True,
    help="Refuse to grade unless bubblewrap isolates the student's code (CI, Gradescope).")


class _Commands(click.Group):
    """The commands, those defined elsewhere imported only when named (release's import
    nbformat's schemas: 0.1 s that every `grade-class` would pay)."""

    elsewhere = {"release": "autograder.release.cli:release",
                 "grade-github": "autograder.release.github_grading:grade_github"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.elsewhere])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.elsewhere:
            module, attr = self.elsewhere[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=_Commands)
@click.version_option(package_name="mlhw")
def main() -> None:
    """mlhw: auto-graded machine-learning homework."""
    one_thread_per_grader()
    keep_freed_memory()


@main.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--assignment", "-a", required=True, help="Assignment name, e.g. deep_chain.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the full result as JSON.")
@click.option("--gradescope", type=click.Path(path_type=Path), help="Write Gradescope's results.json.")
@click.option("--junit", type=click.Path(path_type=Path), help="Write JUnit XML (for CI).")
@click.option("--html", type=click.Path(path_type=Path),
              help="Write the student's feedback page (self-contained HTML).")
@limit_options("the worker")
@click.option("--seed", type=int, default=None, help="Reuse the seed of an earlier run (regrade).")
@click.option("--fail-under", type=float, default=None, help="Exit with code 1 when a score is below this.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the score line.")
@click.option("--force", is_flag=True,
              help="Grade a notebook whose metadata names another assignment all the same.")
@click.option("--profile", is_flag=True,
              help="Print each test's time: the student's calls, the reference, the engine.")
@require_sandbox_option
def grade(submissions: tuple[Path, ...], assignment: str, json_path: Path | None,
          gradescope: Path | None, junit: Path | None, html: Path | None,
          timeout: float | None,
          total_timeout: float | None, memory: int | None, seed: int | None,
          fail_under: float | None, quiet: bool, force: bool, require_sandbox: bool,
          profile: bool) -> None:
    """Grade SUBMISSIONS (.ipynb, .py, or an otter export .zip) against an assignment's suite.

    With several submissions they are graded one after the other in this process (the
    grader starts once, the next worker is started while one is graded), and --json,
    --gradescope and --junit name folders that get one file per submission. For a whole
    class, in parallel and into a gradebook, use grade-class.
    """
    from autograder.grade_cli import run_grade

    sys.exit(run_grade(submissions, assignment,
                       sandbox=_sandbox_config(timeout, total_timeout, memory, require_sandbox),
                       json_path=json_path, gradescope=gradescope, junit=junit, html=html,
                       seed=seed,
                       fail_under=fail_under, quiet=quiet, force=force, profile=profile))


@main.command("grade-class")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--assignment", "-a", required=True, help="Assignment name, e.g. deep_chain.")
@click.option("--gradebook", type=click.Path(path_type=Path), default=Path("grades.db"),
              show_default=True, help="SQLite gradebook (created, or resumed).")
@click.option("--workers", "-j", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Grader processes working in parallel.")
@click.option("--pin/--no-pin", default=True, show_default=True,
              help="When the workers are as many as the CPUs or more, hold each (and its "
              "sandbox) to one CPU; --no-pin on a machine busy with other work.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for each student's result.json, results.json and junit.xml, and "
              "feedback/ with each student's page (<student>.html, .md) to hand out.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="Also write the assignment's gradebook as CSV.")
@click.option("--regrade", is_flag=True, help="Grade again students already in the gradebook.")
@limit_options("each worker")
@click.option("--seed", type=int, default=None, help="One seed for every student (default: a secret one each).")
@require_sandbox_option
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Grade on a Dask cluster (e.g. tcp://HOST:8786) instead of local processes.")
def grade_class(folder: Path, assignment: str, gradebook: Path, workers: int, pin: bool,
                out: Path | None, csv_path: Path | None, regrade: bool, timeout: float | None,
                total_timeout: float | None, memory: int | None, seed: int | None,
                require_sandbox: bool, scheduler: str | None) -> None:
    """Grade every submission in FOLDER into a gradebook.

    FOLDER holds <student>.ipynb / .py / .zip files, <student>/ folders, or is nbgrader's
    submitted/ tree. Each student is recorded as soon as graded; a rerun skips the students
    whose submission did not change, so an interrupted run resumes where it stopped.
    """
    from autograder.class_cli import run_grade_class

    sys.exit(run_grade_class(folder, assignment, gradebook, workers=workers, pin=pin, out=out,
                             csv_path=csv_path, regrade=regrade, seed=seed,
                             sandbox=_sandbox_config(timeout, total_timeout, memory,
                                                     require_sandbox), scheduler=scheduler))


@main.command()
@click.argument("gradebook", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--assignment", "-a", default=None, help="Only this assignment (default: each one).")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), required=True,
              help="CSV file to write; with several assignments, NAME is added before .csv.")
def export(gradebook: Path, assignment: str | None, csv_path: Path) -> None:
    """Write a gradebook's grades as CSV (one line per student, one column per question)."""
    from autograder.gradebook import Gradebook
    from autograder.manual import manual_points

    with Gradebook(gradebook) as book:
        names = [assignment] if assignment else book.assignments()
        if assignment is not None and assignment not in book.assignments():
            known = ", ".join(book.assignments()) or "none"
            raise click.ClickException(f"{gradebook} holds no grades of {assignment!r} "
                                       f"(it has: {known})")
        for name in names:
            target = csv_path if len(names) == 1 else csv_path.with_name(f"{csv_path.stem}_{name}.csv")
            count = book.write_csv(target, name, manual_points(name))
            click.echo(f"{name}: {count} students -> {target}")


@main.command()
@click.argument("gradebook", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--assignment", "-a", required=True, help="Assignment name, e.g. deep_chain.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for one page per written question.")
def written(gradebook: Path, assignment: str, out: Path) -> None:
    """Write one HTML page per written question: every student's answer side by side."""
    from autograder.gradebook import Gradebook
    from autograder.manual import ManualGradingError, write_pages

    try:
        with Gradebook(gradebook) as book:
            pages = write_pages(book, assignment, out)
    except ManualGradingError as exc:
        raise click.ClickException(str(exc)) from None
    for page in pages:
        click.echo(page)


@main.command()
@click.argument("gradebook", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--assignment", "-a", required=True, help="Assignment name, e.g. deep_chain.")
@click.option("--student", help="The student to score.")
@click.option("--question", help="The written question, e.g. q7.")
@click.option("--points", type=float, help="Points given (0 to the question's manual points).")
@click.option("--comment", default="", help="A comment the student sees.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Import scores from a CSV with columns student, question, points, comment.")
def score(gradebook: Path, assignment: str, student: str | None, question: str | None,
          points: float | None, comment: str, csv_path: Path | None) -> None:
    """Record hand-given scores of written answers in the gradebook (kept across regrades)."""
    from autograder.gradebook import Gradebook
    from autograder.manual import ManualGradingError, import_scores
    from autograder.manual import score as record

    try:
        with Gradebook(gradebook) as book:
            if csv_path is not None:
                click.echo(f"{import_scores(book, assignment, csv_path)} scores recorded")
            elif None in (student, question, points):
                raise click.UsageError("give --student, --question and --points, or --csv")
            else:
                spec = record(book, assignment, student, question, points, comment)
                click.echo(f"{student} {question}: {points:g} / {spec.points:g}")
    except ManualGradingError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Where to write reports.")
def demo(out: Path | None) -> None:
    """Grade the bundled example class of every assignment and print the gradebook."""
    from autograder.demo import run_demo

    sys.exit(run_demo(out))


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("out/experiments"),
              show_default=True, help="Folder for the plots.")
@click.option("--quick", is_flag=True, help="Fewer iterations and epochs.")
def experiments(out: Path, quick: bool) -> None:
    """Run the reference experiments of all five assignments on the bundled data."""
    from mlhw_ref.experiments import run_all

    run_all(out, quick=quick)


@main.command()
@click.argument("name")
@click.option("--question", default=None, help="Only the mutants of this question, e.g. q3.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write the HTML report here.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Grader processes working in parallel (as many as the CPUs or more: "
              "each is held to one CPU with its sandbox).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The one seed every grading of the run uses (the report is reproducible).")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Grade at most N mutants, taken in turn from each question and operator.")
@click.option("--list", "list_only", is_flag=True, help="List the mutants; grade nothing.")
@limit_options("each worker")
def mutants(name: str, question: str | None, out: Path | None, jobs: int, seed: int,
            limit: int | None, list_only: bool, timeout: float | None,
            total_timeout: float | None, memory: int | None) -> None:
    """Grade mutants of NAME's worked solution with its hidden suite (issue #14).

    Each mutant changes one spot of the code a student writes (a sign, an operator, an
    index, an axis, a transpose, a factor, sum/mean, a sibling function, a constant); it is
    killed when its own question loses points. Equivalent mutants are marked in
    autograder/suites/NAME/equivalent_mutants.toml.
    """
    from autograder.mutants.cli import run_mutants

    sys.exit(run_mutants(name, question=question, out=out, jobs=jobs, seed=seed, limit=limit,
                         list_only=list_only,
                         sandbox=_sandbox_config(timeout, total_timeout, memory)))


def _sandbox_config(timeout: float | None, total_timeout: float | None,
                    memory: int | None, require_sandbox: bool = False) -> SandboxConfig:
    """The default SandboxConfig with the limits given on the command line."""
    from dataclasses import replace

    overrides = {"call_timeout": timeout, "submission_timeout": total_timeout,
                 "memory_bytes": memory * 2**20 if memory else None,
                 "isolation": "bubblewrap" if require_sandbox else None}
    return replace(SandboxConfig(), **{k: v for k, v in overrides.items() if v is not None})


def run() -> NoReturn:
    """The `mlhw` console script: `main`, then exit without tearing down the interpreter.

    Freeing NumPy, pytest and the rest at exit costs ~0.1 s per command, a fifth of grading
    a small submission. Exit handlers still run (workers are killed, temporary folders
    removed) and output is flushed; only the module teardown is skipped.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    run()
