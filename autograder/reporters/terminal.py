"""A concise terminal report with rich: a per-question table, then what went wrong."""

from __future__ import annotations

import re

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autograder.gradebook import GradeRow, question_names
from autograder.results import Status, SubmissionResult, TestResult

MAX_OUTPUT_LINES = 12
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def safe(text: str) -> str:
    """Student-provided text without control characters (no escape sequences reach the
    instructor's terminal)."""
    return _CONTROL.sub("?", text)


STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "red",
    Status.NOT_ATTEMPTED: "yellow",
    Status.ERROR: "red",
    Status.GRADER_ERROR: "magenta",
    Status.MANUAL: "cyan",
}
LABEL = {
    Status.PASSED: "passed",
    Status.FAILED: "failed",
    Status.NOT_ATTEMPTED: "not attempted",
    Status.ERROR: "error",
    Status.GRADER_ERROR: "grader error",
    Status.MANUAL: "manual",
}


def _score(score: float, max_score: float) -> str:
    return f"{score:g} / {max_score:g}"


def question_table(result: SubmissionResult) -> Table:
    table = Table(title=None, show_edge=False, pad_edge=False)
    table.add_column("question")
    table.add_column("score", justify="right")
    table.add_column("status")
    for q in result.questions():
        table.add_row(
            Text(safe(q.question)),
            _score(q.score, q.max_score),
            Text(LABEL[q.status], style=STYLE[q.status]),
        )
    table.add_section()
    table.add_row(
        Text("total", style="bold"), Text(_score(result.score, result.max_score), style="bold"), ""
    )
    return table


def _trimmed(output: str, max_lines: int) -> Text:
    lines = output.splitlines() or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more lines)"]
    return Text(safe("\n".join(lines)))  # Text, not markup: student text may contain [brackets]


def _problem(test: TestResult, max_lines: int) -> Text:
    head = Text(safe(f"{test.number} {test.name}".strip()), style="bold")
    head.append(f"  {LABEL[test.status]}", style=STYLE[test.status])
    head.append(f"  ({_score(test.score, test.max_score)})")
    body = _trimmed(test.output, max_lines)
    body.pad_left(2)
    return Text("\n").join([head, body]) if test.output else head


def render(
    result: SubmissionResult, console: Console | None = None, *, max_lines: int = MAX_OUTPUT_LINES
) -> None:
    """Print the report of ``result`` to ``console`` (stdout by default)."""
    console = console or Console()
    title = Text(safe(f"{result.assignment}: {result.submission}"), style="bold")
    title.append(f"   {_score(result.score, result.max_score)}")
    console.print(title)
    if result.isolation and not result.isolation.startswith("bubblewrap"):
        console.print(Text(f"isolation: {result.isolation}", style="yellow"))
    for message in result.messages:
        console.print(Text(safe(f"! {message}"), style="yellow"))
    console.print(question_table(result))
    problems = [t for t in result.tests if t.status not in (Status.PASSED, Status.MANUAL)]
    if problems:
        console.print(
            Panel(
                Group(*(_problem(t, max_lines) for t in problems)),
                title="what went wrong",
                title_align="left",
                border_style="red",
            )
        )
    answered = [w.question for w in result.written if w.answered]
    empty = [w.question for w in result.written if not w.answered]
    if answered:
        names = safe(", ".join(answered))
        console.print(Text(f"written answers collected for manual grading: {names}", style="cyan"))
    if empty:
        console.print(Text(f"no written answer for: {safe(', '.join(empty))}", style="yellow"))


def class_table(title: str, rows: list[GradeRow], max_points: dict[str, float]) -> Table:
    """A gradebook: one row per student, one column per question, then total and seconds."""
    questions = [q for q in question_names(rows) if max_points.get(q, 0) > 0]
    table = Table(title=title)
    table.add_column("student")
    for q in questions:
        table.add_column(f"{q}\n/{max_points[q]:g}", justify="right")
    total = max((row.max_score for row in rows), default=0.0)
    table.add_column(f"total\n/{total:g}", justify="right", style="bold")
    table.add_column("s", justify="right")
    for row in rows:
        cells = [f"{row.questions[q]:g}" if q in row.questions else "" for q in questions]
        table.add_row(safe(row.student), *cells, f"{row.score:g}", f"{row.seconds:.1f}")
    return table
