"""`mlhw release NAME --to DIR [--format plain|otter|nbgrader|gradescope|github|github-grading]`.

Each format lives in ``autograder/release/<format>.py`` (a dash in the format's name is an
underscore in the module's) and exposes ``release(name, to) -> Path``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

FORMATS = ("plain", "otter", "nbgrader", "gradescope", "github", "github-grading")


@click.command()
@click.argument("name")
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the bundle into (as DIR/NAME/).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="plain",
    show_default=True,
    help="plain: notebook + public tests + mlhw_check; otter/nbgrader: their formats; "
    "gradescope: autograder.zip; github: a student template repository; github-grading: the "
    "instructor's grading workflow.",
)
def release(name: str, to: Path, fmt: str) -> None:
    """Write the student version of assignment NAME (from assignments/NAME/source.ipynb)."""
    from autograder.release.common import ReleaseError
    from autograder.release.source import SourceError

    try:
        module = importlib.import_module(f"autograder.release.{fmt.replace('-', '_')}")
    except ModuleNotFoundError:
        click.echo(f"mlhw release: the {fmt} format is not available in this version", err=True)
        sys.exit(2)
    try:
        out = module.release(name, to)
    except (ReleaseError, SourceError) as exc:
        click.echo(f"mlhw release: {exc}", err=True)
        sys.exit(1)
    click.echo(f"released {name} ({fmt}) to {out}")
