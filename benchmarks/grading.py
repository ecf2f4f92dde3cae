#!/usr/bin/env python3
"""Per-submission grading time: `mlhw grade` side by side with `otter run` and `nbgrader autograde`.

    python3 benchmarks/grading.py [--repeats N] [--batch N] [--no-write]

What is timed (wall clock of the whole command line, as a user or CI would run it; every run is
a fresh process; the tools take turns within each repeat so that a change in the load of the
shared machine falls on all of them alike; the median over the repeats is reported):

(a) `otter run` (otter-grader 7.0.0) on the correct submission of the deep_chain excerpt
    (`benchmarks/peers/otter`: q1 chain_forward, q2 chain_backward, OK-format tests);
(b) `nbgrader autograde ps1 --student alice --force` (nbgrader 0.9.6) on the same excerpt
    (`benchmarks/peers/nbgrader`);
(c) `mlhw grade <deep_chain solution> --assignment deep_chain --json F`: the full assignment
    (all eight questions, hidden suite, sandboxed worker);
(c') `mlhw grade` on the very notebook the peers grade (only the two functions: the other
    questions are reported missing);
(d) `mlhw grade` on a trivial notebook that defines nothing (the engine's fixed overhead);
(e) batch, a class of N students: everyone hands in the peers' notebook, graded by a loop of
    `otter run`, by one `nbgrader autograde ps1` and by `mlhw grade-class --workers 1|2`;
    and N copies of the full solution graded by `mlhw grade-class --workers 1|2`.

First every tool grades a correct and a wrong submission (the wrong one forgets 1/m in
chain_backward) and the scores are printed, so that a tool that silently grades nothing
cannot look fast. The peers run from their own venv (`benchmarks/.env-peers`, made by
`benchmarks/setup_peers.sh`, which this script runs when the venv is missing). Work files go
to `benchmarks/out/grading/`; the figures go to `benchmarks/RESULTS_grading.md`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
PEER_ENV = BENCH / ".env-peers"
PEER_BIN = PEER_ENV / "bin"
WORK = BENCH / "out" / "grading"
RESULTS = BENCH / "RESULTS_grading.md"
MLHW = ROOT / ".venv" / "bin" / "mlhw"
SOLUTION_CANDIDATES = [
    ROOT / "solutions" / "deep_chain" / "solution.ipynb",
    ROOT / "assignments" / "deep_chain" / "examples" / "solution.ipynb",
]
TIMEOUT = 600
# a batch measurement: (how, what was graded, total wall s, total CPU s, note)
BatchRow = tuple[str, str, "float | None", "float | None", str]
NOTES_MARKER = "<!-- notes below: hand-written, kept when grading.py rewrites the figures -->"


# --------------------------------------------------------------------------- helpers
def log(msg: str = "") -> None:
    print(msg, flush=True)


def notebook(cells: list[tuple[str, str]]) -> dict:
    """A minimal valid nbformat 4.5 notebook from (cell_type, source) pairs."""
    out = []
    for i, (kind, src) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"cell-{i}", "metadata": {}, "source": src}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {
        "cells": out,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def student_code(name: str) -> str:
    return (PEERS / "student" / f"{name}.py").read_text()


def base_env() -> dict[str, str]:
    """The environment every timed command gets: this one, less PYTHONDONTWRITEBYTECODE.

    Some shells here export PYTHONDONTWRITEBYTECODE=1. Under it pytest (inside `mlhw grade`)
    re-does its assertion rewriting of every plugin module (all of hypothesis) on each run,
    ~1.5 s that an ordinary installation does not pay; so it is removed for every tool.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def peer_env() -> dict[str, str]:
    env = base_env()
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    # nbgrader shells out to `alembic`; both tools start kernels from this venv.
    env["PATH"] = f"{PEER_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    cpu: float | None = None  # CPU seconds of the whole process tree, when it can be measured


CPUACCT = Path("/sys/fs/cgroup/cpuacct")
_cg_counter = 0


