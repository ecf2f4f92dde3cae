"""Manual grading of written answers: pages to read them side by side, scores into the
gradebook by command or from a CSV.

A written question's points are ``manual_points`` in ``assignment.toml``: a manual part on
top of the autograded 100. The autograder's results never count them; the gradebook keeps
the hand-given scores in a table of their own, so grading the code again never drops one.
"""

from __future__ import annotations

import csv
import html
import tomllib
from dataclasses import dataclass
from pathlib import Path

from autograder.gradebook import Gradebook

ASSIGNMENTS = Path(__file__).resolve().parents[1] / "assignments"


class ManualGradingError(ValueError):
    """A manual score that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class WrittenQuestion:
    question: str
    points: float
    prompt: str  # the question text of the notebook
    model_answer: str


def written_questions(assignment: str) -> dict[str, WrittenQuestion]:
    """The written questions of ``assignment`` with their manual points and model answers."""
    path = ASSIGNMENTS / assignment / "assignment.toml"
    if not path.is_file():
        raise ManualGradingError(f"unknown assignment {assignment!r} (no {path})")
    spec = tomllib.loads(path.read_text()).get("questions", {})
    texts = _written_cells(assignment)
    return {q: WrittenQuestion(q, float(s.get("manual_points", 0)), *texts.get(q, ("", "")))
            for q, s in spec.items() if isinstance(s, dict) and s.get("kind") == "written"}


def manual_points(assignment: str) -> dict[str, float] | None:
    """Each written question's manual points, for the gradebook's columns (None when the
    assignment's folder is not here)."""
    try:
        return {q: w.points for q, w in written_questions(assignment).items() if w.points}
    except ManualGradingError:
        return None


def _written_cells(assignment: str) -> dict[str, tuple[str, str]]:
    from autograder.release.source import load_source, model_answer, written_question_text

    source = load_source(assignment)
    out = {}
    for cell in source.of_kind("written"):
        before, after = written_question_text(cell.source)
        out[cell.question] = ("\n\n".join(t for t in (before, after) if t),
                              model_answer(cell.source))
    return out


def score(book: Gradebook, assignment: str, student: str, question: str, points: float,
          comment: str = "") -> WrittenQuestion:
    """Record ``points`` for ``student``'s answer to the written ``question``."""
    questions = written_questions(assignment)
    if question not in questions:
        known = ", ".join(questions) or "none"
        raise ManualGradingError(f"{assignment} has no written question {question!r} "
                                 f"(written questions: {known})")
    spec = questions[question]
    if student not in book.students(assignment):
        raise ManualGradingError(f"no graded submission of {student!r} for {assignment} in "
                                 f"{book.path}; grade the class first")
    if not 0 <= points <= spec.points:
        raise ManualGradingError(f"{question} is worth 0 to {spec.points:g} points, not {points:g}")
    book.record_manual(assignment, student, question, points, spec.points, comment)
    return spec


def import_scores(book: Gradebook, assignment: str, path: Path) -> int:
    """Record every line of a CSV with columns student, question, points[, comment]; all or
    nothing: a bad line stops the import before anything is recorded."""
    with open(path, newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    parsed = []
    for number, line in enumerate(lines, 2):
        try:
            parsed.append((line["student"], line["question"], float(line["points"]),
                           line.get("comment") or ""))
        except (KeyError, TypeError, ValueError):
            raise ManualGradingError(f"{path} line {number}: expected the columns student, "
                                     "question, points (a number) and optionally comment") from None
    questions = written_questions(assignment)
    students = set(book.students(assignment))
    for number, (student, question, points, _) in enumerate(parsed, 2):
        spec = questions.get(question)
        if spec is None or student not in students or not 0 <= points <= spec.points:
            raise ManualGradingError(f"{path} line {number}: cannot score {student!r} "
                                     f"{question!r} with {points:g} (unknown student or question, "
                                     "or points out of range)")
    for student, question, points, comment in parsed:
        book.record_manual(assignment, student, question, points, questions[question].points,
                           comment)
    return len(parsed)


def write_pages(book: Gradebook, assignment: str, out: Path) -> list[Path]:
    """One HTML page per written question: the model answer, then every student's answer
    side by side with the score given so far. Student text is escaped, never rendered."""
    out.mkdir(parents=True, exist_ok=True)
    given = book.manual_scores(assignment)
    pages = []
    for q, spec in written_questions(assignment).items():
        answers = []
        for student in book.students(assignment):
            result = book.result(assignment, student)
            text = next((w.text for w in result.written if w.question == q), "") if result else ""
            mark = given.get(student, {}).get(q)
            answers.append(
                f'<section class="answer"><h3>{html.escape(student)}</h3>'
                f'<p class="score">{"not scored yet" if mark is None else f"{mark[0]:g} / {mark[1]:g}"}'
                f"{'' if not mark or not mark[2] else ' — ' + html.escape(mark[2])}</p>"
                f"<pre>{html.escape(text) or '<em>nothing written</em>'}</pre></section>")
        body = (f"<h1>{html.escape(assignment)} {q}: written answers ({spec.points:g} points)</h1>"
                f"<h2>Question</h2><pre>{html.escape(spec.prompt)}</pre>"
                f"<h2>Model answer</h2><pre class=model>{html.escape(spec.model_answer)}</pre>"
                f"<h2>Answers ({len(answers)})</h2><div class=grid>{''.join(answers)}</div>"
                f"<p>Score with <code>mlhw score {html.escape(str(book.path))} --assignment "
                f"{html.escape(assignment)} --student NAME --question {q} --points P</code></p>")
        page = out / f"{assignment}_{q}.html"
        page.write_text(_PAGE.format(title=f"{assignment} {q}", body=body), encoding="utf-8")
        pages.append(page)
    return pages


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
pre {{ white-space: pre-wrap; background: #f6f6f6; padding: .6em; }}
.model {{ background: #eef6ee; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(22em, 1fr)); gap: 1em; }}
.answer {{ border: 1px solid #ccc; padding: .5em; }}
.score {{ color: #555; }}
</style></head><body>{body}</body></html>
"""
