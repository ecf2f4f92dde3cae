"""`mlhw grade`: submissions graded one after the other in this process, each result printed
and written in the formats asked for."""

from __future__ import annotations

from pathlib import Path

import click

from autograder.sandbox import SandboxConfig

EXIT_BELOW_THRESHOLD = 1
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
    below = False
    for submission in submissions:
        options = GradeOptions(sandbox=sandbox, seed=seed)
        try:
            result = grade_submission(submission, assignment, options)
        except GraderError as exc:
            click.echo(f"mlhw: the grader could not run: {exc}", err=True)
            return EXIT_GRADER_FAILED
        paths = [json_path, gradescope, junit]
        if len(submissions) > 1:
            suffixes = [".json", ".json", ".xml"]
            paths = [None if p is None else p / f"{submission.stem}{s}" for p, s in zip(paths, suffixes)]
            for p in paths:
                if p is not None:
                    p.parent.mkdir(parents=True, exist_ok=True)
        write_all(result, json_path=paths[0], gradescope_path=paths[1], junit_path=paths[2])
        if quiet:
            click.echo(f"{result.submission}: {result.score:g} / {result.max_score:g}")
        else:
            render(result)
        for entry in options.log:
            click.echo(f"[grader log] {entry}", err=True)
        below |= fail_under is not None and result.score < fail_under
    return EXIT_BELOW_THRESHOLD if below else 0
