"""Full mutation run of every assignment's suite (issue #14): hours on 2 cores.

    .venv/bin/python scripts/mutation_scores.py [--jobs 2] [--seed 1] [--limit N] [NAME ...]

Grades every mutant of each worked solution with its hidden suite (one seed), writes each
assignment's HTML report to out/mutants/<name>.html and the per-question table into
benchmarks/RESULTS_mutation.md (between its BEGIN/END TABLE markers; the rest of the file,
the survivors' explanations, is left as written).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.mutants.generation import generate, spread  # noqa: E402
from autograder.mutants.grading import load_equivalent, run  # noqa: E402
from autograder.mutants.report import html_report, markdown_table, text_summary  # noqa: E402
from autograder.release.source import load_source  # noqa: E402

ASSIGNMENTS = ["deep_chain", "plsa_em", "sigmoid_mlp", "gd_mnist", "mlp_multiclass"]
RESULTS = REPO / "benchmarks" / "RESULTS_mutation.md"
BEGIN, END = "<!-- BEGIN TABLE -->", "<!-- END TABLE -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=ASSIGNMENTS)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="per assignment (a bounded run)")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "mutants")
    args = parser.parse_args()
    results = {}
    notes = []
    for name in args.names:
        source = load_source(name)
        every = generate(source)
        chosen = spread(every, args.limit)
        start = time.monotonic()
        baseline, outcomes = run(source, chosen, jobs=args.jobs, seed=args.seed,
                                 equivalent=load_equivalent(name),
                                 progress=lambda o: print(f"  {o.status:<10} {o.mutant.id}",
                                                          flush=True))
        seconds = time.monotonic() - start
        print(text_summary(name, args.seed, outcomes, total=len(every)), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{name}.html").write_text(
            html_report(name, args.seed, outcomes, total=len(every), baseline=baseline))
        results[name] = outcomes
        notes.append(f"- {name}: {len(outcomes)} of {len(every)} mutants graded in "
                     f"{seconds:.0f} s (seed {args.seed}, {args.jobs} grader processes)")
    if sorted(args.names) == sorted(ASSIGNMENTS) and args.limit is None:
        write_table(markdown_table(results) + "\n\n" + "\n".join(notes))
    else:  # the table stays that of the last full run
        print("a partial run: RESULTS_mutation.md left as it is")


def write_table(table: str) -> None:
    """Replace the table between the markers of RESULTS_mutation.md (or append it)."""
    text = RESULTS.read_text() if RESULTS.is_file() else f"# Mutation scores\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    RESULTS.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    print(f"table written to {RESULTS}")


if __name__ == "__main__":
    main()
