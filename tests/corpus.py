"""The submission corpus as data: a notebook and its expected grade, side by side.

Each case is ``tests/submissions/<assignment>/<case>.expected.toml``: a comment saying what
the case is, optionally ``notebook = "..."`` (relative to the repository; the example class
lives under ``assignments/<assignment>/examples/``), the exact ``[scores]`` per question and,
in ``[feedback]``, words each question's output must contain. The notebook is otherwise
``<case>.ipynb`` beside it. ``corpus.toml`` in the same folder says how its cases are graded.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.runner import GradeOptions, grade_submission
from autograder.sandbox import SandboxConfig

ROOT = Path(__file__).parents[1]
SUBMISSIONS = ROOT / "tests" / "submissions"


@dataclass(frozen=True)
class Case:
    assignment: str
    name: str
    expected_file: Path
    notebook: Path
    scores: dict[str, float]
    feedback: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def id(self) -> str:
        return f"{self.assignment}/{self.name}"


def load_case(expected_file: Path) -> Case:
    data = tomllib.loads(expected_file.read_text())
    name = expected_file.name.removesuffix(".expected.toml")
    notebook = ROOT / data["notebook"] if "notebook" in data else expected_file.with_name(f"{name}.ipynb")
    return Case(expected_file.parent.name, name, expected_file, notebook,
                {q: float(s) for q, s in data["scores"].items()}, data.get("feedback", {}))


def all_cases() -> list[Case]:
    return [load_case(p) for p in sorted(SUBMISSIONS.glob("*/*.expected.toml"))]


def case(assignment: str, name: str) -> Case:
    return load_case(SUBMISSIONS / assignment / f"{name}.expected.toml")


def example_class(assignment: str) -> list[Case]:
    """The corpus cases whose notebooks are the assignment's example class (`mlhw demo`)."""
    examples = ROOT / "assignments" / assignment / "examples"
    return [c for c in all_cases() if c.assignment == assignment and c.notebook.parent == examples]


def grade_options(assignment: str, **sandbox_overrides: float) -> GradeOptions:
    """The options ``corpus.toml`` sets for an assignment's corpus."""
    settings = tomllib.loads((SUBMISSIONS / assignment / "corpus.toml").read_text())
    sandbox = SandboxConfig(**{**settings.get("sandbox", {}), **sandbox_overrides})
    return GradeOptions(sandbox=sandbox, seed=settings["seed"])


def grade(assignment: str, name: str, **sandbox_overrides: float):
    """Grade one case (its notebook, wherever it lives) with its corpus settings."""
    return grade_submission(case(assignment, name).notebook, assignment,
                            grade_options(assignment, **sandbox_overrides))


def scores(result) -> dict[str, float]:
    return {q.question: q.score for q in result.questions()}


def outputs(result, question: str) -> str:
    return "\n".join(t.output for t in result.tests if t.question == question)


def rewrite_scores(c: Case, new_scores: dict[str, float]) -> str:
    """Replace the ``[scores]`` table of the case's file; returns the unified diff."""
    old = c.expected_file.read_text()
    lines = old.splitlines()
    start = lines.index("[scores]")
    end = start + 1
    while end < len(lines) and lines[end].strip() and not lines[end].startswith("["):
        end += 1
    table = [f"{q} = {float(s)!r}" for q, s in sorted(new_scores.items(), key=lambda kv: int(kv[0][1:]))]
    new = "\n".join(lines[:start + 1] + table + lines[end:]) + "\n"
    c.expected_file.write_text(new)
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        str(c.expected_file.relative_to(ROOT)), "graded now"))
