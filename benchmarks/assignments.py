#!/usr/bin/env python3
"""Whole assignments, side by side: `otter run`, `nbgrader autograde` and `mlhw grade` /
`grade-class`, each tool on the worked solution filled into its own released notebook.

    .venv/bin/python benchmarks/assignments.py [--repeats 2] [--class-size 20] [NAME ...]

Per assignment (every one by default):

1. `mlhw release --format otter` and `--format nbgrader` (the real tools' `otter assign` and
   `nbgrader generate_assignment`), then the solution is put into each student notebook.
2. One submission, ``--repeats`` times, the tools taking turns within each repeat so that a
   change in the machine's load falls on all alike (wall clock of the whole command, median):
   `otter run -a <autograder zip>` (otter's public tests only: it has no hidden suite),
   `nbgrader autograde NAME --student s00` (runs every cell and the visible tests), and
   `mlhw grade` on nbgrader's submitted notebook (the hidden suite, sandboxed).
3. A class of ``--class-size`` copies, once each: `nbgrader autograde NAME` (its own batch)
   and `mlhw grade-class` with its default workers. otter has no batch mode without Docker
   (`otter grade` runs containers), so its class time is the loop it would take: the size
   times one `otter run` (shown as such).
   mlhw's class runs ``--class-repeats`` times (median; nbgrader's once: 10-16 min at 200).
4. Where mlhw's time goes: the gradebook of that class run holds, per test, the seconds
   spent in the student's calls (round trips to the sandbox included, on the cores the class
   shared); with ``student`` their sum over the class, the engine's share is
   ``1 - student / (workers * wall)`` (reference, comparisons, process starts, loading and
   writing results: everything but the student's own code). The last column,
   ``nbgrader class time * workers / student``, is the most any grader could gain on nbgrader
   while making the same calls of the student's code on the same cores: the ratio at an
   engine that costs nothing.

Every tool's score is checked first (the solution must take full marks everywhere), so a
tool that grades nothing cannot look fast. Work files go to benchmarks/out/assignments/.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.release import nbgrader as nbgrader_release  # noqa: E402
from autograder.release import otter as otter_release  # noqa: E402
from autograder.release.common import tool_env  # noqa: E402
from autograder.release.source import fill_with_solutions, load_source  # noqa: E402
from autograder.runner import GradeOptions, available_assignments, grade_submission  # noqa: E402

BIN = Path(sys.executable).parent
WORK = ROOT / "benchmarks" / "out" / "assignments"
WORKERS = 2  # grade-class's default


def run(argv: list[str], cwd: Path | None = None) -> float:
    """Seconds the command line took; it must succeed."""
    with tempfile.TemporaryDirectory() as home:
        env = {**tool_env(), "HOME": home}
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def prepare(name: str, size: int) -> dict[str, Path]:
    """Release both formats, fill the solution in, and lay out a class of ``size``."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    source = load_source(name)
    dist = otter_release.release(name, work / "otter")
    student = dist / "student" / f"{name}.ipynb"
    nb = nbformat.read(student, as_version=4)
    fill_with_solutions(source, nb, lambda c: c.cell_type == "code" and "otter_assign_solution_cell"
                        in c.metadata.get("tags", []))
    nbformat.write(nb, student)
    released = nbgrader_release.release(name, work / "nbgrader")
    course = released.parents[1]
    nb = nbformat.read(released / f"{name}.ipynb", as_version=4)
    fill_with_solutions(source, nb, lambda c: c.cell_type == "code"
                        and bool(c.metadata.get("nbgrader", {}).get("solution")))
    flat = work / "class"
    flat.mkdir()
    for i in range(size):
        folder = course / "submitted" / f"s{i:02d}" / name
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{name}.ipynb")
        for extra in ("mlhw_check", "public_tests.py"):  # what the student's folder holds
            src = released / extra
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, folder / extra)
        shutil.copy2(folder / f"{name}.ipynb", flat / f"s{i:02d}.ipynb")
    return {"otter_nb": student, "otter_zip": next((dist / "autograder").glob("*.zip")),
            "course": course, "submitted": course / "submitted" / "s00" / name / f"{name}.ipynb",
            "class": flat, "work": work}


