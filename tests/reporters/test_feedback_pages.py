"""Feedback a student can read: the HTML page and its Markdown version.

Fast tests pin down what a page holds and what it never holds (seed, tests never shown,
unescaped student text); the CLI tests check `mlhw grade --html` and the feedback/ folder of
`grade-class --out` (without the instructor's files). The slow test renders every example
student's page in headless Chromium and checks the screenshot is not blank.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.reporters.html import figures_of, render_png, to_html
from autograder.reporters.jsonfile import from_json, to_json
from autograder.reporters.markdown import to_markdown
from autograder.results import Status, SubmissionResult, TestResult, WrittenAnswer
from autograder.sandboxed.protocol import AxesData, FigureData, LineData

REPO = Path(__file__).resolve().parents[2]
MLHW = Path(sys.executable).parent / "mlhw"
EVIL = "<script>alert(1)</script>"


def figure() -> FigureData:
    line = LineData(np.arange(5.0), np.array([1.0, 0.5, 0.25, 0.1, 0.05]), "run 1")
    ax = AxesData("linear", "log", "J per iteration", "iteration", "J", (line,), (), 0, 0, 0,
                  ("run 1",))
    return FigureData((ax,))


def result(**changes) -> SubmissionResult:
    tests = (
        TestResult("q1: forward", "q1.1", "q1", 4, 4, Status.PASSED, "", "visible"),
        TestResult("q2: backward " + EVIL, "q2.1", "q2", 0, 6, Status.FAILED,
                   "g is 2 (= m) times too large: did you forget the 1/m? " + EVIL,
                   "after_published"),
        TestResult("q3: secret", "q3.1", "q3", 0, 1, Status.FAILED, "SECRET-OUTPUT", "hidden"),
    )
    base = dict(assignment="deep_chain", submission="/home/x/hw.ipynb", tests=tests,
                isolation="bubblewrap", seed=987654321, messages=("a note " + EVIL,),
                written=(WrittenAnswer("q7", "my answer " + EVIL),),
                figures=tuple(figures_of([figure()])))
    return SubmissionResult(**{**base, **changes})


def test_page_shows_scores_messages_written_answers_and_figures():
    page = to_html(result())
    assert "Score: 4 / 11" in page
    assert "did you forget the 1/m?" in page
    assert "my answer &lt;script&gt;" in page
    assert "bubblewrap" in page
    assert page.count("data:image/png;base64,") == 1


def test_page_never_shows_the_seed_tests_never_shown_or_raw_student_html():
    page = to_html(result())
    assert "987654321" not in page and "SECRET-OUTPUT" not in page
    assert EVIL not in page
    assert "http://" not in page and "https://" not in page  # self-contained


def test_markdown_lists_questions_and_what_went_wrong_without_the_seed():
    text = to_markdown(result())
    assert "| q2 | 0 / 6 | ❌ failed |" in text
    assert "did you forget the 1/m?" in text
    assert "987654321" not in text and "SECRET-OUTPUT" not in text
    assert "<script>" not in text.split("```")[0]  # outside code blocks it is escaped


def test_figures_travel_in_the_result_json_and_redraw():
    r = result()
    assert from_json(to_json(r)).figures == r.figures
    png = render_png(r.figures[0])
    assert png.startswith(b"\x89PNG")


def test_figures_of_thins_long_lines_and_ignores_other_values():
    long = LineData(np.arange(10_000.0), np.arange(10_000.0), "x")
    ax = AxesData("linear", "linear", "", "", "", (long,), (), 0, 0, 0, ())
    found = figures_of([3, "x", (np.zeros(2), FigureData((ax,)))])
    assert len(found) == 1 and len(found[0]["axes"][0]["lines"][0]["x"]) == 2_000


def test_grade_html_and_grade_class_feedback_folder(tmp_path):
    example = REPO / "assignments" / "deep_chain" / "examples" / "partial.ipynb"
    page = tmp_path / "page.html"
    proc = subprocess.run([str(MLHW), "grade", str(example), "-a", "deep_chain", "--html",
                           str(page), "-q", "--seed", "918273645"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "deep_chain: feedback" in page.read_text()
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy2(example, folder / "ada.ipynb")
    out = tmp_path / "out"
    proc = subprocess.run([str(MLHW), "grade-class", str(folder), "-a", "deep_chain",
                           "--gradebook", str(tmp_path / "g.db"), "--out", str(out),
                           "--workers", "1", "--seed", "918273645"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ada.html", "ada.md"]
    assert (out / "ada" / "result.json").is_file()  # the instructor's, with the seed
    seed = json.loads((out / "ada" / "result.json").read_text())["seed"]
    for p in (out / "feedback").iterdir():
        assert str(seed) not in p.read_text()


# ---------------------------------------------------------------------- slow: in a browser
def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason="Debian package chromium is not installed")
def test_every_example_students_page_renders_in_chromium(tmp_path):
    from PIL import Image

    from autograder.demo import DEMO_SEED
    from autograder.reporters.html import write_html
    from autograder.runner import GradeOptions, available_assignments, grade_submission

    pages = []
    for assignment in available_assignments():
        for example in sorted((REPO / "assignments" / assignment / "examples").glob("*.ipynb")):
            if example.stem not in ("solution", "partial"):
                continue  # the hostile and mistaken ones render the same parts
            r = grade_submission(example, assignment, GradeOptions(seed=DEMO_SEED))
            page = tmp_path / f"{assignment}-{example.stem}.html"
            write_html(r, page)
            pages.append((page, r))
    assert pages
    for page, r in pages:
        shot = page.with_suffix(".png")
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--screenshot={shot}", "--window-size=1000,1400",
                        page.as_uri()], capture_output=True, timeout=120, check=False)
        assert shot.is_file(), f"no screenshot of {page.name}"
        pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
        dark = (pixels < 128).mean()
        assert pixels.std() > 10 and dark > 0.005, f"{page.name} renders blank"
        if "solution" in page.name and r.figures:
            assert "data:image/png" in page.read_text()
