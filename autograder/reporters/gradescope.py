"""Gradescope's autograder results.json.

Fields follow Gradescope's autograder specification (score, execution_time, output,
output_format, test_output_format, test_name_format, visibility, stdout_visibility,
extra_data, tests[score, max_score, status, name, number, output, tags, visibility]).
Test status is "passed" or "failed" only; written answers become 0-point tests without a
status, their output saying they were collected for manual grading. The secret seed is
left out unless asked for: results.json is stored where course staff other than the
instructor may read it, and regrading uses our own JSON file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autograder.reporters.jsonfile import write_text_atomic
from autograder.results import Status, SubmissionResult, TestResult, cap_text

STDOUT_LIMIT = 5_000
WRITTEN_LIMIT = 5_000

_DEFAULT_OUTPUT = {
    Status.FAILED: "The check failed.",
    Status.NOT_ATTEMPTED: "Not attempted: the function still raises NotImplementedError.",
    Status.ERROR: "Your code raised an error or did not finish.",
    Status.GRADER_ERROR: "Internal grader error in this test; please tell the course staff.",
    Status.MANUAL: "Collected for manual grading.",
}


def _test(test: TestResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": test.name,
        "number": test.number,
        "score": test.score,
        "max_score": test.max_score,
        "output": test.output or _DEFAULT_OUTPUT.get(test.status, ""),
        "tags": [test.question, test.status.value],
        "visibility": test.visibility,
    }
    if test.status is not Status.MANUAL:
        entry["status"] = "passed" if test.status is Status.PASSED else "failed"
    return entry


def _summary(result: SubmissionResult, include_stdout: bool) -> str:
    parts = list(result.messages)
    answered = [w.question for w in result.written if w.answered]
    empty = [w.question for w in result.written if not w.answered]
    if answered:
        parts.append(f"Written answers collected for manual grading: {', '.join(answered)}.")
    if empty:
        parts.append(f"No written answer for: {', '.join(empty)}.")
    if include_stdout and result.stdout:
        parts.append("Output printed by your notebook:\n" + cap_text(result.stdout, STDOUT_LIMIT))
    return "\n\n".join(parts)


def to_gradescope(
    result: SubmissionResult, *, include_stdout: bool = True, include_seed: bool = False
) -> dict[str, Any]:
    """The results.json content for ``result``."""
    tests = [_test(t) for t in result.tests]
    for n, written in enumerate(result.written, start=1):
        tests.append(
            {
                "name": f"{written.question}: written answer",
                "number": f"{written.question}.w{n}",
                "score": 0.0,
                "max_score": 0.0,
                "output": "Collected for manual grading.\n\n" + cap_text(written.text, WRITTEN_LIMIT)
                if written.answered
                else "Nothing was written for this question.",
                "tags": [written.question, Status.MANUAL.value],
                "visibility": "visible",
            }
        )
    extra: dict[str, Any] = {"assignment": result.assignment, "isolation": result.isolation}
    if include_seed:
        extra["seed"] = result.seed
    return {
        "score": result.score,
        "execution_time": round(result.execution_time),
        "output": _summary(result, include_stdout),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": extra,
        "tests": tests,
    }


def write_gradescope(result: SubmissionResult, path: str | Path, **options: Any) -> None:
    """Write results.json (options as for ``to_gradescope``)."""
    text = json.dumps(
        to_gradescope(result, **options), indent=2, ensure_ascii=False, allow_nan=False
    )
    write_text_atomic(path, text + "\n")
