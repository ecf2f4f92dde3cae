#!/usr/bin/env python3
"""Where a class's CPU time goes: `mlhw grade-class` of copies of the solution, with the CPU
of every kind of process it runs, per student.

    .venv/bin/python benchmarks/class_cpu.py [--sizes 20 60] [NAME ...]

Each assignment's class is graded at two sizes (default workers, seed 1) while /proc is read
every 0.1 s. The CPU (user + system) of the long-lived processes is read from each: the
`grade-class` command, the grading processes (the trusted side: pytest, the reference,
checks, the protocol's grader end) and the sandbox's zygotes (one per grading process:
imports and forks). The workers (one per student: the notebook's cells, the student's calls
and the protocol's worker end) live a fraction of a second each; their CPU is read from the
zygote that forked and reaped them (its children's CPU). The difference between the two
sizes, divided by the difference in students, is the cost per student without the start-up;
the student's own calls (their seconds, from the gradebook) are set against it. The wall
time per student times the cores is what the class had; the engine's seconds are that less
the student's calls, and its share their fraction of it. (The student's calls are timed as
round trips: a cheaper transport shortens them too, so the share can stay put while the
engine's seconds fall.) Work files go to
benchmarks/out/class_cpu/.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from assignments import available_assignments, class_student_seconds  # noqa: E402

MLHW = Path(sys.executable).parent / "mlhw"
WORK = ROOT / "benchmarks" / "out" / "class_cpu"
KINDS = ("grading processes", "workers", "zygotes", "command")
HZ = os.sysconf("SC_CLK_TCK")


def _kind(cmdline: str) -> str | None:
    if "worker_main" in cmdline:
        return "sandbox"  # a zygote (it lives through the class) or one of its workers
    if "multiprocessing.forkserver" in cmdline:
        return "grading processes"
    if "grade-class" in cmdline:
        return "command"
    return None


def _sample(seen: dict[tuple[str, str], list]) -> None:
    """Each process's kind (from its first readable command line), its own CPU so far and
    that of its reaped children, and when it was first and last seen."""
    now = time.monotonic()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        key = (pid, fields[19])  # pid and start time: one process
        own = (int(fields[11]) + int(fields[12])) / HZ
        children = (int(fields[13]) + int(fields[14])) / HZ
        entry = seen.setdefault(key, [None, 0.0, 0.0, now, now])
        entry[0] = entry[0] or _kind(cmdline)
        entry[1:3], entry[4] = [own, children], now


def grade(name: str, size: int) -> dict[str, float]:
    folder = WORK / f"{name}-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    solution = ROOT / "solutions" / name / "solution.ipynb"
    for i in range(size):
        shutil.copy2(solution, folder / f"s{i:03d}.ipynb")
    db = folder.with_suffix(".db")
    db.unlink(missing_ok=True)
    env = dict(os.environ, PATH=f"{MLHW.parent}:{os.environ['PATH']}")
    seen: dict[tuple[str, str], list] = {}
    _sample(seen)
    before = {key: entry[1:3] for key, entry in seen.items()}
    start = time.perf_counter()
    proc = subprocess.Popen([str(MLHW), "grade-class", str(folder), "--assignment", name,
                             "--gradebook", str(db), "--seed", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        _sample(seen)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"grade-class failed: {proc.stderr.read()[-2000:]}")
    out = dict.fromkeys(KINDS, 0.0)
    for key, (kind, own, children, first, last) in seen.items():
        own0, children0 = before.get(key, (0.0, 0.0))
        if kind == "sandbox":
            if last - first > 0.5 * wall:  # a zygote: its reaped children are the workers
                out["zygotes"] += own - own0
                out["workers"] += children - children0
        elif kind:
            out[kind] += own - own0
    out["student calls"] = class_student_seconds(db, name, size)
    out["wall"] = wall
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=available_assignments())
    parser.add_argument("--sizes", type=int, nargs=2, default=[20, 60])
    args = parser.parse_args()
    small, large = args.sizes
    print(f"Run of {_dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores; per student: "
          f"(class of {large} - class of {small}) / {large - small}, in CPU seconds.\n")
    print("| assignment | grading processes | workers | zygotes | command | all | student's "
          "calls | wall per student × cores | engine share of one more student | engine s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.names:
        a, b = grade(name, small), grade(name, large)
        per = {k: (b[k] - a[k]) / (large - small) for k in a}
        had = os.cpu_count() * per["wall"]
        print(f"| {name} | " + " | ".join(f"{per[k]:.3f}" for k in KINDS)
              + f" | {sum(per[k] for k in KINDS):.3f} | {per['student calls']:.3f} | {had:.3f} "
              f"| {1 - per['student calls'] / had:.0%} | {had - per['student calls']:.3f} |",
              flush=True)

if __name__ == "__main__":
    main()
