"""What Gradescope's ``run_autograder`` runs: ``python -m autograder.release.gradescope_run
--assignment NAME``.

1. Finds the submission under ``ROOT/submission/``: the one ``.ipynb`` (of any name), else the
   one otter export ``.zip``, else the one ``.py`` (files of a released bundle, such as
   ``public_tests.py`` and ``mlhw_check/``, are not candidates). None, or several of a kind,
   is a score of 0 with a message naming what was found.
2. Grades it with the hidden suite (``grade_submission``, bubblewrap where it starts, else
   reduced isolation, which the results then say), and runs the public tests of
   ``public_tests.py`` against it (0 points each, visible at once: what the student saw in
   the notebook, run again by the grader).
3. Writes ``ROOT/results/results.json``: hidden tests keep the suite's visibility
   (``after_published`` unless the suite marks a test otherwise), or the assignment's
   ``[gradescope] hidden_visibility`` in ``assignment.toml``.

``ROOT`` is ``/autograder`` or ``$MLHW_GRADESCOPE_ROOT``; ``$MLHW_GRADESCOPE_SEED`` fixes the
seed (to reproduce a grade). Exit code 0 when results.json holds a grade, 1 otherwise (the
file then holds a 0 and the reason, and Gradescope shows the instructor this script's output).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import sys
import time
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from autograder.results import VISIBILITIES, Status, SubmissionResult, TestResult

REPO = Path(__file__).resolve().parents[2]
BUNDLE_FILES = {"public_tests.py", "setup.py", "conftest.py"}
BUNDLE_DIRS = {"mlhw_check", ".ipynb_checkpoints", "__pycache__", ".git", ".github"}


class NoSubmission(Exception):
    """No gradable file, or several: the message says what was found."""


def find_submission(folder: Path) -> Path:
    """The one gradable file under ``folder`` (see the module docstring)."""
    if not folder.is_dir():
        raise NoSubmission(f"the submission folder {folder} does not exist")
    files = [p for p in sorted(folder.rglob("*"))
             if p.is_file() and not p.is_symlink()
             and not BUNDLE_DIRS & set(p.relative_to(folder).parts[:-1])
             and not p.name.startswith(".")]
    for suffix in (".ipynb", ".zip", ".py"):
        found = [p for p in files if p.suffix == suffix and p.name not in BUNDLE_FILES]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(str(p.relative_to(folder)) for p in found[:10])
            raise NoSubmission(
                f"found {len(found)} {suffix} files ({names}); submit exactly one notebook")
    listed = ", ".join(str(p.relative_to(folder)) for p in files[:10]) or "nothing"
    raise NoSubmission(
        f"no notebook was submitted (found {listed}); upload your .ipynb notebook "
        "(or a .py export of it, or otter's export .zip)")


def assignment_config(assignment: str) -> dict[str, Any]:
    """The ``[gradescope]`` table of the assignment's assignment.toml (empty if none)."""
    path = REPO / "assignments" / assignment / "assignment.toml"
    if not path.is_file():
        return {}
    table = tomllib.loads(path.read_text()).get("gradescope", {})
    hidden = table.get("hidden_visibility", "after_published")
    if hidden not in VISIBILITIES:
        raise ValueError(f"{path}: [gradescope] hidden_visibility = {hidden!r}; "
                         f"use one of {', '.join(VISIBILITIES)}")
    return {**table, "hidden_visibility": hidden}


def with_visibility(result: SubmissionResult, hidden: str) -> SubmissionResult:
    """Hidden tests (the suite's ``after_published``) shown as ``hidden`` says instead."""
    tests = tuple(replace(t, visibility=hidden) if t.visibility == "after_published" else t
                  for t in result.tests)
    return replace(result, tests=tests)


def _public_tests(assignment: str) -> list[Any]:
    """The ``@question`` functions of the assignment's public_tests.py, loaded with
    ``mlhw_check`` standing for the grader's own checks (the same code as in the bundle)."""
    path = REPO / "assignments" / assignment / "public_tests.py"
    if not path.is_file():
        return []
    import autograder.checks
    import autograder.mlhw_check

    sys.modules.setdefault("mlhw_check", autograder.mlhw_check)
    sys.modules.setdefault("mlhw_check.checks", autograder.checks)
    spec = importlib.util.spec_from_file_location(f"mlhw_public_{assignment}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return [f for f in vars(module).values()
            if inspect.isfunction(f) and getattr(f, "mlhw_question", None)]


