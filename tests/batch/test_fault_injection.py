"""Grading that survives being killed: grade-class killed with SIGKILL at random moments and
resumed each time grades every student exactly once; a full disk ends the run cleanly."""

import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

MLHW = [sys.executable, "-m", "autograder.cli"]
STUDENTS = {  # quick to grade: each defines one function of deep_chain, or nothing
    "ann": "import numpy as np\ndef chain_forward(x, w, b=None):\n    return None\n",
    "bob": "x = 1\n",
    "cat": "def chain_gradients(h, g):\n    return h, g\n",
    "dan": "import numpy as np\n",
    "eve": "raise SystemExit(0)\n",
    "fay": "def chain_backward(u, h, y, w):\n    return u\n",
}


def make_class(folder: Path) -> None:
    folder.mkdir()
    for name, source in STUDENTS.items():
        (folder / f"{name}.py").write_text(source)


def command(folder: Path, db: Path) -> list[str]:
    return MLHW + ["grade-class", str(folder), "-a", "deep_chain", "--gradebook", str(db),
                   "--seed", "7", "--workers", "2", "--timeout", "5"]


def totals(db: Path) -> dict[str, float]:
    return dict(sqlite3.connect(db).execute("SELECT student, score FROM grades"))


@pytest.mark.slow
def test_killed_at_random_moments_every_student_is_graded_exactly_once(tmp_path):
    make_class(tmp_path / "class")
    clean = tmp_path / "clean.db"
    assert subprocess.run(command(tmp_path / "class", clean), capture_output=True,
                          timeout=600).returncode == 0
    db = tmp_path / "killed.db"
    chance = random.Random(20261130)
    for _ in range(10):
        proc = subprocess.Popen(command(tmp_path / "class", db), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(chance.uniform(0.2, 3.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if not db.exists():
            continue  # killed before the gradebook was made
        connection = sqlite3.connect(db)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {t for (t,) in connection.execute("SELECT name FROM sqlite_master")}
        if "grades" not in tables:
            continue  # killed before its tables were made
        # no half-recorded student: each graded one has all its questions
        partial = connection.execute(
            "SELECT g.student FROM grades g LEFT JOIN questions q ON g.student = q.student "
            "GROUP BY g.student HAVING COUNT(q.question) < 8").fetchall()
        assert partial == []
    finish = subprocess.run(command(tmp_path / "class", db), capture_output=True, text=True,
                            timeout=600)
    assert finish.returncode == 0, finish.stdout + finish.stderr
    assert totals(db) == totals(clean)
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM grades").fetchone() == (6,)


@pytest.mark.slow
def test_a_full_disk_ends_the_run_with_a_message_and_nothing_half_written(tmp_path):
    make_class(tmp_path / "class")
    db = tmp_path / "full.db"

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (96 * 1024, 96 * 1024))

    run = subprocess.run(command(tmp_path / "class", db), capture_output=True, text=True,
                         timeout=600, preexec_fn=small_disk)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "could not be written" in run.stdout and "none half-written" in run.stdout
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    saved = totals(db)
    assert len(saved) < 6
    rerun = subprocess.run(command(tmp_path / "class", db), capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0 and f"unchanged and skipped {len(saved)}" in rerun.stdout
