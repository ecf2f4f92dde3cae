"""Written answers are never lost: the student's text is collected from the question down to
the next question wherever it was typed, and an empty answer is reported as such."""

from pathlib import Path

import nbformat
import pytest

from autograder.reporters.gradescope import to_gradescope
from autograder.results import SubmissionResult, WrittenAnswer
from autograder.submission import load_submission
from autograder.submission.cells import Cell, Submission
from autograder.submission.written import PROMPT, written_answers

v4 = nbformat.v4
QUESTION = "## Question 7 — what went wrong? (written)\n\nExplain in a few sentences."


def notebook(tmp_path: Path, *cells, name: str = "hw.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell("x = 1"), *cells]), path)
    return path


def question(text: str = f"{QUESTION}\n\n{PROMPT}", q: str = "q7"):
    return v4.new_markdown_cell(text, metadata={"mlhw": {"written": q}})


def test_an_answer_typed_in_the_answer_cell_is_collected(tmp_path: Path) -> None:
    sub = load_submission(notebook(tmp_path, question(f"{QUESTION}\n\nThe units saturate.")))
    assert "The units saturate." in sub.written["q7"] and sub.unanswered == ()


def test_an_answer_in_a_new_cell_under_the_question_is_collected(tmp_path: Path) -> None:
    sub = load_submission(notebook(tmp_path, question(), v4.new_markdown_cell("tanh' is tiny.")))
    assert sub.written["q7"] == f"{QUESTION}\n\ntanh' is tiny."
    assert PROMPT not in sub.written["q7"] and sub.unanswered == ()


def test_prose_typed_into_a_code_cell_is_text_and_not_run(tmp_path: Path) -> None:
    prose = v4.new_code_cell("The gradient vanishes because every unit saturates.")
    sub = load_submission(notebook(tmp_path, question(), prose, v4.new_code_cell("y = 2")))
    assert "every unit saturates" in sub.written["q7"]
    assert [c.source for c in sub.cells] == ["x = 1", "y = 2"]  # code under it still runs
    assert any("cell 3 (under q7) is not Python" in n for n in sub.notes)


def test_the_answer_ends_at_the_next_question(tmp_path: Path) -> None:
    sub = load_submission(notebook(
        tmp_path, question(), v4.new_markdown_cell("My answer."),
        v4.new_markdown_cell("## Question 8 — plots\n\nWrite plot_costs."),
        v4.new_markdown_cell("not part of q7"),
        question(f"## Question 9\n\n{PROMPT}", q="q9"),
        v4.new_code_cell('check("q9")', metadata={"mlhw": {"check": "q9"}}),
        v4.new_markdown_cell("nor of q9"),
    ))
    assert sub.written["q7"].endswith("My answer.") and "Question 8" not in sub.written["q7"]
    assert sub.unanswered == ("q9",)


def test_an_untouched_answer_cell_is_reported_as_empty(tmp_path: Path) -> None:
    sub = load_submission(notebook(tmp_path, question()))
    answers, notes = written_answers(sub, "deep_chain")
    assert answers == [WrittenAnswer("q7", "", answered=False)]
    assert any("nothing was written for q7" in n for n in notes)
    result = SubmissionResult("deep_chain", "hw.ipynb", (), written=tuple(answers))
    gradescope = to_gradescope(result)
    assert "No written answer for: q7." in gradescope["output"]
    assert "collected" not in gradescope["output"].lower()
    assert gradescope["tests"][-1]["output"] == "Nothing was written for this question."
    assert SubmissionResult.from_dict(result.to_dict()).written == result.written


def test_a_py_submission_says_it_holds_no_written_answer(tmp_path: Path) -> None:
    sub = Submission(tmp_path / "hw.py", (Cell(0, "x = 1"),))
    answers, notes = written_answers(sub, "deep_chain")
    assert answers == [WrittenAnswer("q7", "", answered=False)]
    assert notes == ["a .py file holds no written answers: q7 cannot be graded from it; "
                     "submit the notebook (.ipynb) to answer them"]


@pytest.mark.parametrize("deleted", [True, False])
def test_a_notebook_without_the_answer_cell_says_so(tmp_path: Path, deleted: bool) -> None:
    cells = [] if deleted else [v4.new_markdown_cell("## Question 7\n\nno metadata")]
    sub = load_submission(notebook(tmp_path, *cells))
    answers, notes = written_answers(sub, "deep_chain")
    assert not answers[0].answered
    assert notes == ["no answer cell found for the written question(s) q7"]
