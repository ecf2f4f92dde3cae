"""A student's feedback in Markdown, for CI summaries (``$GITHUB_STEP_SUMMARY``) and pull
requests: the score per question, then every test that did not pass with its message.

Like the HTML page, it shows no seed and no test whose visibility is ``hidden``; student
text is put in code blocks so that it cannot become Markdown or HTML.
"""

from __future__ import annotations

from pathlib import Path

from autograder.reporters.jsonfile import write_text_atomic
from autograder.results import Status, SubmissionResult, cap_text

LABEL = {
    Status.PASSED: "✅ passed", Status.FAILED: "❌ failed",
    Status.NOT_ATTEMPTED: "➖ not attempted", Status.ERROR: "❌ error",
    Status.GRADER_ERROR: "⚠️ grader error", Status.MANUAL: "✍️ graded by hand",
}
OUTPUT_LIMIT = 2_000


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def _block(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}text\n{cap_text(text, OUTPUT_LIMIT)}\n{fence}"


def to_markdown(result: SubmissionResult) -> str:
    """The Markdown feedback of ``result``."""
    tests = [t for t in result.tests if t.visibility != "hidden"]
    shown = {t.question for t in tests}
    lines = [f"## {_cell(result.assignment)}: {result.score:g} / {result.max_score:g}", "",
             "| question | score | status |", "|---|---:|---|"]
    for q in result.questions():
        if q.question in shown or q.status is Status.MANUAL:
            lines.append(f"| {_cell(q.question)} | {q.score:g} / {q.max_score:g} | "
                         f"{LABEL[q.status]} |")
    lines += ["", f"Isolation: {_cell(result.isolation or '-')}"]
    for message in result.messages:
        lines += ["", f"> {_cell(message)}"]
    problems = [t for t in tests if t.status not in (Status.PASSED, Status.MANUAL)]
    if problems:
        lines += ["", "### What went wrong"]
        for t in problems:
            lines += ["", f"**{_cell(t.number)} {_cell(t.name)}**: {LABEL[t.status]} "
                      f"({t.score:g} / {t.max_score:g})"]
            if t.output:
                lines += ["", _block(t.output)]
    if result.written:
        lines += ["", "### Written answers (graded by hand)"]
        for w in result.written:
            lines += ["", f"**{_cell(w.question)}**", "",
                      _block(w.text) if w.answered else "Nothing was written."]
    return "\n".join(lines) + "\n"


def write_markdown(result: SubmissionResult, path: str | Path) -> None:
    write_text_atomic(path, to_markdown(result))