def _cpu_group() -> Path | None:
    """A fresh cgroup-v1 cpuacct group for one command, or None where that is not possible.

    Every process the command starts stays in the group (sandboxed workers and Jupyter
    kernels included, even those killed rather than waited for), so its cpuacct.usage is the
    CPU time of the whole tree: a figure that, unlike wall time, hardly depends on what else
    runs on the shared machine. Falls back to RUSAGE_CHILDREN (which misses killed
    grandchildren) when the group cannot be made (not root, cgroup v2 only, ...).
    """
    global _cg_counter
    if not (CPUACCT / "cgroup.procs").exists() or not os.access(CPUACCT, os.W_OK):
        return None
    _cg_counter += 1
    g = CPUACCT / f"mlhw-bench-{os.getpid()}-{_cg_counter}"
    try:
        g.mkdir()
    except OSError:
        return None
    return g


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    group = _cpu_group()

    def enter_group() -> None:  # runs in the child between fork and exec
        if group is not None:
            with open(group / "cgroup.procs", "w") as f:
                f.write(str(os.getpid()))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=base_env() if env is None else env,
                           capture_output=True, text=True, timeout=TIMEOUT, check=False,
                           preexec_fn=enter_group if group is not None else None)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu: float | None = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if group is not None:
            cpu = int((group / "cpuacct.usage").read_text()) / 1e9
    finally:
        if group is not None:
            _remove_group(group)
    return Run(wall, p.returncode, p.stdout, p.stderr, cpu)


def _remove_group(group: Path) -> None:
    for _ in range(50):  # leftover processes (a kernel still shutting down) may hold it briefly
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.1)
    try:  # still busy: hand the stragglers back to the root group, then remove it
        for pid in (group / "cgroup.procs").read_text().split():
            (CPUACCT / "cgroup.procs").write_text(pid)
        group.rmdir()
    except OSError:
        pass


