"""`mlhw grade-class`: a class folder in every layout, graded in parallel into a gradebook
with exact scores; reruns skip unchanged students; a killed run resumes without losing or
double-counting a grade."""

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import corpus
import pytest

from autograder.batch import digest, find_submissions

CORPUS = Path(__file__).parent.parent / "submissions" / "deep_chain"
EXAMPLES = Path(__file__).parents[2] / "assignments" / "deep_chain" / "examples"
MLHW = [sys.executable, "-m", "autograder.cli"]
# expected totals out of 100, from the corpus (tests/submissions/deep_chain/*.expected.toml)
PARTIAL, READ_SUITES = (corpus.case("deep_chain", n).total for n in ("partial", "hostile_read_suites"))
BROKEN = 0


def make_class(folder: Path) -> dict[str, float]:
    """Five students in the four layouts grade-class accepts; returns their expected scores."""
    folder.mkdir()
    shutil.copy(EXAMPLES / "partial.ipynb", folder / "ann.ipynb")
    nbgrader = folder / "bob" / "deep_chain"  # nbgrader's submitted/<student>/<assignment>/
    nbgrader.mkdir(parents=True)
    shutil.copy(CORPUS / "hostile_read_suites.ipynb", nbgrader / "deep_chain.ipynb")
    with zipfile.ZipFile(folder / "cat.zip", "w") as archive:  # otter's export zip
        archive.write(EXAMPLES / "partial.ipynb", "deep_chain.ipynb")
    shutil.copy(CORPUS / "broken_not_json.ipynb", folder / "dan.ipynb")
    (folder / "eve").mkdir()  # a folder without a notebook
    (folder / "eve" / "notes.txt").write_text("forgot to attach it")
    (folder / "README.txt").write_text("not a submission")
    return {"ann": PARTIAL, "bob": READ_SUITES, "cat": PARTIAL, "dan": BROKEN, "eve": BROKEN}


def grade_class(folder: Path, db: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(MLHW + ["grade-class", str(folder), "-a", "deep_chain", "--gradebook",
                                  str(db), *extra], capture_output=True, text=True, timeout=600)


def gradebook(db: Path) -> dict[str, float]:
    return dict(sqlite3.connect(db).execute("SELECT student, score FROM grades"))


def test_find_submissions_reads_every_layout(tmp_path):
    expected = make_class(tmp_path / "class")
    found = {s.student: s.path.relative_to(tmp_path / "class").as_posix()
             for s in find_submissions(tmp_path / "class", "deep_chain")}
    assert found == {"ann": "ann.ipynb", "bob": "bob/deep_chain", "cat": "cat.zip",
                     "dan": "dan.ipynb", "eve": "eve"}
    assert set(found) == set(expected)


def test_a_student_submitting_twice_is_refused(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="two submissions for student 'ann'"):
        find_submissions(tmp_path, "deep_chain")


def test_digest_changes_with_content_and_names(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.ipynb").write_text("1")
    first = digest(tmp_path / "a")
    (tmp_path / "a" / "x.ipynb").write_text("2")
    second = digest(tmp_path / "a")
    (tmp_path / "a" / "x.ipynb").rename(tmp_path / "a" / "y.ipynb")
    assert len({first, second, digest(tmp_path / "a")}) == 3


@pytest.mark.slow
def test_class_is_graded_in_parallel_with_exact_scores_and_reruns_skip(tmp_path):
    expected = make_class(tmp_path / "class")
    db, out, table = tmp_path / "grades.db", tmp_path / "reports", tmp_path / "grades.csv"
    run = grade_class(tmp_path / "class", db, "--workers", "2", "--out", str(out),
                      "--csv", str(table))
    assert run.returncode == 0, run.stdout + run.stderr
    assert gradebook(db) == expected
    assert "graded 5, unchanged and skipped 0, grader failures 0; isolation: bubblewrap; " in run.stdout
    rows = {line["student"]: line for line in csv.DictReader(open(table, encoding="utf-8"))}
    assert {s: float(r["score"]) for s, r in rows.items()} == expected
    assert rows["bob"]["q3"] == "0" and rows["bob"]["q1"] == "10"
    for student in expected:  # every student's reports
        assert {p.name for p in (out / student).iterdir()} == {"result.json", "results.json",
                                                               "junit.xml"}
    assert "not valid JSON" in (out / "dan" / "results.json").read_text()
    assert "holds no Jupyter notebook" in (out / "eve" / "results.json").read_text()

    again = grade_class(tmp_path / "class", db)
    assert "graded 0, unchanged and skipped 5" in again.stdout
    shutil.copy(EXAMPLES / "partial.ipynb", tmp_path / "class" / "dan.ipynb")  # dan resubmits
    third = grade_class(tmp_path / "class", db, "--workers", "1")
    assert "graded 1, unchanged and skipped 4" in third.stdout
    assert gradebook(db) == expected | {"dan": PARTIAL}
    export = subprocess.run(MLHW + ["export", str(db), "--csv", str(tmp_path / "e.csv")],
                            capture_output=True, text=True, timeout=60)
    assert export.returncode == 0 and "deep_chain: 5 students" in export.stdout
    assert (tmp_path / "e.csv").read_text().count("\n") == 6


def graded_so_far(db: Path) -> dict[str, float]:
    """The gradebook of a run in progress (the file exists a moment before its tables)."""
    try:
        return gradebook(db)
    except sqlite3.OperationalError:
        return {}


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_or_double_counting(tmp_path):
    expected = make_class(tmp_path / "class")
    db = tmp_path / "grades.db"
    proc = subprocess.Popen(MLHW + ["grade-class", str(tmp_path / "class"), "-a", "deep_chain",
                                    "--gradebook", str(db), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and graded_so_far(db):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-batch, as a power cut would
    proc.wait()
    done_before = gradebook(db)
    assert done_before and all(expected[s] == score for s, score in done_before.items())
    rerun = grade_class(tmp_path / "class", db)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"graded {5 - len(done_before)}, unchanged and skipped {len(done_before)}" in rerun.stdout
    assert gradebook(db) == expected
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM grades").fetchone() == (5,)


def test_unknown_assignment_stops_the_class_with_code_3(tmp_path):
    make_class(tmp_path / "class")
    run = subprocess.run(MLHW + ["grade-class", str(tmp_path / "class"), "-a", "nope",
                                 "--gradebook", str(tmp_path / "g.db")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 3
    assert "unknown assignment 'nope'" in run.stdout


@pytest.mark.slow
def test_ctrl_c_says_what_was_saved_and_how_to_resume(tmp_path):
    make_class(tmp_path / "class")
    for i in range(10):  # so that students are left when the interrupt comes (saved < 15)
        shutil.copy(EXAMPLES / "solution.ipynb", tmp_path / "class" / f"zoe{i}.ipynb")
    db = tmp_path / "grades.db"
    # The command gets Ctrl-C's default handling even where this test process ignores SIGINT
    # (an ignored signal stays ignored across exec, and Python then installs no handler):
    # something run earlier in the same test worker may leave it ignored.
    proc = subprocess.Popen(MLHW + ["grade-class", str(tmp_path / "class"), "-a", "deep_chain",
                                    "--gradebook", str(db), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not graded_so_far(db):
        time.sleep(0.05)
    time.sleep(0.2)  # the first student's line is printed just after its commit
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    saved = len(graded_so_far(db))
    assert f"interrupted; {saved} student(s) of deep_chain are saved in {db}" in output
    assert "Run the same command again to grade the rest" in output
    assert "[1/15] " in output  # not a terminal: one line per finished student
    assert 0 < saved < 15
