"""Class grading on a Dask distributed cluster (a LocalCluster of processes here): the same
scores as local grading, a killed Dask worker costs one retry, a killed client resumes."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import corpus
import pytest

pytest.importorskip("distributed")
from distributed import LocalCluster  # noqa: E402

from autograder.batch import ClassSubmission, find_submissions, grade_class  # noqa: E402
from autograder.dask_backend import DaskGrading, grade_shipped, pack  # noqa: E402
from autograder.gradebook import Gradebook  # noqa: E402
from autograder.grading_processes import DIED_TWICE  # noqa: E402
from autograder.sandbox import SandboxConfig  # noqa: E402

EXAMPLES = corpus.example_class("deep_chain")
MLHW = [sys.executable, "-m", "autograder.cli"]


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as local:  # a free port: xdist runs two
        yield local


def class_folder(tmp_path: Path, cases) -> Path:
    folder = tmp_path / "class"
    folder.mkdir()
    for case in cases:
        shutil.copy(case.notebook, folder / f"{case.name}.ipynb")
    return folder


@pytest.mark.slow
def test_the_example_class_gets_the_same_scores_on_dask(tmp_path, cluster):
    folder = class_folder(tmp_path, EXAMPLES)
    with Gradebook(tmp_path / "g.db") as book:
        done = list(grade_class(find_submissions(folder, "deep_chain"), "deep_chain", book,
                                scheduler=cluster.scheduler_address, seed=1234,
                                sandbox=SandboxConfig(call_timeout=8, load_timeout=10)))
        assert not [d.error for d in done if d.error]
        assert {r.student: r.score for r in book.rows("deep_chain")} == \
            {c.name: c.total for c in EXAMPLES}


def dies_on_eve_and_once_on_fred(path, marker, sandbox, seed, refused):
    """Stands in for grading (the `assignment` argument carries a marker file's path)."""
    name, marker = Path(path).stem, Path(marker)
    if name == "eve" or (name == "fred" and not marker.exists()):
        if name == "fred":
            marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of a student
    return f"graded {name}"


@pytest.mark.slow
def test_a_grading_killed_on_a_dask_worker_is_retried_once_then_recorded(tmp_path, cluster):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "fred-died-once"
    for name in ("ann", "eve", "fred"):
        (tmp_path / f"{name}.py").write_text("x = 1\n")
    tasks = [((str(tmp_path / f"{n}.py"), str(marker), None, None, ""),
              (ClassSubmission(n, tmp_path / f"{n}.py"), "sha")) for n in ("ann", "eve", "fred")]
    with DaskGrading(cluster.scheduler_address, work=dies_on_eve_and_once_on_fred) as grading:
        outcomes = {sub.student: outcome for sub, _, outcome in grading.map(tasks)}
    assert outcomes == {"ann": "graded ann", "eve": DIED_TWICE, "fred": "graded fred"}
    assert "died twice (killed by SIGKILL)" in grading.deaths["eve"] and marker.exists()


def files_seen(path, *rest):
    """Stands in for grading: what the shipped submission unpacked to."""
    return sorted(p.name for p in Path(path).rglob("*"))


def test_a_shipped_folder_never_writes_outside_its_folder(tmp_path):
    (tmp_path / "ann" / "deep_chain").mkdir(parents=True)
    (tmp_path / "ann" / "deep_chain" / "deep_chain.py").write_text("x = 1\n")
    name, files = pack(tmp_path / "ann")
    assert files == {"deep_chain/deep_chain.py": b"x = 1\n"}
    files["../../escape.py"] = b"boom"
    seen = grade_shipped(name, files, "deep_chain", None, None, "", work=files_seen)
    assert seen == {"outcome": ["deep_chain", "deep_chain.py"]}


@pytest.mark.slow
def test_a_client_killed_with_sigkill_resumes_where_it_stopped(tmp_path, cluster):
    cases = [c for c in EXAMPLES if c.name in ("solution", "partial", "mistake_off_by_one")]
    folder = class_folder(tmp_path, cases)
    db = tmp_path / "g.db"
    command = MLHW + ["grade-class", str(folder), "-a", "deep_chain", "--gradebook", str(db),
                      "--scheduler", cluster.scheduler_address, "--seed", "1234"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if sqlite3.connect(db).execute("SELECT COUNT(*) FROM grades").fetchone()[0]:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    rows = dict(sqlite3.connect(db).execute("SELECT student, score FROM grades"))
    assert rows == {c.name: c.total for c in cases}
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)
