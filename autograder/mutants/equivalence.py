"""Which surviving mutants look equivalent: the mutated function and the solution's, called
on the inputs the hidden suite gave the solution's function, return the same values.

The solution is graded once with its calls recorded (`GradeOptions.record_calls`); for each
survivor, the solution and the mutant notebooks are loaded into two namespaces of a fresh
process of their own (both are the course's worked solution, changed in one spot; the
process is killed after ``timeout`` seconds) and the mutated function is called in both on
up to ``MAX_CALLS`` of those inputs. Same values on every one (to 1e-9, figures compared as
their plain data) marks the mutant as looking equivalent: a hint for the instructor, who
confirms it in ``equivalent_mutants.toml``; it is not counted as equivalent until then.
"""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import numpy as np

from autograder.mutants.generation import Mutant, mutant_notebook
from autograder.release.source import Source
from autograder.sandbox import SandboxConfig

MAX_CALLS = 20
Calls = dict[str, list[tuple[tuple, dict]]]
O = TypeVar("O")  # grading.Outcome (not imported: grading imports this module)


def recorded_calls(source: Source, seed: int, sandbox: SandboxConfig | None = None) -> Calls:
    """The solution graded with ``seed``: the (picklable) arguments of every call the suite
    made to each of its functions, at most MAX_CALLS per function."""
    from autograder.runner import GradeOptions, grade_submission

    record: list[tuple[str, tuple, dict]] = []
    with tempfile.TemporaryDirectory(prefix="mlhw-equivalence-") as tmp:
        path = Path(tmp) / "solution.ipynb"
        nbformat.write(mutant_notebook(source, None), path)
        grade_submission(path, source.name, GradeOptions(sandbox=sandbox or SandboxConfig(),
                                                         seed=seed, record_calls=record))
    calls: Calls = {}
    for name, args, kwargs in record:
        kept = calls.setdefault(name, [])
        if len(kept) < MAX_CALLS and _picklable((args, kwargs)):
            kept.append((args, kwargs))
    return calls


def annotate_survivors(source: Source, outcomes: list[O], seed: int,
                       sandbox: SandboxConfig | None = None) -> list[O]:
    """``outcomes`` with each survivor that looks equivalent noted so."""
    if not any(o.status == "survived" for o in outcomes):  # type: ignore[attr-defined]
        return outcomes
    calls = recorded_calls(source, seed, sandbox)
    return [replace(o, note=looks_equivalent(source, o.mutant, calls))
            if o.status == "survived" else o for o in outcomes]


def looks_equivalent(source: Source, mutant: Mutant, calls: Calls, timeout: float = 60.0
                     ) -> str:
    """A note when the mutant's function returns what the solution's does on every recorded
    input ("" when it differs, was never called, or could not be compared in time)."""
    inputs = calls.get(mutant.function, [])
    if not inputs:
        return ""
    with tempfile.TemporaryDirectory(prefix="mlhw-equivalence-") as tmp:
        paths = []
        for name, m in (("solution", None), ("mutant", mutant)):
            paths.append(str(Path(tmp) / f"{name}.ipynb"))
            nbformat.write(mutant_notebook(source, m), paths[-1])
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        process = context.Process(target=_compare, args=(*paths, mutant.function, inputs, queue),
                                  daemon=True)
        process.start()
        try:
            same = queue.get(timeout=timeout)
        except Exception:  # noqa: BLE001 - a timeout or a dead process: no verdict
            same = 0
        finally:
            process.kill()
            process.join()
    if not same:
        return ""
    return (f"looks equivalent: {mutant.function} returns what the solution's does on the "
            f"{same} input(s) the suite gave it; confirm it in equivalent_mutants.toml")


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - lambdas, open handles: not replayable elsewhere
        return False
    return True


def _namespace(path: str) -> dict[str, Any]:
    """The notebook's cells run as the grader's worker runs them (a failing cell is skipped)."""
    from autograder.submission import load_submission

    namespace: dict[str, Any] = {"__name__": "__main__"}
    for code in load_submission(path).sources():
        try:
            exec(compile(code, path, "exec"), namespace)  # noqa: S102 - the course's own solution
        except Exception:  # noqa: BLE001, S110
            pass
    return namespace


def _compare(solution: str, mutant: str, name: str, inputs: list, queue: Any) -> None:
    """In a process of its own: how many inputs gave the same outcome (0 at the first that
    does not)."""
    import matplotlib

    matplotlib.use("Agg")
    functions = [_namespace(solution).get(name), _namespace(mutant).get(name)]
    if not all(callable(f) for f in functions):
        queue.put(0)
        return
    for args, kwargs in inputs:
        outcomes = [_outcome(f, copy.deepcopy(args), copy.deepcopy(kwargs)) for f in functions]
        if not _same(*outcomes):
            queue.put(0)
            return
    queue.put(len(inputs))


def _outcome(function: Any, args: tuple, kwargs: dict) -> Any:
    from autograder.mlhw_check import _plain

    try:
        return ("value", _plain(function(*args, **kwargs)), args, kwargs)
    except Exception as exc:  # noqa: BLE001 - raising alike is the same behaviour
        return ("raised", type(exc).__name__)


def _same(a: Any, b: Any, depth: int = 0) -> bool:
    """Equal to 1e-9 (arrays, numbers, dicts, sequences, anything else by ==)."""
    if depth > 50:
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, (np.ndarray, np.generic, float, int)) and isinstance(
            b, (np.ndarray, np.generic, float, int)):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            return False
        if x.dtype.kind in "biufc" and y.dtype.kind in "biufc":
            return bool(np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True))
        return bool(np.array_equal(x, y))
    if isinstance(a, np.random.Generator) and isinstance(b, np.random.Generator):
        return _same(a.bit_generator.state, b.bit_generator.state, depth + 1)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False
