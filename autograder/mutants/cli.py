"""`mlhw mutants NAME`: generate the worked solution's mutants, grade them, report."""

from __future__ import annotations

import sys
from pathlib import Path

from autograder.sandbox import SandboxConfig


def run_mutants(name: str, *, question: str | None = None, out: Path | None = None,
                jobs: int = 2, seed: int = 1, limit: int | None = None,
                sandbox: SandboxConfig | None = None, list_only: bool = False) -> int:
    """Exit code 0 when the run finished (whatever the score), 2 for wrong usage."""
    from autograder.mutants.generation import generate, spread
    from autograder.mutants.grading import load_equivalent, run
    from autograder.mutants.report import html_report, text_summary
    from autograder.release.source import SourceError, load_source

    try:
        source = load_source(name)
    except SourceError as exc:
        print(f"mlhw mutants: {exc}", file=sys.stderr)
        return 2
    if question is not None and question not in source.questions:
        print(f"mlhw mutants: {name} has no question {question!r} "
              f"(it has {', '.join(source.questions)})", file=sys.stderr)
        return 2
    every = generate(source, question)
    chosen = spread(every, limit)
    if list_only:
        for m in chosen:
            print(f"{m.id}  [{m.question}] {m.describe()}")
        return 0
    print(f"{name}: {len(every)} mutants, grading {len(chosen)} with seed {seed} "
          f"on {jobs} grader process(es)", flush=True)
    done = [0]

    def progress(outcome: object) -> None:
        done[0] += 1
        o = outcome
        lost = ", ".join(f"{q} -{p:g}" for q, p in o.lost.items())  # type: ignore[attr-defined]
        print(f"[{done[0]}/{len(chosen)}] {o.status:<10} {o.mutant.id} "  # type: ignore[attr-defined]
              f"[{o.mutant.question}] {lost}", flush=True)  # type: ignore[attr-defined]

    baseline, outcomes = run(source, chosen, jobs=jobs, seed=seed, sandbox=sandbox,
                             equivalent=load_equivalent(name), progress=progress)
    print()
    print(text_summary(name, seed, outcomes, total=len(every)))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html_report(name, seed, outcomes, total=len(every), baseline=baseline))
        print(f"\nreport: {out}")
    return 0