def public_results(path: Path, assignment: str, config: Any) -> list[TestResult]:
    """The public tests run against the submission in a worker of its own (0 points each)."""
    from autograder.errors import CheckFailed, NotAttempted, StudentError
    from autograder.proxy import StudentProxy
    from autograder.submission import SubmissionError, load_submission
    from autograder.worker import Worker

    tests = _public_tests(assignment)
    try:
        submission = load_submission(path)
    except SubmissionError:
        return []  # the hidden suite's results already say why
    out = []
    with Worker(config) as worker:
        worker.load(submission.sources(), submission.cell_names())
        for i, fn in enumerate(tests, start=1):
            qid = fn.mlhw_question
            doc = (inspect.getdoc(fn) or fn.__name__).splitlines()[0]
            started = time.perf_counter()
            try:
                fn(StudentProxy(worker))
                status, message = Status.PASSED, "Passed."
            except NotAttempted as exc:
                status, message = Status.NOT_ATTEMPTED, str(exc)
            except (CheckFailed, StudentError) as exc:
                status, message = Status.FAILED, str(exc)
            except Exception as exc:  # noqa: BLE001 - the check tripped over the answer
                status = Status.FAILED
                message = f"the check could not use your answer ({type(exc).__name__}: {exc})"
            out.append(TestResult(
                name=f"{qid} (public check): {doc}", number=f"{qid}.p{i}", question=qid,
                score=0.0, max_score=0.0, status=status, output=message, visibility="visible",
                duration=round(time.perf_counter() - started, 3)))
    return out


def failure_results(message: str) -> dict[str, Any]:
    """results.json when there is nothing to grade: a 0 and the reason, shown at once."""
    return {"score": 0.0, "output": message, "output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": []}


def grade(root: Path, assignment: str, seed: int | None = None) -> tuple[dict[str, Any], bool]:
    """(results.json content, graded) for the submission under ``root``."""
    from autograder.reporters.gradescope import to_gradescope
    from autograder.runner import GradeOptions, GraderError, grade_submission
    from autograder.sandbox import SandboxConfig

    try:
        path = find_submission(root / "submission")
    except NoSubmission as exc:
        return failure_results(f"Nothing was graded: {exc}."), False
    config = SandboxConfig()
    try:
        hidden = assignment_config(assignment).get("hidden_visibility", "after_published")
        result = grade_submission(path, assignment, GradeOptions(sandbox=config, seed=seed))
        public = public_results(path, assignment, config)
    except (GraderError, ValueError, RuntimeError) as exc:
        return failure_results(
            f"The autograder could not run ({exc}); the course staff have been told.",
        ), False
    result = with_visibility(result, hidden)
    reduced = not result.isolation.startswith("bubblewrap") and bool(result.isolation)
    messages = list(result.messages)
    if reduced:
        messages.append(
            "This container could not isolate your code with bubblewrap, so it ran with "
            f"reduced isolation ({result.isolation}). Every verdict was still computed by the "
            "grader, outside your code's process; what your notebook printed is not shown.")
    result = replace(result, submission=path.name, tests=tuple(public) + result.tests,
                     messages=tuple(messages))
    return to_gradescope(result, include_stdout=not reduced), True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradescope_run")
    parser.add_argument("--assignment", required=True)
    args = parser.parse_args(argv)
    root = Path(os.environ.get("MLHW_GRADESCOPE_ROOT", "/autograder"))
    seed = os.environ.get("MLHW_GRADESCOPE_SEED")
    data, graded = grade(root, args.assignment, int(seed) if seed else None)
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    print(f"{args.assignment}: {data['score']:g} points -> {out}")
    print(data.get("output", ""))
    return 0 if graded else 1


if __name__ == "__main__":
    import atexit

    code = main()
    atexit._run_exitfuncs()  # spare workers killed, temporary folders removed
    sys.stdout.flush()
    os._exit(code)  # then skip tearing down NumPy and pytest (as the mlhw script does)
