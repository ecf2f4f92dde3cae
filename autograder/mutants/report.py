"""The mutation report: per-question counts and score, as text and as one HTML page.

Score of a question = killed / (killed + knock-on + survived): a mutant counts as killed
only when its own question lost points (issue #14); equivalent mutants and grader errors
are left out of the score and listed.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass

from autograder.mutants.grading import STATUSES, Outcome


@dataclass(frozen=True)
class Row:
    question: str
    counts: dict[str, int]

    @property
    def scored(self) -> int:
        return self.counts["killed"] + self.counts["knock-on"] + self.counts["survived"]

    @property
    def score(self) -> float | None:
        return self.counts["killed"] / self.scored if self.scored else None

    def score_text(self) -> str:
        return "—" if self.score is None else f"{100 * self.score:.0f}%"


def table(outcomes: list[Outcome]) -> list[Row]:
    """One row per question (in question order), then ``all``."""
    questions = sorted({o.mutant.question for o in outcomes}, key=_question_key)
    rows = []
    for q in [*questions, "all"]:
        mine = [o for o in outcomes if q == "all" or o.mutant.question == q]
        counts = Counter(o.status for o in mine)
        rows.append(Row(q, {s: counts.get(s, 0) for s in STATUSES}))
    return rows


def _question_key(q: str) -> tuple[int, str]:
    digits = "".join(c for c in q if c.isdigit())
    return (int(digits) if digits else 0, q)


def _lost(outcome: Outcome) -> str:
    return ", ".join(f"{q} -{p:g}" for q, p in sorted(outcome.lost.items())) or "nothing"


def text_summary(assignment: str, seed: int, outcomes: list[Outcome], *, total: int) -> str:
    """The per-question table and every mutant not killed by its own question."""
    head = ["question", *STATUSES, "score"]
    lines = [f"mutation testing of {assignment}: {len(outcomes)} of {total} mutants graded, "
             f"seed {seed}", "", "  ".join(f"{h:>10}" for h in head)]
    for row in table(outcomes):
        cells = [row.question, *(str(row.counts[s]) for s in STATUSES), row.score_text()]
        lines.append("  ".join(f"{c:>10}" for c in cells))
    rest = [o for o in outcomes if o.status != "killed" or o.note]
    if rest:
        lines += ["", "not killed by their own question:"]
        for o in rest:
            extra = f"; lost {_lost(o)}" if o.status == "knock-on" else ""
            note = f" ({o.note})" if o.note else ""
            lines.append(f"  {o.status:<10} {o.mutant.id}  [{o.mutant.question}] "
                         f"{o.mutant.describe()}{extra}{note}")
    return "\n".join(lines)


def markdown_table(results: dict[str, list[Outcome]]) -> str:
    """Assignments × questions: killed/scored and the score (benchmarks/RESULTS_mutation.md)."""
    lines = ["| assignment | question | killed | knock-on | survived | equivalent | error | score |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, outcomes in results.items():
        for row in table(outcomes):
            label = f"**{row.question}**" if row.question == "all" else row.question
            lines.append(f"| {name} | {label} | " + " | ".join(str(row.counts[s]) for s in STATUSES)
                         + f" | {row.score_text()} |")
    return "\n".join(lines)


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em}
td.n{text-align:right}code{font-size:90%}.killed{background:#e6f4e6}
.survived{background:#fde2e2}.knock-on{background:#fff3cd}.equivalent{background:#eee}
.error{background:#f8d7da}"""


def html_report(assignment: str, seed: int, outcomes: list[Outcome], *, total: int,
                baseline: dict[str, tuple[float, float]]) -> str:
    """One self-contained page: the per-question table, then every mutant with its diff."""
    e = html.escape
    parts = [f"<!doctype html><meta charset='utf-8'><title>Mutants of {e(assignment)}</title>",
             f"<style>{STYLE}</style><h1>Mutation testing of {e(assignment)}</h1>",
             f"<p>{len(outcomes)} of {total} mutants graded with seed {seed}; the solution "
             "scored " + ", ".join(f"{e(q)} {s:g}/{m:g}" for q, (s, m) in baseline.items())
             + ". A mutant is <b>killed</b> when its own question lost points, <b>knock-on</b>"
             " when only other questions did. To mark one equivalent, add its id to "
             f"<code>autograder/suites/{e(assignment)}/equivalent_mutants.toml</code> under "
             "<code>[equivalent]</code> with the reason.</p><table><tr><th>question</th>"
             + "".join(f"<th>{s}</th>" for s in STATUSES) + "<th>score</th></tr>"]
    for row in table(outcomes):
        parts.append(f"<tr><td>{e(row.question)}</td>" + "".join(
            f"<td class=n>{row.counts[s]}</td>" for s in STATUSES)
            + f"<td class=n>{row.score_text()}</td></tr>")
    parts.append("</table><h2>Mutants</h2><table><tr><th>id</th><th>question</th>"
                 "<th>operator</th><th>line</th><th>change</th><th>outcome</th>"
                 "<th>points lost</th></tr>")
    order = {s: i for i, s in enumerate(("survived", "knock-on", "error", "equivalent", "killed"))}
    for o in sorted(outcomes, key=lambda o: (order[o.status], _question_key(o.mutant.question))):
        m = o.mutant
        parts.append(
            f"<tr class='{o.status}'><td><code>{e(m.id)}</code></td><td>{e(m.question)}</td>"
            f"<td>{e(m.operator)}</td><td class=n>{m.line}</td><td><code>{e(m.before)}</code>"
            f"<br>→ <code>{e(m.after)}</code></td><td>{e(o.status)}"
            f"{'<br>' + e(o.note) if o.note else ''}</td><td>{e(_lost(o))}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)
