"""Grade corpus cases at many seeds and report any verdict that changes with the seed.

Every correct submission must get the same grade at every seed (the fair-grades rule); a
mistaken one must lose the same points. CI runs a few seeds (tests/grading/test_corpus.py
runs one); this script runs the full sweep and prints a table to paste into the notes::

    .venv/bin/python scripts/seed_sweep.py --seeds 20 --correct-only
    .venv/bin/python scripts/seed_sweep.py --assignment plsa_em --case solution --seeds 5
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import corpus  # noqa: E402


def grade_at(args: tuple[str, str, int]) -> tuple[str, int, dict[str, float]]:
    from autograder.runner import grade_submission

    assignment, name, seed = args
    options = corpus.grade_options(assignment)
    options.seed = seed
    result = grade_submission(corpus.case(assignment, name).notebook, assignment, options)
    return f"{assignment}/{name}", seed, corpus.scores(result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--assignment", action="append")
    parser.add_argument("--case", action="append")
    parser.add_argument("--correct-only", action="store_true",
                        help="only the cases whose expected total is 100")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    cases = [c for c in corpus.all_cases()
             if (not args.assignment or c.assignment in args.assignment)
             and (not args.case or c.name in args.case)
             and (not args.correct_only or c.total == 100)]
    jobs = [(c.assignment, c.name, s) for c in cases
            for s in range(args.first_seed, args.first_seed + args.seeds)]
    expected = {c.id: c.scores for c in cases}
    differing: dict[str, list[tuple[int, dict[str, float]]]] = {}
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for case_id, seed, got in pool.map(grade_at, jobs):
            if got != expected[case_id]:
                diff = {q: got[q] for q in got if got[q] != expected[case_id].get(q)}
                differing.setdefault(case_id, []).append((seed, diff))
    print("| case | seeds | same grade as expected |\n|---|---:|---|")
    for c in cases:
        bad = differing.get(c.id, [])
        shown = "yes" if not bad else "; ".join(f"seed {s}: {d}" for s, d in bad[:5])
        print(f"| {c.id} | {args.seeds} | {shown} |")
    print(f"\n{len(jobs)} gradings in {time.perf_counter() - start:.0f} s; "
          f"{sum(map(len, differing.values()))} differed")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
