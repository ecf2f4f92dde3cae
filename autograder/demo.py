"""`mlhw demo`: grade the bundled example class of every assignment and print a gradebook."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.reporters import write_all
from autograder.results import SubmissionResult
from autograder.runner import GradeOptions, available_assignments, grade_submission

EXAMPLES = Path(__file__).resolve().parent.parent / "assignments"


def example_class(assignment: str) -> list[Path]:
    """The example submissions shipped for ``assignment`` (sorted by file name)."""
    return sorted((EXAMPLES / assignment / "examples").glob("*.ipynb"))


def run_demo(out: Path | None = None, console: Console | None = None) -> int:
    """Grade every example class; write each student's reports under ``out``. Returns 0."""
    console = console or Console()
    out = Path(out) if out else Path(tempfile.mkdtemp(prefix="mlhw-demo-"))
    released = release_all(out / "release")
    if released:
        console.print(f"released {', '.join(released)} (plain format) to {out / 'release'}")
    for assignment in available_assignments():
        submissions = example_class(assignment)
        if not submissions:
            continue
        results = []
        with console.status(f"grading the {assignment} example class") as status:
            for path in submissions:
                status.update(f"grading {assignment}: {path.stem}")
                result = grade_submission(path, assignment, GradeOptions())
                folder = out / assignment / path.stem
                folder.mkdir(parents=True, exist_ok=True)
                write_all(result, json_path=folder / "result.json",
                          gradescope_path=folder / "results.json", junit_path=folder / "junit.xml")
                results.append(result)
        console.print(gradebook_table(assignment, results))
        console.print(f"isolation: {results[0].isolation}")
    console.print(f"reports written to {out}")
    return 0


def release_all(to: Path) -> list[str]:
    """Release every assignment that has a source notebook; returns their names."""
    from autograder.release.plain import release_plain

    names = sorted(p.parent.name for p in EXAMPLES.glob("*/source.ipynb"))
    for name in names:
        release_plain(name, to)
    return names


def gradebook_table(assignment: str, results: list[SubmissionResult]) -> Table:
    """One row per student, one column per question, then total and time."""
    questions = [q for q in results[0].questions() if q.max_score > 0]
    table = Table(title=f"{assignment}: example class")
    table.add_column("submission")
    for q in questions:
        table.add_column(f"{q.question}\n/{q.max_score:g}", justify="right")
    table.add_column(f"total\n/{results[0].max_score:g}", justify="right", style="bold")
    table.add_column("s", justify="right")
    for result in results:
        by_question = {q.question: q for q in result.questions()}
        cells = [f"{by_question[q.question].score:g}" for q in questions]
        table.add_row(Path(result.submission).stem, *cells, f"{result.score:g}",
                      f"{result.execution_time:.1f}")
    return table
