#!/usr/bin/env python3
"""What a round trip between the grader and its worker costs with the two on one CPU, on
two, and free to run on any: why `grade-class` holds each grading process and its sandbox
to one CPU when the CPUs are all busy, and only then.

    .venv/bin/python benchmarks/round_trip.py [--calls 4000]

1. Two plain processes echoing 200 bytes over a pair of pipes (the floor of any pipe
   protocol).
2. The grader calling a student's function that returns at once (a float, and a 4 × 3
   array) in a real sandboxed worker (`--calls` / 4 calls).

Each placement is measured in turn, three times; the median of each. Reported per round
trip: the wall time, the caller's CPU, and the CPU of the whole machine (both sides, read
from /proc/stat: run it on a quiet machine). What counts in a class whose workers keep every
CPU busy is the machine's CPU; for one submission on an idle machine, the wall time.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import one_thread_per_grader  # noqa: E402

one_thread_per_grader()

CPUS = sorted(os.sched_getaffinity(0))
TICKS = os.sysconf("SC_CLK_TCK")


def _busy_ticks() -> int:
    with open("/proc/stat") as stat:
        user, nice, system = (int(v) for v in stat.readline().split()[1:4])
    return user + nice + system


class _Timer:
    """Wall, this process's CPU and the machine's CPU over a block, per round trip in µs."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def __enter__(self) -> _Timer:
        self.start = (time.perf_counter(), time.process_time(), _busy_ticks())
        return self

    def __exit__(self, *exc: object) -> None:
        wall, cpu, ticks = self.start
        self.figures = ((time.perf_counter() - wall) / self.calls * 1e6,
                        (time.process_time() - cpu) / self.calls * 1e6,
                        (_busy_ticks() - ticks) / TICKS / self.calls * 1e6)


def _raw(calls: int, other: set[int]) -> tuple[float, ...]:
    """(wall, CPU, machine CPU) per round trip, in µs, of an echo over two pipes, the echoing
    process on ``other``."""
    to_child, from_parent = os.pipe()[::-1]
    to_parent, from_child = os.pipe()[::-1]
    pid = os.fork()
    if pid == 0:
        os.sched_setaffinity(0, other)
        poll = select.poll()
        poll.register(from_parent, select.POLLIN)
        while True:
            poll.poll()
            os.write(to_parent, os.read(from_parent, 65536))
    poll = select.poll()
    poll.register(from_child, select.POLLIN)
    message = b"x" * 200
    os.writev(to_child, [message])
    poll.poll()
    os.read(from_child, 65536)
    with _Timer(calls) as timer:
        for _ in range(calls):
            os.writev(to_child, [message])
            poll.poll()
            os.read(from_child, 65536)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    for fd in (to_child, from_parent, to_parent, from_child):
        os.close(fd)
    return timer.figures


def _grader(calls: int, other: set[int], own: set[int]) -> dict[str, tuple[float, ...]]:
    """(wall, the grader's CPU, machine CPU) per call, in µs, of a sandboxed worker's
    instant function, the worker on ``other``."""
    import numpy as np

    from autograder.proxy import StudentProxy
    from autograder.sandbox import SandboxConfig
    from autograder.worker import Worker, close_spare_workers

    close_spare_workers()  # the next sandbox starts with the affinity set here
    os.sched_setaffinity(0, other)
    worker = Worker(SandboxConfig())
    os.sched_setaffinity(0, own)
    try:
        worker.load(["def same(x):\n    return x\n"], ["cell 1"])
        student = StudentProxy(worker, None)
        out = {}
        for label, value in (("a float", 1.0), ("a 4 x 3 array", np.ones((4, 3)))):
            student.same(value)
            with _Timer(calls) as timer:
                for _ in range(calls):
                    student.same(value)
            out[label] = timer.figures
        return out
    finally:
        worker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    args = parser.parse_args()
    if len(CPUS) < 2:
        sys.exit("needs two CPUs")
    first, second = {CPUS[0]}, {CPUS[1]}
    placements = (("one CPU", first, first), ("two CPUs", first, second),
                  ("free", set(CPUS), set(CPUS)))
    runs: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    began = time.strftime("%Y-%m-%d %H:%M")
    for _ in range(3):
        for placement, own, other in placements:
            os.sched_setaffinity(0, own)
            rows = {"echo over pipes": _raw(args.calls, other)}
            rows.update({f"grader → worker, {k}": v
                         for k, v in _grader(args.calls // 4, other, own).items()})
            for what, figures in rows.items():
                runs.setdefault((what, placement), []).append(figures)
    os.sched_setaffinity(0, set(CPUS))
    print(f"Run of {began}; µs per round trip, median of 3: wall / "
          "the caller's CPU / the machine's CPU (both sides)\n")
    print("| round trip | on one CPU | on two CPUs | free |")
    print("|---|---:|---:|---:|")
    for what in dict.fromkeys(w for w, _ in runs):
        cells = [" / ".join(f"{statistics.median(f[i] for f in runs[(what, p)]):.0f}"
                            for i in range(3)) for p, _, _ in placements]
        print(f"| {what} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
