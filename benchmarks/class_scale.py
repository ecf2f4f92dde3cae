#!/usr/bin/env python3
"""Classes at scale on one machine: a synthetic class graded by `mlhw grade-class`, with the
client's own peak memory, and the speed-up of more workers pinned to as many cores.

    .venv/bin/python benchmarks/class_scale.py [--size 500] [--scaling 16] [--cores 1 2]

1. A synthetic deep_chain class of ``--size`` students, cycled from the corpus: in every
   fifty, 45 correct notebooks and realistic mistakes, and 5 hostile or broken ones taken
   in turn from every ``hostile_`` and ``broken_`` case (an infinite loop, a fork bomb, a
   memory bomb, forged replies ... each costs the grader a restart or a timeout). Graded with
   the default two workers and one seed; reported: wall time, seconds per student, and the
   peak resident memory of the `grade-class` process itself (VmHWM, read from /proc while
   it runs; the grading processes and sandboxes are its children and not counted) after a
   tenth, half and all of the run: it must not grow with the class.
2. Scaling: ``--scaling`` copies of the solution, `grade-class -j N` under `taskset` on N
   cores for each N in ``--cores`` (the issue's 16-core measurement needs a machine with
   that many cores; this one has two, so the table says how far it goes).

Work files go to benchmarks/out/class_scale/.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shutil
import subprocess
import sys
import time
from itertools import cycle
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import corpus  # noqa: E402

MLHW = Path(sys.executable).parent / "mlhw"
WORK = ROOT / "benchmarks" / "out" / "class_scale"
ASSIGNMENT = "deep_chain"
HOSTILE_PER_50 = 5


def mix(size: int) -> list[Path]:
    """``size`` notebooks: in every fifty, 45 ordinary ones and 5 hostile or broken ones."""
    cases = [c for c in corpus.all_cases() if c.assignment == ASSIGNMENT]
    bad = [c.notebook for c in cases if c.name.startswith(("hostile_", "broken_"))]
    ordinary = cycle([c.notebook for c in cases if c.notebook not in bad])
    attacks = cycle(bad)
    return [next(attacks) if i % 50 < HOSTILE_PER_50 else next(ordinary) for i in range(size)]


def lay_out(folder: Path, notebooks: list[Path]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i, notebook in enumerate(notebooks):
        shutil.copy2(notebook, folder / f"s{i:04d}{notebook.suffix or '.ipynb'}")


def grade_class(folder: Path, workers: int, cores: list[int] | None = None
                ) -> tuple[float, list[tuple[float, int]]]:
    """(wall seconds, [(seconds, the client's peak RSS in KiB so far)]) of one run."""
    db = folder.with_suffix(".db")
    db.unlink(missing_ok=True)
    argv = [str(MLHW), "grade-class", str(folder), "--assignment", ASSIGNMENT, "--gradebook",
            str(db), "-j", str(workers), "--seed", "1"]
    if cores:
        argv = ["taskset", "-c", ",".join(map(str, cores)), *argv]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    trace = []
    while proc.poll() is None:
        trace.append((time.perf_counter() - start, _hwm_kib(proc.pid)))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"grade-class failed: {proc.stderr.read()[-2000:] if proc.stderr else ''}")
    return seconds, trace


def _peak_by(trace: list[tuple[float, int]], seconds: float) -> float:
    """The client's peak RSS in MiB up to ``seconds`` into the run."""
    return max((kib for t, kib in trace if t <= seconds), default=0) / 1024


def _hwm_kib(pid: int) -> int:
    """VmHWM of the grade-class process (taskset execs it in the same pid)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--scaling", type=int, default=16)
    parser.add_argument("--cores", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    print(f"Run of {_dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores.\n")
    if args.size:
        folder = WORK / f"class_{args.size}"
        lay_out(folder, mix(args.size))
        seconds, trace = grade_class(folder, 2)
        print(f"| class of {args.size} (deep_chain, 10% hostile or broken), -j2 | wall | per "
              "student | client peak RSS after 10% / 50% / 100% of the run |")
        print("|---|---:|---:|---:|")
        peaks = " / ".join(f"{_peak_by(trace, seconds * f):.0f}" for f in (0.1, 0.5, 1.0))
        print(f"| grade-class | {seconds:.0f} s | {seconds / args.size:.2f} s | {peaks} MiB |",
              flush=True)
    if args.scaling:
        solution = corpus.case(ASSIGNMENT, "solution").notebook
        folder = WORK / f"copies_{args.scaling}"
        lay_out(folder, [solution] * args.scaling)
        print(f"\n| {args.scaling} copies of the solution | wall | per student | speed-up | "
              "efficiency |")
        print("|---|---:|---:|---:|---:|")
        one_core = None
        for n in args.cores:
            seconds, _ = grade_class(folder, n, list(range(n)))
            one_core = one_core or seconds * n  # the first run, as if on one core
            speedup = one_core / seconds
            print(f"| -j{n} on {n} core(s) (taskset) | {seconds:.1f} s | "
                  f"{seconds / args.scaling:.2f} s | {speedup:.2f}× | {speedup / n:.0%} |",
                  flush=True)


if __name__ == "__main__":
    main()
