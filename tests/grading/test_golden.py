"""Golden files: a submission in, the exact Gradescope results.json out.

The golden file makes the grader's visible behaviour reviewable in a diff. Regenerate it after
an intended change with ``MLHW_UPDATE_GOLDEN=1 pytest tests/grading/test_golden.py``.
"""

import json
import os
from pathlib import Path

import pytest

from autograder.reporters import to_gradescope
from autograder.runner import GradeOptions, grade_submission

HERE = Path(__file__).parent
CORPUS = HERE.parent / "submissions" / "deep_chain"


def normalised(result) -> dict:
    data = to_gradescope(result)
    data.pop("execution_time", None)
    for test in data["tests"]:
        test.pop("execution_time", None)
    return data


@pytest.mark.slow
@pytest.mark.parametrize("name", ["partial", "mistake_forgot_1_over_m"])
def test_gradescope_output_matches_golden_file(name):
    result = grade_submission(CORPUS / f"{name}.ipynb", "deep_chain", GradeOptions(seed=20261122))
    golden = HERE / "golden" / f"{name}.results.json"
    produced = normalised(result)
    if os.environ.get("MLHW_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(produced, indent=2, sort_keys=True) + "\n")
    assert produced == json.loads(golden.read_text())
