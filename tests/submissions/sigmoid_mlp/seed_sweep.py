"""Grade sigmoid_mlp cases at many seeds and report every test whose verdict changes.

Not a CI test (a sweep takes minutes): run it after changing the suite, e.g.

    .venv/bin/python tests/submissions/sigmoid_mlp/seed_sweep.py --seeds 20
    .venv/bin/python tests/submissions/sigmoid_mlp/seed_sweep.py --seeds 5 mistake_np_random_init

Without case names it grades every correct case of the corpus (those whose expected scores
are full marks) and the worked solution. A case passes the sweep when each test gets the
same status at every seed and the scores equal the case's expected scores at every seed.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
ASSIGNMENT = "sigmoid_mlp"


def _cases(names: list[str]) -> dict[str, tuple[Path, dict[str, float]]]:
    cases = {}
    for path in sorted(HERE.glob("*.expected.toml")):
        data = tomllib.loads(path.read_text())
        name = path.name.removesuffix(".expected.toml")
        notebook = ROOT / data["notebook"] if "notebook" in data else path.with_name(f"{name}.ipynb")
        scores = {q: float(s) for q, s in data["scores"].items()}
        full = sum(scores.values()) == 100
        if (names and name in names) or (not names and full):
            cases[name] = (notebook, scores)
    if not names or "worked_solution" in names:
        full = {q: float(p) for q, p in tomllib.loads(
            (ROOT / "assignments" / ASSIGNMENT / "assignment.toml").read_text())["questions"].items()
            for p in [p["points"]]}
        cases["worked_solution"] = (ROOT / "solutions" / ASSIGNMENT / "solution.ipynb", full)
    return cases


def _grade(job: tuple[str, str, int]) -> tuple[str, int, dict[str, float], dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    from autograder.runner import GradeOptions, grade_submission
    from autograder.sandbox import SandboxConfig

    name, notebook, seed = job
    config = SandboxConfig(call_timeout=4, load_timeout=6, submission_timeout=120)
    result = grade_submission(Path(notebook), ASSIGNMENT, GradeOptions(sandbox=config, seed=seed))
    scores = {q.question: q.score for q in result.questions()}
    verdicts = {t.name: f"{t.status.name}: {t.output[:160]}" for t in result.tests}
    return name, seed, scores, verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    cases = _cases(args.names)
    jobs = [(name, str(nb), seed) for name, (nb, _) in cases.items()
            for seed in range(args.first_seed, args.first_seed + args.seeds)]
    results: dict[str, list] = defaultdict(list)
    t0 = time.time()
    with ProcessPoolExecutor(args.jobs) as pool:
        for name, seed, scores, verdicts in pool.map(_grade, jobs):
            results[name].append((seed, scores, verdicts))
    failed = 0
    for name, runs in results.items():
        expected = cases[name][1]
        bad_scores = [(seed, s) for seed, s, _ in runs if s != expected]
        statuses: dict[str, set[str]] = defaultdict(set)
        for _, _, verdicts in runs:
            for test, verdict in verdicts.items():
                statuses[test].add(verdict.split(":")[0])
        unstable = {t: v for t, v in statuses.items() if len(v) > 1}
        ok = not bad_scores and not unstable
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(runs)} seeds, scores "
              f"{'as expected' if not bad_scores else f'differ at seeds {[s for s, _ in bad_scores]}'}"
              f"{'' if not unstable else f', unstable tests: {sorted(unstable)}'}")
        for seed, scores in bad_scores[:3]:
            print(f"     seed {seed}: {scores}")
            for test, verdict in next(v for s, _, v in runs if s == seed).items():
                if not verdict.startswith(("PASSED", "MANUAL")):
                    print(f"       {test}: {verdict}")
    print(f"{len(jobs)} gradings in {time.time() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
