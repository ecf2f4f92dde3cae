"""Golden files: a submission in, the exact Gradescope results.json out.

The golden file makes the grader's visible behaviour reviewable in a diff. Regenerate it after
an intended change with ``pytest tests/grading/test_golden.py --update-goldens`` (it prints the diff).
"""

import difflib
import json
from pathlib import Path

import corpus
import pytest

from autograder.reporters import to_gradescope
from autograder.runner import GradeOptions, grade_submission

HERE = Path(__file__).parent


def normalised(result) -> dict:
    data = to_gradescope(result)
    data.pop("execution_time", None)
    for test in data["tests"]:
        test.pop("execution_time", None)
    return data


@pytest.mark.slow
@pytest.mark.parametrize("name", ["partial", "mistake_forgot_1_over_m"])
def test_gradescope_output_matches_golden_file(name, request):
    result = grade_submission(corpus.case("deep_chain", name).notebook, "deep_chain", GradeOptions(seed=20261122))
    golden = HERE / "golden" / f"{name}.results.json"
    produced = normalised(result)
    text = json.dumps(produced, indent=2, sort_keys=True) + "\n"
    if request.config.getoption("--update-goldens") and text != golden.read_text():
        print("".join(difflib.unified_diff(golden.read_text().splitlines(True),
                                           text.splitlines(True), golden.name, "graded now")))
        golden.write_text(text)
    assert produced == json.loads(golden.read_text())
