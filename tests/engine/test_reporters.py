"""Reporters: Gradescope results.json field types, JUnit counts, JSON round trip, terminal."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from autograder.reporters import (
    from_json,
    junit_string,
    read_json,
    to_gradescope,
    to_json,
    write_all,
)
from autograder.reporters.terminal import render
from autograder.results import VISIBILITIES, Status, SubmissionResult, TestResult, WrittenAnswer

# any text a student could make us carry, control characters included (no lone surrogates:
# those cannot be stored in UTF-8 and are replaced on writing)
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)


@st.composite
def result_records(draw: st.DrawFn) -> TestResult:
    max_score = draw(st.sampled_from([0.0, 1.0, 5.0, 12.5]))
    status = draw(st.sampled_from(list(Status)))
    return TestResult(
        name=draw(text),
        number=draw(text),
        question=draw(st.sampled_from(["q1", "q2", "q10"])),
        score=max_score if status is Status.PASSED else draw(st.sampled_from([0.0, max_score / 2])),
        max_score=max_score,
        status=status,
        output=draw(text),
        visibility=draw(st.sampled_from(VISIBILITIES)),
        duration=draw(st.floats(0, 60)),
    )


submissions = st.builds(
    SubmissionResult,
    assignment=text,
    submission=text,
    tests=st.lists(result_records(), max_size=7).map(tuple),
    execution_time=st.floats(0, 1e4),
    isolation=text,
    seed=st.integers(0, 2**48),
    messages=st.lists(text, max_size=3).map(tuple),
    written=st.lists(st.builds(WrittenAnswer, st.sampled_from(["q7", "q8"]), text), max_size=2).map(
        tuple
    ),
    stdout=text,
)


@given(submissions)
def test_gradescope_json_has_the_spec_field_types(result: SubmissionResult) -> None:
    data = json.loads(json.dumps(to_gradescope(result), allow_nan=False))
    assert isinstance(data["score"], float) and data["score"] == pytest.approx(result.score)
    assert isinstance(data["execution_time"], int)
    assert isinstance(data["output"], str)
    assert data["output_format"] == data["test_output_format"] == "text"
    assert data["stdout_visibility"] in VISIBILITIES and data["visibility"] in VISIBILITIES
    assert "seed" not in data["extra_data"]
    assert len(data["tests"]) == len(result.tests) + len(result.written)
    for test in data["tests"]:
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert isinstance(test["name"], str) and isinstance(test["number"], str)
        assert isinstance(test["output"], str) and test["visibility"] in VISIBILITIES
        assert all(isinstance(tag, str) for tag in test["tags"])
        if "manual" in test["tags"]:
            assert "status" not in test
        else:
            assert test["status"] in ("passed", "failed")
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])


def _example() -> SubmissionResult:
    def t(q: str, status: Status, score: float, output: str = "") -> TestResult:
        return TestResult(
            name=f"{q}: check",
            number=f"{q}.1",
            question=q,
            score=score,
            max_score=10,
            status=status,
            output=output,
            visibility="visible",
        )

    return SubmissionResult(
        assignment="deep_chain",
        submission="bob.ipynb",
        tests=(
            t("q1", Status.PASSED, 10),
            t(
                "q2",
                Status.FAILED,
                0,
                "your g_l is m times too "
                "large: did you forget the 1/m?\n[bold]not markup[/bold]\x1b[2J",
            ),
            t("q3", Status.NOT_ATTEMPTED, 0),
            t("q4", Status.ERROR, 0, "timed out"),
            t("q5", Status.GRADER_ERROR, 0, "internal grader error"),
        ),
        execution_time=3.2,
        isolation="bubblewrap",
        seed=42,
        messages=("cell 3 raised ZeroDivisionError",),
        written=(WrittenAnswer("q7", "Because tanh saturates <&>"),),
        stdout="hi\x00 there",
    )


def test_written_answers_become_zero_point_tests_collected_for_manual_grading() -> None:
    data = to_gradescope(_example())
    written = [t for t in data["tests"] if t["name"] == "q7: written answer"]
    assert written and written[0]["score"] == written[0]["max_score"] == 0.0
    assert written[0]["output"].startswith("Collected for manual grading.")
    assert "Because tanh saturates" in written[0]["output"]
    assert "cell 3 raised ZeroDivisionError" in data["output"]
    not_attempted = data["tests"][2]
    assert not_attempted["status"] == "failed" and "Not attempted" in not_attempted["output"]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(submissions)
def test_junit_parses_and_counts_failures(result: SubmissionResult) -> None:
    root = ET.fromstring(junit_string(result))
    suite = root.find("testsuite")
    assert suite is not None
    statuses = [t.status for t in result.tests]
    failures = sum(s in (Status.FAILED, Status.NOT_ATTEMPTED, Status.ERROR) for s in statuses)
    assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) == failures
    assert (
        int(suite.get("errors"))
        == len(suite.findall("testcase/error"))
        == statuses.count(Status.GRADER_ERROR)
    )
    assert (
        int(suite.get("skipped"))
        == len(suite.findall("testcase/skipped"))
        == statuses.count(Status.MANUAL) + len(result.written)
    )
    assert int(suite.get("tests")) == len(suite.findall("testcase"))


def test_junit_marks_not_attempted_and_student_errors() -> None:
    suite = ET.fromstring(junit_string(_example())).find("testsuite")
    types = [f.get("type") for f in suite.iter("failure")]
    assert types == ["failed", "not_attempted", "student_error"]
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["seed"] == "42" and props["score"] == "10.0"


@given(submissions)
def test_our_json_round_trips(result: SubmissionResult) -> None:
    assert from_json(to_json(result)) == result


def test_write_all_writes_only_the_files_asked_for(tmp_path: Path) -> None:
    result = _example()
    write_all(result, json_path=tmp_path / "r.json", junit_path=tmp_path / "out" / "j.xml")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["j.xml", "r.json"]
    assert read_json(tmp_path / "r.json") == result
    ET.parse(tmp_path / "out" / "j.xml")
    write_all(result, gradescope_path=tmp_path / "results.json")
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 10.0


def test_broken_result_files_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="invalid JSON"):
        from_json("{")
    with pytest.raises(ValueError, match="field 'tests' is missing"):
        from_json('{"assignment": "a", "submission": "s"}')


def test_terminal_report_shows_questions_and_problems_verbatim() -> None:
    console = Console(record=True, width=100, color_system=None)
    render(_example(), console)
    out = console.export_text()
    assert "deep_chain: bob.ipynb   10 / 50" in out
    for row in ("q1", "q2", "q3", "q4", "q5", "q7", "total"):
        assert row in out
    assert "not attempted" in out and "grader error" in out
    assert "did you forget the 1/m?" in out
    assert "[bold]not markup[/bold]" in out  # student text is never read as markup
    assert "\x1b" not in out
    assert "written answers collected for manual grading: q7" in out
    assert "q1.1 q1: check" not in out  # passed tests are not repeated below the table
