#!/usr/bin/env python3
"""Where a grading process's CPU goes, test by test: the solution graded again and again in
one process (warm, as in a class), with each test's CPU time, its requests to the worker and
the callbacks it served, per grading.

    .venv/bin/python benchmarks/suite_cpu.py NAME [--gradings 6] [--top 15]

The first two gradings warm the process up (the pytest session, the fork server, caches of
reference work) and are not counted; each grading has its own seed, as a class's students do.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import keep_freed_memory, one_thread_per_grader  # noqa: E402

one_thread_per_grader()  # before NumPy is imported, as in a grading process

from autograder import suite_session  # noqa: E402
from autograder.runner import GradeOptions, grade_submission  # noqa: E402
from autograder.worker import session  # noqa: E402

cpu: collections.Counter = collections.Counter()
requests: collections.Counter = collections.Counter()
callbacks: collections.Counter = collections.Counter()
current = ["?"]


def _counting(counter: collections.Counter, method):
    def counted(self, *args, **kwargs):
        counter[current[0]] += 1
        return method(self, *args, **kwargs)
    return counted


def _timed_run(self, wanted) -> None:
    """`SuiteSession.run`, timing each test's protocol."""
    items = [item for item in self.items if wanted(item)]
    hook = self._config.hook
    with suite_session._quiet():
        for k, item in enumerate(items):
            current[0] = item.name
            start = time.process_time()
            hook.pytest_runtest_protocol(item=item, nextitem=items[k + 1] if k + 1 < len(items) else None)
            cpu[item.name] += time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name")
    parser.add_argument("--gradings", type=int, default=6)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    keep_freed_memory()  # as a grading process does
    session.Worker._request = _counting(requests, session.Worker._request)
    session.Worker._serve_callback = _counting(callbacks, session.Worker._serve_callback)
    suite_session.SuiteSession.run = _timed_run
    notebook = ROOT / "solutions" / args.name / "solution.ipynb"
    for seed in range(1, args.gradings + 3):
        if seed == 3:
            for counter in (cpu, requests, callbacks):
                counter.clear()
        grade_submission(notebook, args.name, GradeOptions(seed=seed, keep_suite=True))
    n = args.gradings
    print(f"{args.name}: the suite's CPU {sum(cpu.values()) / n * 1e3:.1f} ms per grading, "
          f"{sum(requests.values()) / n:.0f} requests, {sum(callbacks.values()) / n:.0f} callbacks")
    for test, seconds in cpu.most_common(args.top):
        print(f"  {seconds / n * 1e3:6.1f} ms  {requests[test] / n:5.1f} requests  "
              f"{callbacks[test] / n:5.1f} callbacks  {test}")


if __name__ == "__main__":
    main()
