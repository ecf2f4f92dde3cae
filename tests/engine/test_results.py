"""Result dataclasses: validation, per-question summaries and the to_dict/from_dict round trip."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.results import (
    STDOUT_CAP,
    VISIBILITIES,
    Status,
    SubmissionResult,
    TestResult,
    WrittenAnswer,
    cap_text,
    question_status,
)

text = st.text(max_size=40)


@st.composite
def result_records(draw: st.DrawFn) -> TestResult:
    max_score = draw(st.floats(0, 30, allow_nan=False))
    return TestResult(
        name=draw(text),
        number=draw(text),
        question=draw(st.sampled_from(["q1", "q2", "q3"])),
        score=draw(st.floats(0, 1)) * max_score,
        max_score=max_score,
        status=draw(st.sampled_from(list(Status))),
        output=draw(st.text(max_size=200)),
        visibility=draw(st.sampled_from(VISIBILITIES)),
        duration=draw(st.floats(0, 100)),
        student_seconds=draw(st.floats(0, 100)),
    )


submissions = st.builds(
    SubmissionResult,
    assignment=text,
    submission=text,
    tests=st.lists(result_records(), max_size=8).map(tuple),
    execution_time=st.floats(0, 1e4),
    isolation=text,
    seed=st.integers(0, 2**63),
    messages=st.lists(text, max_size=3).map(tuple),
    written=st.lists(st.builds(WrittenAnswer, text, text), max_size=2).map(tuple),
    stdout=st.text(max_size=300),
)


@given(submissions)
def test_submission_round_trips_through_json(result: SubmissionResult) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    assert SubmissionResult.from_dict(data) == result


@given(submissions)
def test_question_totals_add_up_to_the_score(result: SubmissionResult) -> None:
    questions = result.questions()
    assert sum(q.score for q in questions) == pytest.approx(result.score)
    assert sum(q.max_score for q in questions) == pytest.approx(result.max_score)
    assert len({q.question for q in questions}) == len(questions)


def _result(
    status: Status, score: float = 0.0, visibility: str = "visible", q: str = "q1"
) -> TestResult:
    return TestResult(
        name=f"{q}: t",
        number="",
        question=q,
        score=score,
        max_score=5,
        status=status,
        visibility=visibility,
    )


def test_question_status_prefers_the_worst_news() -> None:
    assert question_status([Status.PASSED, Status.PASSED]) is Status.PASSED
    assert question_status([Status.PASSED, Status.FAILED]) is Status.FAILED
    assert question_status([Status.NOT_ATTEMPTED, Status.NOT_ATTEMPTED]) is Status.NOT_ATTEMPTED
    assert question_status([Status.PASSED, Status.NOT_ATTEMPTED]) is Status.FAILED
    assert question_status([Status.PASSED, Status.ERROR]) is Status.ERROR
    assert question_status([Status.ERROR, Status.GRADER_ERROR]) is Status.GRADER_ERROR
    assert question_status([Status.MANUAL]) is Status.MANUAL


def test_written_answers_appear_as_manual_questions() -> None:
    result = SubmissionResult(
        "a", "s", (_result(Status.PASSED, 5),), written=(WrittenAnswer("q8", "Jensen"),)
    )
    assert [(q.question, q.status) for q in result.questions()] == [
        ("q1", Status.PASSED),
        ("q8", Status.MANUAL),
    ]


def test_invalid_visibility_and_scores_are_refused_with_the_test_name() -> None:
    with pytest.raises(ValueError, match="public.*visible"):
        _result(Status.PASSED, visibility="public")
    with pytest.raises(ValueError, match=r"score 7.0 out of 5.0"):
        _result(Status.PASSED, score=7)
    with pytest.raises(TypeError, match="score"):
        _result(Status.PASSED, score="5")  # type: ignore[arg-type]


def test_student_view_leaves_out_tests_not_yet_visible() -> None:
    tests = (
        _result(Status.PASSED, 5),
        _result(Status.FAILED, visibility="hidden"),
        _result(Status.FAILED, visibility="after_due_date"),
    )
    result = SubmissionResult("a", "s", tests)
    assert len(result.student_view().tests) == 1
    assert len(result.student_view(after_due_date=True).tests) == 2
    assert result.instructor_view() == result


def test_stdout_is_capped_and_says_so() -> None:
    result = SubmissionResult("a", "s", (), stdout="x" * (3 * STDOUT_CAP))
    assert len(result.stdout) <= STDOUT_CAP
    assert "output cut" in result.stdout
    assert cap_text("short") == "short"


def test_foreign_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="mlhw-result/1"):
        SubmissionResult.from_dict(
            {"schema": "other/9", "assignment": "a", "submission": "s", "tests": []}
        )
