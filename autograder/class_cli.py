"""`mlhw grade-class` (and the demo's grading): a class graded with a progress bar, reports
written per student, and the gradebook printed at the end."""

from __future__ import annotations

import signal
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autograder.batch import ClassSubmission, find_submissions, grade_class
from autograder.grade_cli import EXIT_GRADER_FAILED
from autograder.gradebook import Gradebook
from autograder.manual import manual_points
from autograder.reporters import write_folder
from autograder.reporters.html import write_feedback
from autograder.reporters.terminal import class_table, safe
from autograder.sandbox import SandboxConfig

FEEDBACK = "feedback"  # --out's folder of pages for students: <student>.html and .md

EXIT_INTERRUPTED = 130  # as a shell reports Ctrl-C


@dataclass
class BatchSummary:
    """Counts of one batch, the grader failures, and the isolation the workers had."""

    graded: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    isolation: set[str] = field(default_factory=set)

    def line(self) -> str:
        return (f"graded {self.graded}, unchanged and skipped {self.skipped}, grader failures "
                f"{len(self.failures)}; isolation: {', '.join(sorted(self.isolation)) or '-'}")


def grade_with_progress(console: Console, submissions: list[ClassSubmission], assignment: str,
                        book: Gradebook, *, workers: int, out: Path | None,
                        sandbox: SandboxConfig | None = None, seed: int | None = None,
                        regrade: bool = False, scheduler: str | None = None,
                        pin: bool = True) -> BatchSummary:
    """Grade ``submissions`` into ``book``, with a progress bar."""
    summary = BatchSummary()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"grading {assignment}", total=len(submissions))
        for done in grade_class(submissions, assignment, book, workers=workers, sandbox=sandbox,
                                seed=seed, regrade=regrade, scheduler=scheduler, pin=pin):
            progress.advance(task)
            if not console.is_terminal:  # a log, not a bar: one line per finished student
                console.print(f"[{summary.graded + summary.skipped + len(summary.failures) + 1}"
                              f"/{len(submissions)}] {done.student}: {_outcome(done)}",
                              markup=False, soft_wrap=True)
            for entry in done.log:
                console.print(f"[grader log] {done.student}: {safe(entry)}", markup=False, soft_wrap=True)
            if done.skipped:
                summary.skipped += 1
            elif done.error:
                summary.failures.append(f"{done.student}: {done.error}")
            else:
                summary.graded += 1
                summary.isolation.add(done.result.isolation)
                if out is not None:
                    write_folder(done.result, out / done.student)
                    write_feedback(done.result, out / FEEDBACK, done.student)
    return summary


def _outcome(done) -> str:
    if done.skipped:
        return "unchanged, skipped"
    if done.error:
        return f"not graded ({done.error})"
    return f"{done.result.score:g} / {done.result.max_score:g}"


def print_gradebook(console: Console, book: Gradebook, assignment: str, title: str) -> None:
    """The assignment's gradebook as a table."""
    console.print(class_table(title, book.rows(assignment), book.max_points(assignment)))


def run_grade_class(folder: Path, assignment: str, gradebook: Path, *, workers: int,
                    out: Path | None, csv_path: Path | None, regrade: bool, seed: int | None,
                    sandbox: SandboxConfig, console: Console | None = None,
                    scheduler: str | None = None, pin: bool = True) -> int:
    """The `grade-class` command; returns its exit code."""
    from autograder.errors import GraderError
    from autograder.grade_cli import sandbox_problem
    from autograder.suites import suite_dir

    console = console or Console()
    try:
        suite_dir(assignment)
    except GraderError as exc:
        console.print(f"mlhw: {exc}", markup=False, soft_wrap=True)
        return EXIT_GRADER_FAILED
    problem = sandbox_problem(sandbox)
    if problem:
        console.print(f"mlhw: {problem}", markup=False, soft_wrap=True)
        return EXIT_GRADER_FAILED
    try:
        submissions = find_submissions(folder, assignment)
    except (OSError, ValueError) as exc:
        console.print(f"mlhw: {exc}", markup=False, soft_wrap=True)
        return EXIT_GRADER_FAILED
    if not submissions:
        console.print(f"mlhw: no submissions (.ipynb, .py, .zip or folders) in {folder}",
                      markup=False, soft_wrap=True)
        return EXIT_GRADER_FAILED
    if hasattr(signal, "SIGXFSZ"):  # past a file-size limit, writes fail instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    with Gradebook(gradebook) as book:
        try:
            summary = grade_with_progress(
                console, submissions, assignment, book, workers=workers, pin=pin, out=out,
                sandbox=sandbox, seed=seed, regrade=regrade, scheduler=scheduler)
        except GraderError as exc:
            console.print(f"mlhw: the grader could not run: {exc}", markup=False, soft_wrap=True)
            return EXIT_GRADER_FAILED
        except (sqlite3.OperationalError, OSError) as exc:  # e.g. the disk is full
            saved = len(book.students(assignment))
            console.print(f"mlhw: the gradebook {gradebook} could not be written ({exc}); "
                          f"{saved} student(s) of {assignment} are saved, none half-written. "
                          "Free some space and run the same command again to grade the rest.",
                          markup=False, soft_wrap=True)
            return EXIT_GRADER_FAILED
        except KeyboardInterrupt:
            saved = len(book.students(assignment))
            console.print(f"mlhw: interrupted; {saved} student(s) of {assignment} are saved in "
                          f"{gradebook}. Run the same command again to grade the rest (students "
                          "already graded and unchanged are skipped).", markup=False, soft_wrap=True)
            return EXIT_INTERRUPTED
        print_gradebook(console, book, assignment, f"{assignment}: {gradebook}")
        if csv_path is not None:
            book.write_csv(csv_path, assignment, manual_points(assignment))
    console.print(f"{summary.line()}\ngradebook {gradebook}" + (f", reports in {out}" if out else ""),
                  markup=False, soft_wrap=True)
    for failure in summary.failures:
        console.print(f"not graded (rerun to retry): {failure}", markup=False, soft_wrap=True)
    return EXIT_GRADER_FAILED if summary.failures else 0
