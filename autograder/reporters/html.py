"""A student's feedback page: one self-contained HTML file (inline CSS, figures as inline
PNG), nothing fetched from anywhere.

It shows the score per question, every test's message and diagnosis, the student's own
figures redrawn from the figure data the grader read (``SubmissionResult.figures``), the
written answers as received and the isolation used. It never shows the seed, hidden inputs
or anything the messages do not already say; tests whose visibility is ``hidden`` (never
shown) are left out. Every piece of student text is escaped.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from autograder.reporters.jsonfile import write_text_atomic
from autograder.results import Status, SubmissionResult

MAX_FIGURES = 12
MAX_LINES = 20  # per axes
MAX_POINTS = 2_000  # per line or collection, after thinning
LABEL = {
    Status.PASSED: "passed", Status.FAILED: "failed", Status.NOT_ATTEMPTED: "not attempted",
    Status.ERROR: "error", Status.GRADER_ERROR: "grader error", Status.MANUAL: "manual",
}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1b1f24;background:#fff;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d0d7de}.total{font-size:1.3rem;font-weight:600}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;
text-align:left}th{background:#f6f8fa}td.num{text-align:right}
.passed{color:#1a7f37}.failed,.error{color:#cf222e}.not_attempted{color:#9a6700}
.grader_error{color:#8250df}.manual{color:#0969da}
.test{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .8rem;margin:.6rem 0}
.test h3{font-size:1rem;margin:0}pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;
padding:.5rem;border-radius:4px;font-size:.85rem;margin:.4rem 0 0}
.note{background:#fff8c5;border:1px solid #d4a72c;padding:.4rem .8rem;border-radius:6px}
figure{margin:1rem 0}img{max-width:100%;border:1px solid #d0d7de}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


# ------------------------------------------------------------------------- figure data
def _thin(values: Any) -> list[float]:
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size > MAX_POINTS:
        arr = arr[np.linspace(0, arr.size - 1, MAX_POINTS).astype(int)]
    return [float(v) if np.isfinite(v) else None for v in arr]  # type: ignore[misc]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def plain_figure(figure: Any) -> dict[str, Any] | None:
    """A FigureData (or its dict form) as small JSON-able data, or None if it is not one."""
    axes = _get(figure, "axes")
    if not isinstance(axes, (tuple, list)):
        return None
    out = []
    for ax in axes[:6]:
        lines = []
        for line in list(_get(ax, "lines", ()) or ())[:MAX_LINES]:
            try:
                lines.append({"x": _thin(_get(line, "x", ())), "y": _thin(_get(line, "y", ())),
                              "label": str(_get(line, "label", ""))[:80]})
            except (TypeError, ValueError):
                continue
        points = []
        for c in list(_get(ax, "collections", ()) or ())[:MAX_LINES]:
            offsets = _get(c, "offsets")
            try:
                arr = np.asarray(offsets, dtype=float)
            except (TypeError, ValueError):
                continue
            if arr.ndim == 2 and arr.shape[1] == 2 and arr.size:
                points.append({"x": _thin(arr[:, 0]), "y": _thin(arr[:, 1])})
        out.append({key: str(_get(ax, key, ""))[:120]
                    for key in ("title", "xlabel", "ylabel", "xscale", "yscale")}
                   | {"lines": lines, "points": points})
    return {"axes": out}


def figures_of(values: Iterable[Any]) -> list[dict[str, Any]]:
    """Every figure among ``values`` (returned values, possibly tuples of figures)."""
    found: list[dict[str, Any]] = []

    def visit(value: Any) -> None:
        if len(found) >= MAX_FIGURES:
            return
        if isinstance(value, (tuple, list)):
            for item in value:
                visit(item)
            return
        if type(value).__name__ == "FigureData" or (isinstance(value, dict) and "axes" in value):
            figure = plain_figure(value)
            if figure is not None and figure not in found:
                found.append(figure)

    for value in values:
        visit(value)
    return found


def render_png(figure: dict[str, Any]) -> bytes:
    """The figure redrawn with matplotlib (Agg) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    axes = figure.get("axes", []) or [{}]
    fig = Figure(figsize=(5.5 * min(len(axes), 3), 3.8), dpi=90)
    for i, data in enumerate(axes[:3], start=1):
        ax = fig.add_subplot(1, min(len(axes), 3), i)
        for line in data.get("lines", []):
            x = np.asarray(line["x"], dtype=float)
            y = np.asarray(line["y"], dtype=float)
            if x.size != y.size:
                x = np.arange(y.size)
            label = line.get("label", "")
            ax.plot(x, y, label=None if label.startswith("_") else label)
        for pts in data.get("points", []):
            ax.scatter(pts["x"], pts["y"], s=6)
        for scale, setter in (("xscale", ax.set_xscale), ("yscale", ax.set_yscale)):
            if data.get(scale) in ("linear", "log", "symlog", "logit"):
                try:
                    setter(data[scale])
                except ValueError:
                    pass
        ax.set_title(data.get("title", ""), fontsize=9)
        ax.set_xlabel(data.get("xlabel", ""))
        ax.set_ylabel(data.get("ylabel", ""))
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


