"""The hostile corpus graded again, measuring the grader's own cost, not only the scores.

Every case whose name starts with ``hostile_`` or ``broken_`` (tests/submissions/*, the
example classes included) is graded by ``grade_submission`` in a fresh grader process of its
own. That process reports its peak resident memory (``ru_maxrss`` of itself, never the
sandbox's) above its baseline after imports, and the wall time; the scores are compared with
the case's expected grade. Writes a Markdown table to stdout::

    .venv/bin/python benchmarks/hostile.py > /tmp/hostile.md
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import corpus  # noqa: E402

LIMIT_MIB = 1024  # the bound on the grader's memory above its baseline


def _grade(case_id: str, queue: multiprocessing.Queue) -> None:
    from autograder.runner import grade_submission

    assignment, name = case_id.split("/")
    case = corpus.case(assignment, name)
    options = corpus.grade_options(assignment)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = grade_submission(case.notebook, assignment, options)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((corpus.scores(result) == case.scores, seconds, (peak - baseline) / 1024,
               peak / 1024))


def measure(case_id: str) -> tuple[bool, float, float, float]:
    """(expected scores?, seconds, MiB above the baseline, peak MiB) of one grading."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_grade, args=(case_id, queue))
    process.start()
    outcome = queue.get(timeout=900)
    process.join()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", action="append")
    args = parser.parse_args()
    cases = [c for c in corpus.all_cases()
             if c.name.startswith(("hostile_", "broken_"))
             and (not args.assignment or c.assignment in args.assignment)]
    print("| case | expected scores | grading s | grader MiB above baseline | grader peak MiB |")
    print("|---|---|---:|---:|---:|")
    worst, failures = 0.0, 0
    for case in cases:
        ok, seconds, above, peak = measure(case.id)
        worst = max(worst, above)
        failures += not ok
        print(f"| {case.id} | {'yes' if ok else '**no**'} | {seconds:.1f} | {above:.0f} | "
              f"{peak:.0f} |", flush=True)
    print(f"\n{len(cases)} hostile and broken cases; {failures} off their expected scores; "
          f"the grader's memory grew by at most {worst:.0f} MiB (bound {LIMIT_MIB} MiB)")
    return 1 if failures or worst > LIMIT_MIB else 0


if __name__ == "__main__":
    raise SystemExit(main())
