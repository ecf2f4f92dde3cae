"""`mlhw grade`: submissions graded one after the other in this process, each result printed
and written in the formats asked for."""

from __future__ import annotations

from pathlib import Path

import click

from autograder.sandbox import SandboxConfig

EXIT_BELOW_THRESHOLD = 1
EXIT_NOT_WRITTEN = 2  # a report path that cannot be written: wrong usage
EXIT_GRADER_FAILED = 3


def run_grade(submissions: tuple[Path, ...], assignment: str, *, sandbox: SandboxConfig,
              json_path: Path | None = None, gradescope: Path | None = None,
              junit: Path | None = None, seed: int | None = None, html: Path | None = None,
              fail_under: float | None = None, quiet: bool = False, force: bool = False,
              profile: bool = False) -> int:
    """The `grade` command; returns its exit code."""
    problem = check_request(submissions, assignment, sandbox, force=force)
    if problem is not None:
        code, line = problem
        click.echo(f"mlhw: {line}", err=True)
        return code
    from autograder.worker import prestart_worker

    prestart_worker(sandbox)  # it starts while pytest and the rest are imported below

    from autograder.reporters import write_all
    from autograder.reporters.terminal import render
    from autograder.runner import GradeOptions, GraderError, grade_submission
    below = failed = False
    for submission in submissions:
        options = GradeOptions(sandbox=sandbox, seed=seed, force=force,
                               profile=[] if profile else None)
        try:
            result = grade_submission(submission, assignment, options)
        except GraderError as exc:
            click.echo(f"mlhw: the grader could not run: {exc}", err=True)
            return EXIT_GRADER_FAILED
        if quiet:
            click.echo(f"{result.submission}: {result.score:g} / {result.max_score:g}")
        else:
            render(result)
        for entry in options.log:
            click.echo(f"[grader log] {entry}", err=True)
        if options.profile is not None:
            from autograder.profile import profile_table

            click.echo(profile_table(options.profile))
        paths = report_paths(submission, (json_path, gradescope, junit), len(submissions) > 1)
        try:
            write_all(result, json_path=paths[0], gradescope_path=paths[1], junit_path=paths[2])
            if html is not None:
                from autograder.reporters.html import feedback_path, write_html

                write_html(result, feedback_path(submission, html, len(submissions) > 1))
        except OSError as exc:
            click.echo(f"mlhw: the result could not be written: {exc}", err=True)
            failed = True
        below |= fail_under is not None and result.score < fail_under
    if failed:
        return EXIT_NOT_WRITTEN
    return EXIT_BELOW_THRESHOLD if below else 0


def check_request(submissions: tuple[Path, ...], assignment: str, sandbox: SandboxConfig, *,
                  force: bool = False) -> tuple[int, str] | None:
    """``(exit code, one line)`` when the command cannot grade as asked, before any grading:
    an unknown assignment, a missing file, a notebook of another assignment (unless
    ``force``), or ``--require-sandbox`` where bubblewrap cannot be used."""
    from autograder.runner import GraderError, suite_dir, wrong_assignment

    try:
        suite_dir(assignment)
    except GraderError as exc:
        return EXIT_GRADER_FAILED, str(exc)
    problem = sandbox_problem(sandbox)
    if problem:
        return EXIT_GRADER_FAILED, problem
    for submission in submissions:
        if not submission.exists():
            return EXIT_NOT_WRITTEN, f"{submission}: no such file or folder"
        named = notebook_assignment(submission)
        if named not in (None, assignment) and not force:
            return EXIT_NOT_WRITTEN, (f"{wrong_assignment(submission.name, named, assignment)}; "
                                      f"grade it with --assignment {named}, or add --force")
    return None


def sandbox_problem(sandbox: SandboxConfig) -> str | None:
    """Why the worker cannot have the isolation ``sandbox`` requires here, or None."""
    from autograder.sandbox import choose_isolation

    try:
        choose_isolation(sandbox)
    except RuntimeError:
        return ("--require-sandbox: bubblewrap cannot isolate the student's code here; "
                "install it (apt-get install bubblewrap) and grade as root, or leave out "
                "--require-sandbox to grade with reduced isolation")
    return None


def notebook_assignment(path: Path) -> str | None:
    """The assignment a notebook file's metadata names (None for anything else)."""
    import json

    from autograder.submission.notebooks import named_assignment

    if path.suffix != ".ipynb" or not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return named_assignment(data.get("metadata")) if isinstance(data, dict) else None


def report_paths(submission: Path, paths: tuple[Path | None, ...], several: bool
                 ) -> list[Path | None]:
    """Where the --json, --gradescope and --junit reports of ``submission`` go: the paths as
    given, or a file named after the submission inside each one that is a folder (always
    with several submissions)."""
    out: list[Path | None] = []
    for path, suffix in zip(paths, (".json", ".json", ".xml")):
        if path is not None and (several or path.is_dir()):
            path.mkdir(parents=True, exist_ok=True)
            path = path / f"{submission.stem}{suffix}"
        out.append(path)
    return out
