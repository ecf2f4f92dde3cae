"""Grade mutants with the class engine (``GradingProcesses`` running ``grade_one``), one seed
for the whole run, and classify each against the unmutated solution graded with that seed.

- killed: the mutant lost points in its own question;
- knock-on: it lost points only in other questions;
- survived: no question lost a point;
- equivalent: marked so in ``autograder/suites/<name>/equivalent_mutants.toml`` (a marked
  mutant that is killed all the same is reported killed, with a note);
- error: the grader itself failed on it (reported, never counted in the score).
"""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.grading_processes import DIED_TWICE, GradingProcesses
from autograder.mutants.generation import Mutant, mutant_notebook
from autograder.release.source import Source
from autograder.sandbox import SandboxConfig

SUITES = Path(__file__).resolve().parents[1] / "suites"
STATUSES = ("killed", "knock-on", "survived", "equivalent", "error")


@dataclass(frozen=True)
class Task:
    """What a grading process is given as the task's key (``student`` names it on a death)."""

    student: str


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str
    lost: dict[str, float] = field(default_factory=dict)  # question -> points lost (> 0 only)
    note: str = ""


def equivalent_file(assignment: str) -> Path:
    return SUITES / assignment / "equivalent_mutants.toml"


def load_equivalent(assignment: str) -> dict[str, str]:
    """``mutant id -> why it is equivalent``, from the ``[equivalent]`` table of the file."""
    path = equivalent_file(assignment)
    if not path.is_file():
        return {}
    table = tomllib.loads(path.read_text()).get("equivalent", {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError(f"{path}: [equivalent] must map mutant ids to a reason (a string)")
    return dict(table)


def question_scores(result: dict) -> dict[str, tuple[float, float]]:
    """``question -> (score, max score)`` of a result dict (``SubmissionResult.to_dict``)."""
    scores: dict[str, tuple[float, float]] = {}
    for test in result["tests"]:
        score, top = scores.get(test["question"], (0.0, 0.0))
        scores[test["question"]] = (score + test["score"], top + test["max_score"])
    return scores


def classify(mutant: Mutant, scores: dict[str, tuple[float, float]],
             baseline: dict[str, tuple[float, float]], equivalent: dict[str, str]) -> Outcome:
    """The outcome of a graded mutant against the solution's scores (same seed)."""
    lost = {q: round(baseline[q][0] - s, 6) for q, (s, _) in scores.items()
            if q in baseline and baseline[q][0] - s > 1e-9}
    if mutant.question in lost:
        note = "marked equivalent, yet killed" if mutant.id in equivalent else ""
        return Outcome(mutant, "killed", lost, note)
    if mutant.id in equivalent:
        return Outcome(mutant, "equivalent", lost, equivalent[mutant.id])
    return Outcome(mutant, "knock-on" if lost else "survived", lost)


def grade_mutants(source: Source, mutants: list[Mutant], *, jobs: int = 2, seed: int = 1,
                  sandbox: SandboxConfig | None = None,
                  equivalent: dict[str, str] | None = None,
                  baseline: dict[str, tuple[float, float]] | None = None,
                  ) -> Iterator[tuple[str, object]]:
    """Grade the solution (unless ``baseline`` is given: each question's full marks, say)
    and every mutant; yields ``("baseline", scores)`` first, then ``("mutant", Outcome)`` as
    each is graded.

    A mutant is first graded on its own question's tests only: most are killed there, and
    the rest of the suite is run only for those that keep their marks (to tell a knock-on
    from a survivor) — so a killed mutant's ``lost`` names its own question alone."""
    sandbox = sandbox or SandboxConfig()
    equivalent = load_equivalent(source.name) if equivalent is None else equivalent
    with tempfile.TemporaryDirectory(prefix="mlhw-mutants-") as tmp:
        def task(mutant: Mutant | None, own_question_only: bool = False) -> tuple[tuple, tuple]:
            name = mutant.id if mutant else "solution"
            path = Path(tmp) / f"{name}.ipynb"
            if not path.exists():
                nbformat.write(mutant_notebook(source, mutant), path)
            questions = frozenset({mutant.question}) if mutant and own_question_only else None
            return (str(path), source.name, sandbox, seed, "", questions), (Task(name), "")

        by_id = {m.id: m for m in mutants}

        def verdict(key: Task, outcome: object) -> Outcome:
            mutant, result = by_id[key.student], _result(outcome)
            if isinstance(result, str):
                return Outcome(mutant, "error", {}, result)
            return classify(mutant, question_scores(result), baseline, equivalent)

        with GradingProcesses(max(1, jobs), pin=True) as processes:
            if baseline is None:
                (_, _, outcome), = processes.map([task(None)])
                result = _result(outcome)
                if isinstance(result, str):
                    raise RuntimeError(f"the solution of {source.name} could not be graded: {result}")
                baseline = question_scores(result)
            yield "baseline", baseline
            kept_marks = []
            for key, _, outcome in processes.map([task(m, own_question_only=True) for m in mutants]):
                first = verdict(key, outcome)
                if first.status in ("killed", "error"):
                    yield "mutant", first
                else:
                    kept_marks.append(first.mutant)
            for key, _, outcome in processes.map([task(m) for m in kept_marks]):
                yield "mutant", verdict(key, outcome)


def _result(outcome: object) -> dict | str:
    """The result dict of a grading, or why there is none."""
    if outcome is DIED_TWICE:
        return "its grading process died twice"
    result, _log, failure = outcome  # type: ignore[misc]
    return result if result is not None else failure


def full_marks(source: Source) -> dict[str, tuple[float, float]]:
    """Each question's points from ``assignment.toml``: a baseline without grading the
    solution (the CI sample), valid because the solution is checked to take full marks."""
    return {q: (float(spec.get("points", 0)), float(spec.get("points", 0)))
            for q, spec in source.questions.items()}


def run(source: Source, mutants: list[Mutant], *, seed: int = 1,
        sandbox: SandboxConfig | None = None,
        progress: Callable[[Outcome], None] | None = None, detect_equivalent: bool = True,
        **kwargs: object) -> tuple[dict[str, tuple[float, float]], list[Outcome]]:
    """``grade_mutants`` collected: (baseline, outcomes in the mutants' order), the survivors
    that look equivalent noted so (`equivalence.annotate_survivors`). Interrupted (Ctrl-C)
    after the baseline, it returns the mutants graded so far."""
    baseline: dict[str, tuple[float, float]] = {}
    outcomes: dict[str, Outcome] = {}
    try:
        for kind, value in grade_mutants(source, mutants, seed=seed, sandbox=sandbox,
                                         **kwargs):  # type: ignore[arg-type]
            if kind == "baseline":
                baseline = value  # type: ignore[assignment]
            else:
                outcomes[value.mutant.id] = value  # type: ignore[union-attr]
                if progress:
                    progress(value)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        if not baseline:
            raise
    graded = [outcomes[m.id] for m in mutants if m.id in outcomes]
    if detect_equivalent:
        from autograder.mutants.equivalence import annotate_survivors

        graded = annotate_survivors(source, graded, seed, sandbox)
    return baseline, graded