def commands(name: str, paths: dict[str, Path]) -> dict[str, tuple[list[str], Path | None]]:
    out = paths["work"] / "results"
    return {
        "otter": ([str(BIN / "otter"), "run", "-a", str(paths["otter_zip"]), "-o", str(out),
                   str(paths["otter_nb"])], None),
        "nbgrader": ([str(BIN / "nbgrader"), "autograde", name, "--student", "s00", "--force",
                      "--create"], paths["course"]),
        "mlhw": ([str(BIN / "mlhw"), "grade", str(paths["submitted"]), "--assignment", name,
                  "--json", str(out / "mlhw.json")], None),
    }


def class_student_seconds(db: Path, name: str, size: int) -> float:
    """Seconds in the student's calls over a graded class (every student must score 100)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT score, result FROM grades WHERE assignment = ?",
                            (name,)).fetchall()
    if len(rows) != size or any(score != 100 for score, _ in rows):
        raise SystemExit(f"{name}: the class run graded {len(rows)} of {size} students, scores "
                         f"{sorted({score for score, _ in rows})}; expected 100 for each")
    return sum(t["student_seconds"] for _, result in rows for t in json.loads(result)["tests"])


def measure(name: str, repeats: int, size: int, class_repeats: int) -> dict[str, float]:
    paths = prepare(name, size)
    (paths["work"] / "results").mkdir()
    score = grade_submission(paths["submitted"], name, GradeOptions(seed=1)).score
    if score != 100:
        raise SystemExit(f"{name}: mlhw gives the filled solution {score}, not 100")
    cmds = commands(name, paths)
    times: dict[str, list[float]] = {tool: [] for tool in cmds}
    for _ in range(repeats):
        for tool, (argv, cwd) in cmds.items():
            times[tool].append(run(argv, cwd))
    one = {tool: statistics.median(t) for tool, t in times.items()}
    nbgrader_class = run([str(BIN / "nbgrader"), "autograde", name, "--force", "--create"],
                         paths["course"])
    runs = []
    for i in range(class_repeats):
        db = paths["work"] / f"grades{i}.db"
        wall = run([str(BIN / "mlhw"), "grade-class", str(paths["class"]), "--assignment", name,
                    "--gradebook", str(db)])
        runs.append((wall, class_student_seconds(db, name, size)))
    mlhw_class, student = sorted(runs)[len(runs) // 2]
    return {**one, "otter_class": size * one["otter"], "nbgrader_class": nbgrader_class,
            "mlhw_class": mlhw_class, "student": student / size,
            "mlhw_class_runs": [round(wall, 1) for wall, _ in runs],
            "engine_share": 1 - student / (WORKERS * mlhw_class)}


def table(rows: dict[str, dict[str, float]], repeats: int, size: int) -> str:
    lines = [
        f"Run of {_dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, median of "
        f"{repeats} for one submission; a class of {size}: nbgrader once, mlhw the median "
        "of the runs listed.",
        "",
        "| assignment | otter run | nbgrader autograde | mlhw grade | otter ÷ mlhw | "
        "nbgrader ÷ mlhw |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['otter']:.2f} s | {r['nbgrader']:.2f} s | {r['mlhw']:.2f} s "
                     f"| {r['otter'] / r['mlhw']:.1f}× | {r['nbgrader'] / r['mlhw']:.1f}× |")
    lines += [
        "",
        f"| class of {size} | otter loop (size × one) | nbgrader autograde | mlhw grade-class "
        f"-j{WORKERS} | otter ÷ mlhw | nbgrader ÷ mlhw | student's calls per submission | "
        "engine share | nbgrader ÷ the student's calls alone | mlhw runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['otter_class']:.0f} s | {r['nbgrader_class']:.1f} s "
            f"| {r['mlhw_class']:.1f} s | {r['otter_class'] / r['mlhw_class']:.1f}× "
            f"| {r['nbgrader_class'] / r['mlhw_class']:.1f}× | {r['student']:.2f} s "
            f"| {r['engine_share']:.0%} "
            f"| {r['nbgrader_class'] * WORKERS / (size * r['student']):.1f}× "
            f"| {', '.join(f'{w} s' for w in r['mlhw_class_runs'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=available_assignments())
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--class-size", type=int, default=20)
    parser.add_argument("--class-repeats", type=int, default=1)
    args = parser.parse_args()
    rows = {}
    for name in args.names:
        rows[name] = measure(name, args.repeats, args.class_size, args.class_repeats)
        print(f"{name}: {rows[name]}", flush=True)
    print(table(rows, args.repeats, args.class_size))


if __name__ == "__main__":
    main()
