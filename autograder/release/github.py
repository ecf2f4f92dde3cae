"""`mlhw release NAME --format github`: a student template repository for GitHub Classroom.

``DIR/<name>/`` is the plain bundle (notebook, public tests, ``mlhw_check/``, data,
``requirements.txt``) plus ``.github/workflows/check.yml``: on every push it installs
``requirements.txt``, runs ``python -m mlhw_check`` (the notebook top to bottom, then every
public check), writes the table to ``$GITHUB_STEP_SUMMARY`` and hands the result to GitHub
Classroom's autograding reporter (one point per public check passed). The hidden suite never
enters this repository; ``--format github-grading`` writes the instructor's side.
"""

from __future__ import annotations

from pathlib import Path

from .plain import release_plain
from .source import Source, load_source

TEMPLATES = Path(__file__).parent / "templates" / "github"
GITIGNORE = ".ipynb_checkpoints/\n__pycache__/\n*.pyc\n.venv/\n"


def template(name: str, assignment: str) -> str:
    """The text of workflow template ``name`` for ``assignment``."""
    return (TEMPLATES / name).read_text().replace("@ASSIGNMENT@", assignment)


def release_github(source: Source, to: str | Path) -> Path:
    """Write the template repository of ``source`` into ``to/<name>/`` and return it."""
    out = release_plain(source, to)
    workflows = out / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    (workflows / "check.yml").write_text(template("check.yml", source.name))
    (out / ".gitignore").write_text(GITIGNORE)
    return out


def release(name: str | Source, to: str | Path) -> Path:
    """`mlhw release NAME --to DIR --format github`: see ``release_github``."""
    return release_github(name if isinstance(name, Source) else load_source(name), to)