def tail(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def fmt_s(x: float | None) -> str:
    return "—" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


# --------------------------------------------------------------------------- the cases
@dataclass
class Case:
    key: str
    tool: str
    graded: str
    command: list[str]
    cwd: Path | None = None
    env: dict[str, str] | None = None
    times: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    is_mlhw: bool = False

    def time_once(self) -> None:
        r = run(self.command, cwd=self.cwd, env=self.env)
        # mlhw grade: 0 = graded (whatever the score), 1 = below --fail-under; 3 = grader failed.
        ok = r.returncode == 0
        if ok:
            self.times.append(r.seconds)
            if r.cpu is not None:
                self.cpus.append(r.cpu)
        else:
            self.failures.append(f"exit {r.returncode}: {tail(r.stderr or r.stdout, 8)}")

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def cpu(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None

    @property
    def spread(self) -> str:
        if not self.times:
            return "—"
        return f"{fmt_s(min(self.times))}–{fmt_s(max(self.times))}"


# --------------------------------------------------------------------------- otter
def prepare_otter() -> tuple[Path, dict[str, Path]]:
    d = WORK / "otter"
    d.mkdir(parents=True)
    zip_path = d / "autograder.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        src = PEERS / "otter"
        zf.write(src / "otter_config.json", "otter_config.json")
        for f in sorted((src / "tests").glob("*.py")):
            zf.write(f, f"tests/{f.name}")
    subs = {}
    for name in ("correct", "wrong"):
        sub = d / name / "deep_chain.ipynb"
        sub.parent.mkdir()
        nb = notebook([("markdown", "# deep_chain excerpt"), ("code", student_code(name))])
        sub.write_text(json.dumps(nb, indent=1))
        subs[name] = sub
    return zip_path, subs


def otter_cmd(zip_path: Path, sub: Path) -> list[str]:
    return [str(PEER_BIN / "otter"), "run", "-a", str(zip_path), "-o", str(sub.parent),
            "--no-logo", str(sub)]


def otter_score(sub: Path) -> tuple[float, float]:
    r = json.loads((sub.parent / "results.json").read_text())
    tests = [t for t in r["tests"] if t.get("max_score") is not None]
    return sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)


# --------------------------------------------------------------------------- nbgrader
STUDENTS = {"alice": "correct", "bob": "wrong"}


def prepare_nbgrader(students: dict[str, str] = STUDENTS, folder: str = "nbgrader") -> Path:
    """An nbgrader course with ps1 released and one submission per student (code by name)."""
    course = WORK / folder
    course.mkdir(parents=True)
    shutil.copy(PEERS / "nbgrader" / "nbgrader_config.py", course)
    shutil.copytree(PEERS / "nbgrader" / "source", course / "source")
    r = run([str(PEER_BIN / "nbgrader"), "generate_assignment", "ps1", "--force"],
            cwd=course, env=peer_env())
    if r.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{tail(r.stderr)}")
    released = json.loads((course / "release" / "ps1" / "ps1.ipynb").read_text())
    for student, code in students.items():
        nb = json.loads(json.dumps(released))
        cells = [c for c in nb["cells"]
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "chain"]
        assert len(cells) == 1, "the released notebook lost its solution cell"
        assert "NotImplementedError" in "".join(cells[0]["source"]), "solution not stripped"
        cells[0]["source"] = student_code(code)
        dest = course / "submitted" / student / "ps1" / "ps1.ipynb"
        dest.parent.mkdir(parents=True)
        dest.write_text(json.dumps(nb, indent=1))
    return course


def nbgrader_cmd(student: str) -> list[str]:
    return [str(PEER_BIN / "nbgrader"), "autograde", "ps1", "--student", student, "--force"]


def nbgrader_score(course: Path, student: str) -> tuple[float, float]:
    code = (
        "import json, sys\n"
        "from nbgrader.api import Gradebook\n"
        "with Gradebook('sqlite:///gradebook.db') as gb:\n"
        f"    s = gb.find_submission('ps1', {student!r})\n"
        "    print(json.dumps([s.score, s.max_score]))\n"
    )
    r = run([str(PEER_BIN / "python"), "-c", code], cwd=course, env=peer_env())
    if r.returncode != 0:
        raise RuntimeError(tail(r.stderr))
    score, max_score = json.loads(r.stdout.strip().splitlines()[-1])
    return score, max_score


# --------------------------------------------------------------------------- mlhw
def mlhw_cmd(sub: Path, json_path: Path) -> list[str]:
    return [str(MLHW), "grade", str(sub), "--assignment", "deep_chain", "--json",
            str(json_path), "--quiet"]


def mlhw_result(json_path: Path) -> dict:
    return json.loads(json_path.read_text())


def find_solution() -> Path | None:
    for p in SOLUTION_CANDIDATES:
        if p.is_file():
            return p
    return None


def mlhw_status() -> tuple[bool, str]:
    """Whether `mlhw grade` works on the deep_chain solution, and why not if it does not."""
    if not MLHW.exists():
        return False, f"{MLHW} does not exist (run ./dev.sh setup)"
    sol = find_solution()
    if sol is None:
        return False, "no deep_chain solution notebook yet (looked for " + ", ".join(
            str(p.relative_to(ROOT)) for p in SOLUTION_CANDIDATES) + ")"
    probe = WORK / "mlhw_probe.json"
    probe.unlink(missing_ok=True)
    try:
        r = run(mlhw_cmd(sol, probe))
    except subprocess.TimeoutExpired:
        return False, "mlhw grade timed out on the solution"
    if r.returncode != 0 or not probe.exists():
        return False, f"mlhw grade failed on {sol.relative_to(ROOT)} (exit {r.returncode}): " + \
            tail(r.stderr or r.stdout, 3)
    res = mlhw_result(probe)
    if res.get("score") != res.get("max_score"):
        return True, (f"warning: the solution scored {res.get('score')} / {res.get('max_score')}"
                      " (not full marks)")
    return True, ""


# --------------------------------------------------------------------------- main
def machine_note() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def peer_versions() -> str:
    code = ("import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
            "('otter-grader', 'nbgrader', 'nbclient', 'ipykernel', 'numpy')))")
    r = run([str(PEER_BIN / "python"), "-c", code])
    return r.stdout.strip() or "unknown"


def batch_table(rows: list[BatchRow], n: int) -> list[str]:
    """Markdown for the batch rows, each tool's time per submission divided by mlhw's."""
    ref = {what: t for how, what, t, _, _ in rows if "--workers 2" in how and t}
    md = [f"## Batch: a class of {n} submissions (run once)", "",
          "| how | what each student handed in | total wall s | wall s / submission | "
          "CPU s / submission | ÷ mlhw `--workers 2` | note |",
          "|---|---|---:|---:|---:|---:|---|"]
    for how, what, t, cpu, note in rows:
        per = t / n if t else None
        r = f"{t / ref[what]:.1f}×" if t and ref.get(what) else "—"
        md.append(f"| {how} | {what} | {fmt_s(t)} | {fmt_s(per)} | "
                  f"{fmt_s(cpu / n if cpu else None)} | {r} | {note} |")
    return md + [""]


def grade_class_row(folder: Path, workers: int, n: int, what: str) -> BatchRow:
    db = folder.parent / f"grades_{folder.name}_w{workers}.db"
    r = run([str(MLHW), "grade-class", str(folder), "--assignment", "deep_chain",
             "--gradebook", str(db), "--workers", str(workers)])
    ok = r.returncode == 0 and f"graded {n}," in r.stdout
    log(f"  mlhw grade-class --workers {workers} ({what}): {r.seconds:.1f} s"
        + ("" if ok else f" (FAILED, exit {r.returncode})"))
    return (f"`mlhw grade-class --workers {workers}`", what, r.seconds if ok else None, r.cpu,
            "" if ok else f"exit {r.returncode}: {tail(r.stdout + r.stderr, 2)}")


def batch_equal_work(n: int, zip_path: Path, correct: Path, penv: dict[str, str]) -> list[BatchRow]:
    """A class of n students who all hand in the peers' correct notebook, graded by each tool
    in its own batch mode (otter has none without Docker: a loop of `otter run`)."""
    log(f"\n== batch: a class of {n} students handing in the peers' notebook (equal work)")
    what = "peers' notebook (q1–q2)"
    rows: list[BatchRow] = []
    folder = WORK / "batch" / "peers_nb"
    folder.mkdir(parents=True)
    for i in range(n):
        shutil.copy(correct, folder / f"student{i:03d}.ipynb")
    loop_dir = WORK / "batch" / "otter_loop"
    total, cpu, fails = 0.0, 0.0, 0
    for i in range(n):
        sub = loop_dir / f"student{i:03d}" / "deep_chain.ipynb"
        sub.parent.mkdir(parents=True)
        shutil.copy(correct, sub)
        r = run(otter_cmd(zip_path, sub), env=penv)
        total, cpu, fails = total + r.seconds, cpu + (r.cpu or 0.0), fails + (r.returncode != 0)
    log(f"  otter run loop: {total:.1f} s")
    rows.append((f"loop of `otter run` ({n} commands)", what, total, cpu,
                 f"{fails} failed" if fails else ""))
    course = prepare_nbgrader({f"student{i:03d}": "correct" for i in range(n)}, "nbgrader_class")
    r = run([str(PEER_BIN / "nbgrader"), "autograde", "ps1", "--force"], cwd=course, env=penv)
    graded = len(list((course / "autograded").glob("*/ps1/ps1.ipynb")))
    ok = r.returncode == 0 and graded == n
    log(f"  nbgrader autograde ps1 ({graded} students): {r.seconds:.1f} s")
    rows.append(("`nbgrader autograde ps1` (one command)", what, r.seconds if ok else None, r.cpu,
                 "" if ok else f"exit {r.returncode}, {graded} graded: {tail(r.stderr, 2)}"))
    for workers in (1, 2):
        rows.append(grade_class_row(folder, workers, n, what))
    return rows


def batch_full_solution(n: int, solution: Path) -> list[BatchRow]:
    """n copies of the full deep_chain solution: mlhw's batch on the whole assignment."""
    log(f"\n== batch: {n} copies of the full deep_chain solution")
    folder = WORK / "batch" / "solution"
    folder.mkdir(parents=True)
    for i in range(n):
        shutil.copy(solution, folder / f"student{i:03d}.ipynb")
    return [grade_class_row(folder, workers, n, "full solution (q1–q8)") for workers in (1, 2)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per case (median) [5]")
    ap.add_argument("--batch", type=int, default=20,
                    help="students in the batch measurements; 0 to skip [20]")
    ap.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = ap.parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = "python3 benchmarks/grading.py " + " ".join(shlex.quote(a) for a in given)
    started = _dt.datetime.now()
    load_before = loadavg()

    if not (PEER_BIN / "otter").exists() or not (PEER_BIN / "nbgrader").exists():
        log("peer venv missing: running benchmarks/setup_peers.sh")
        subprocess.run(["bash", str(BENCH / "setup_peers.sh")], check=True)

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    penv = peer_env()

    # ---------------------------------------------------------------- set up and verify
    log("== verifying that every tool really grades (correct vs wrong submission)")
    verify: list[tuple[str, str, str]] = []
    zip_path, otter_subs = prepare_otter()
    for name, sub in otter_subs.items():
        r = run(otter_cmd(zip_path, sub), env=penv)
        if r.returncode != 0:
            raise RuntimeError(f"otter run failed on {name}:\n{tail(r.stderr or r.stdout)}")
        s, m = otter_score(sub)
        verify.append(("otter run", f"{name} submission", f"{s:g} / {m:g}"))
        log(f"  otter run        {name:8s} {s:g} / {m:g}   ({r.seconds:.1f} s)")
    course = prepare_nbgrader()
    for student, name in STUDENTS.items():
        r = run(nbgrader_cmd(student), cwd=course, env=penv)
        if r.returncode != 0:
            raise RuntimeError(f"nbgrader autograde failed on {student}:\n{tail(r.stderr)}")
        s, m = nbgrader_score(course, student)
        verify.append(("nbgrader autograde", f"{name} submission", f"{s:g} / {m:g}"))
        log(f"  nbgrader         {name:8s} {s:g} / {m:g}   ({r.seconds:.1f} s)")

    mlhw_ok, why = mlhw_status()
    isolation = ""
    mlhw_subs: dict[str, Path] = {}
    if not mlhw_ok:
        log(f"  mlhw: SKIPPED (c), (d), (e): {why}")
    else:
        if why:
            log(f"  mlhw: {why}")
        sol = find_solution()
        assert sol is not None
        d = WORK / "mlhw"
        d.mkdir()
        trivial = d / "trivial.ipynb"
        trivial.write_text(json.dumps(notebook(
            [("markdown", "# deep_chain: nothing done yet"), ("code", "import numpy as np")])))
        wrong = d / "peers_wrong.ipynb"
        wrong.write_text(otter_subs["wrong"].read_text())
        mlhw_subs = {"solution": sol, "peers_nb": otter_subs["correct"], "trivial": trivial}
        for label, sub in [("solution", sol), ("peers' correct nb", otter_subs["correct"]),
                           ("peers' wrong nb", wrong), ("trivial", trivial)]:
            out = d / f"verify_{label.replace(' ', '_').replace(chr(39), '')}.json"
            r = run(mlhw_cmd(sub, out))
            if not out.exists():
                raise RuntimeError(f"mlhw grade wrote no JSON for {sub}:\n{tail(r.stderr)}")
            res = mlhw_result(out)
            isolation = res.get("isolation", isolation)
            verify.append(("mlhw grade", label, f"{res['score']:g} / {res['max_score']:g}"))
            log(f"  mlhw grade       {label:18s} {res['score']:g} / {res['max_score']:g}"
                f"   ({r.seconds:.1f} s)")

    # ---------------------------------------------------------------- timing
    cases = [
        Case("a", "otter run (otter-grader 7.0.0)", "deep_chain excerpt q1–q2, correct",
             otter_cmd(zip_path, otter_subs["correct"]), env=penv),
        Case("b", "nbgrader autograde (0.9.6)", "deep_chain excerpt q1–q2, correct",
             nbgrader_cmd("alice"), cwd=course, env=penv),
    ]
    if mlhw_ok:
        d = WORK / "mlhw"
        cases += [
            Case("c", "mlhw grade",
                 f"full deep_chain solution (q1–q8), `{mlhw_subs['solution'].relative_to(ROOT)}`",
                 mlhw_cmd(mlhw_subs["solution"], d / "c.json"), is_mlhw=True),
            Case("c'", "mlhw grade", "the peers' notebook (q1–q2 only; rest missing)",
                 mlhw_cmd(mlhw_subs["peers_nb"], d / "c2.json"), is_mlhw=True),
            Case("d", "mlhw grade", "trivial notebook defining nothing (engine overhead)",
                 mlhw_cmd(mlhw_subs["trivial"], d / "d.json"), is_mlhw=True),
        ]
    log(f"\n== timing: {args.repeats} repeats, tools in turn")
    for rep in range(args.repeats):
        for c in cases:
            c.time_once()
        log(f"  repeat {rep + 1}/{args.repeats}: " + ", ".join(
            f"({c.key}) {fmt_s(c.times[-1]) if c.times else 'FAILED'}" for c in cases))

    # ---------------------------------------------------------------- batch
    batch_rows: list[BatchRow] = []
    if mlhw_ok and args.batch > 0:
        n = args.batch
        batch_rows += batch_equal_work(n, zip_path, otter_subs["correct"], penv)
        batch_rows += batch_full_solution(n, mlhw_subs["solution"])

    # ---------------------------------------------------------------- report
    load_after = loadavg()
    by_key = {c.key: c for c in cases}
    ref_c = by_key["c"].median if "c" in by_key else None
    ref_c2 = by_key["c'"].median if "c'" in by_key else None

    def ratio(x: float | None, ref: float | None) -> str:
        return f"{x / ref:.1f}×" if x and ref else "—"

    cpu_c2 = by_key["c'"].cpu if "c'" in by_key else None
    lines = [
        ("| case | tool | what was graded | median wall s | min–max wall s | median CPU s | "
         "runs | wall ÷ mlhw (c) | wall ÷ mlhw (c') | CPU ÷ mlhw (c') |"),
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        runs = f"{len(c.times)}" + (f" (+{len(c.failures)} failed)" if c.failures else "")
        lines.append(f"| ({c.key}) | {c.tool} | {c.graded} | {fmt_s(c.median)} | {c.spread} | "
                     f"{fmt_s(c.cpu)} | {runs} | {ratio(c.median, ref_c)} | "
                     f"{ratio(c.median, ref_c2)} | {ratio(c.cpu, cpu_c2)} |")
    table = "\n".join(lines)

    speedups = []
    for c in cases[:2]:
        if c.median and (ref_c or ref_c2):
            speedups.append(f"{c.tool.split(' (')[0]}: {ratio(c.median, ref_c)} vs (c), "
                            f"{ratio(c.median, ref_c2)} vs (c'), "
                            f"{ratio(c.cpu, cpu_c2)} in CPU time vs (c')")
    log("\n" + table)
    for c in cases:
        for f in c.failures[:2]:
            log(f"  ({c.key}) failure: {f}")
    if speedups:
        log("mlhw speed-up over " + "; ".join(speedups) + " (goal: ≥ 20× over both)")

    md = [
        "# Grading time per submission: mlhw vs otter-grader vs nbgrader",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} (local), {args.repeats} repeats per case, median.",
        f"- Command: `{command.strip()}` (after `bash benchmarks/setup_peers.sh`).",
        (f"- Machine: {machine_note()}; **shared with other engineers working at the same "
         f"time** (load average {load_before} at start, {load_after} at the end), so absolute "
         "figures are noisy; the tools take turns within each repeat so the noise falls on all "
         "alike."),
        (f"- Peers: {peer_versions()} (own venv `benchmarks/.env-peers`). `otter run` is "
         "otter's non-container mode (`otter grade` needs Docker, absent here)."),
        f"- mlhw isolation: {isolation or 'n/a (mlhw not measured)'}.",
        ("- Each time is the wall clock of one whole command (process start, imports, kernel "
         "or worker start, running the notebook, grading, writing results). CPU s is the CPU "
         "time of the command's whole process tree (kernels and sandboxed workers included, "
         "through a cgroup-v1 cpuacct group per command): it depends far less than wall time "
         "on the other work on the machine, and on 2 busy cores it is the fairer comparison."),
        "",
        "## Per submission",
        "",
        table,
        "",
    ]
    if not mlhw_ok:
        md += [f"mlhw was **not measured**: {why}.", ""]
    if speedups:
        md += ["Peer time ÷ mlhw time (medians): " + "; ".join(speedups)
               + " (goal: mlhw ≥ 20× faster than both).", ""]
    md += [
        ("What is graded: the peers grade the deep_chain excerpt in `benchmarks/peers/` (q1 "
         "`chain_forward` 10 pts, q2 `chain_backward` 20 pts: reference comparisons on random "
         "inputs with l = 1…200 and a finite-difference check). mlhw (c) grades the *full* "
         "deep_chain assignment (eight questions, training runs, figures, sympy answers) — "
         "more work than the peers do; (c') is mlhw on the very notebook the peers grade."),
        "",
        "## Verification (scores)",
        "",
        "| tool | submission | score |",
        "|---|---|---|",
    ]
    md += [f"| {t} | {s} | {sc} |" for t, s, sc in verify]
    md += ["", "The wrong submission forgets the 1/m of the cost in `chain_backward`.", ""]
    if batch_rows:
        md += batch_table(batch_rows, args.batch)
    if not args.no_write:
        # Hand-written notes below the marker survive a re-run.
        notes = ""
        if RESULTS.exists() and NOTES_MARKER in RESULTS.read_text():
            notes = RESULTS.read_text().split(NOTES_MARKER, 1)[1]
        RESULTS.write_text("\n".join(md) + "\n" + NOTES_MARKER + notes)
        log(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
