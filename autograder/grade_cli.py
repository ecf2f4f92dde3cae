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
              junit: Path | None = None, seed: int | None = None,
              fail_under: float | None = None, quiet: bool = False) -> int:
    """The `grade` command; returns its exit code."""
    from autograder.worker import prestart_worker

    prestart_worker(sandbox)  # it starts while pytest and the rest are imported below

    from autograder.reporters import write_all
    from autograder.reporters.terminal import render
    from autograder.runner import GradeOptions, GraderError, grade_submission
    below = failed = False
    for submission in submissions:
        options = GradeOptions(sandbox=sandbox, seed=seed)
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
        paths = report_paths(submission, (json_path, gradescope, junit), len(submissions) > 1)
        try:
            write_all(result, json_path=paths[0], gradescope_path=paths[1], junit_path=paths[2])
        except OSError as exc:
            click.echo(f"mlhw: the result could not be written: {exc}", err=True)
            failed = True
        below |= fail_under is not None and result.score < fail_under
    if failed:
        return EXIT_NOT_WRITTEN
    return EXIT_BELOW_THRESHOLD if below else 0


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
