"""`mlhw demo`: release every assignment, grade the bundled example class of each into a
gradebook, and print it, with where each example student's HTML feedback page is."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console

from autograder.batch import find_submissions
from autograder.class_cli import grade_with_progress, print_gradebook
from autograder.gradebook import Gradebook
from autograder.runner import available_assignments

EXAMPLES = Path(__file__).resolve().parent.parent / "assignments"
# One fixed seed, so the demo prints the same scores on every run (a real class gets a
# secret seed per student, recorded in the gradebook).
DEMO_SEED = 1234


def example_folder(assignment: str) -> Path:
    """The folder of example submissions shipped for ``assignment``."""
    return EXAMPLES / assignment / "examples"


def run_demo(out: Path | None = None, console: Console | None = None, workers: int = 2) -> int:
    """Grade every example class; reports and the gradebook go under ``out``. Returns the
    exit code (3 if the grader failed on a submission)."""
    console = console or Console()
    out = Path(out) if out else Path(tempfile.mkdtemp(prefix="mlhw-demo-"))
    released = release_all(out / "release")
    if released:
        console.print(f"released {', '.join(released)} (plain format) to {out / 'release'}")
    failed = False
    with Gradebook(out / "gradebook.db") as book:
        for assignment in available_assignments():
            if not example_folder(assignment).is_dir():
                continue
            submissions = find_submissions(example_folder(assignment), assignment)
            summary = grade_with_progress(console, submissions, assignment, book,
                                          workers=workers, out=out / assignment, regrade=True,
                                          seed=DEMO_SEED)
            print_gradebook(console, book, assignment, f"{assignment}: example class")
            console.print(summary.line(), markup=False, soft_wrap=True)
            for failure in summary.failures:
                console.print(f"not graded: {failure}", markup=False)
            failed |= bool(summary.failures)
    console.print(f"reports in {out}, gradebook {out / 'gradebook.db'}")
    pages = sorted(out.glob("*/feedback/*.html"))
    if pages:
        folders = ", ".join(str(p) for p in sorted({page.parent for page in pages}))
        console.print(f"{len(pages)} feedback pages for the example students in {folders}",
                      markup=False, soft_wrap=True)
    return 3 if failed else 0


def release_all(to: Path) -> list[str]:
    """Release every assignment that has a source notebook; returns their names."""
    from autograder.release.plain import release_plain

    names = sorted(p.parent.name for p in EXAMPLES.glob("*/source.ipynb"))
    for name in names:
        release_plain(name, to)
    return names