# ------------------------------------------------------------------------------ the page
def _figures_html(result: SubmissionResult) -> str:
    figures = list(getattr(result, "figures", ()) or ())[:MAX_FIGURES]
    if not figures:
        return ""
    parts = ["<h2>Your figures</h2>",
             "<p>Redrawn from the data the grader read from the figures your functions "
             "returned.</p>"]
    for n, figure in enumerate(figures, start=1):
        try:
            png = base64.b64encode(render_png(figure)).decode()
        except Exception:  # noqa: BLE001 - a figure that cannot be redrawn is left out
            continue
        parts.append(f'<figure><img alt="figure {n}" src="data:image/png;base64,{png}">'
                     f"<figcaption>figure {n}</figcaption></figure>")
    return "\n".join(parts)


def to_html(result: SubmissionResult) -> str:
    """The feedback page of ``result``."""
    tests = [t for t in result.tests if t.visibility != "hidden"]
    shown = {t.question for t in tests}
    rows = "\n".join(
        f'<tr><td>{_e(q.question)}</td><td class="num">{q.score:g} / {q.max_score:g}</td>'
        f'<td class="{q.status.value}">{LABEL[q.status]}</td></tr>'
        for q in result.questions() if q.question in shown or q.status is Status.MANUAL)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(result.assignment)}: feedback</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(result.assignment)}: feedback</h1>",
        f"<p>Submission <code>{_e(Path(result.submission).name)}</code></p>",
        f'<p class="total">Score: {result.score:g} / {result.max_score:g}</p>',
        f"<p>Isolation of your code while it was graded: {_e(result.isolation or '-')}</p>",
    ]
    if result.messages:
        parts.append('<div class="note"><p><b>Notes on your submission</b></p><ul>'
                     + "".join(f"<li>{_e(m)}</li>" for m in result.messages) + "</ul></div>")
    parts += ["<h2>Score per question</h2>",
              "<table><tr><th>question</th><th>score</th><th>status</th></tr>",
              rows, "</table>", "<h2>Every test</h2>"]
    for t in tests:
        output = f"<pre>{_e(t.output)}</pre>" if t.output else ""
        parts.append(
            f'<div class="test"><h3>{_e(t.number)} {_e(t.name)} '
            f'<span class="{t.status.value}">{LABEL[t.status]}</span> '
            f"({t.score:g} / {t.max_score:g})</h3>{output}</div>")
    parts.append(_figures_html(result))
    if result.written:
        parts.append("<h2>Your written answers, as received</h2>")
        for w in result.written:
            body = f"<pre>{_e(w.text)}</pre>" if w.answered else "<p>Nothing was written.</p>"
            parts.append(f'<div class="test"><h3>{_e(w.question)}</h3>{body}'
                         "<p>Graded by hand.</p></div>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"


def write_html(result: SubmissionResult, path: str | Path) -> None:
    """Write the feedback page of ``result`` to ``path``."""
    write_text_atomic(path, to_html(result))


def feedback_path(submission: Path, target: Path, several: bool) -> Path:
    """Where ``mlhw grade --html TARGET`` writes the page of ``submission``: TARGET itself,
    or ``TARGET/<stem>.html`` when it is a folder (always with several submissions)."""
    if several or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return target / f"{submission.stem}.html"
    return target


def write_feedback(result: SubmissionResult, folder: Path, student: str) -> None:
    """``folder/<student>.html`` and ``folder/<student>.md``: the folder to hand to students
    (the instructor's result.json and junit.xml, which hold the seed, are written elsewhere)."""
    from autograder.reporters.markdown import write_markdown

    write_html(result, folder / f"{student}.html")
    write_markdown(result, folder / f"{student}.md")
