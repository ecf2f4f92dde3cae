"""Malformed notebook fields are a student's problem with a note, never a grader crash."""

import copy
import json
from pathlib import Path

import pytest

from autograder.submission import load_submission
from autograder.submission.written import written_answers

EXAMPLE = Path(__file__).parents[2] / "assignments" / "deep_chain" / "examples" / "partial.ipynb"


def variant(tmp_path: Path, name: str, change) -> Path:
    nb = json.loads(EXAMPLE.read_text())
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        change(cell)
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps(nb))
    return path


@pytest.mark.parametrize("name,change,note", [
    ("tags5", lambda c: c["metadata"].__setitem__("tags", 5), "tags that are not a list"),
    ("mlhw_list", lambda c: c["metadata"].__setitem__("mlhw", []), "'mlhw' metadata that is not"),
    ("nbgrader_list", lambda c: c["metadata"].__setitem__("nbgrader", []),
     "'nbgrader' metadata that is not"),
    ("metadata_str", lambda c: c.__setitem__("metadata", "x"), "metadata that is not a dict"),
])
def test_a_wrong_type_in_cell_metadata_is_ignored_with_a_note(tmp_path, name, change, note):
    submission = load_submission(variant(tmp_path, name, change))
    assert any(note in n for n in submission.notes)
    assert any("def chain_forward" in c.source for c in submission.cells)


def test_a_cell_source_that_is_not_text_is_ignored(tmp_path):
    submission = load_submission(variant(tmp_path, "source_int",
                                         lambda c: c.__setitem__("source", 5)))
    assert any("a source that is not text: ignored" in n for n in submission.notes)
    assert not any(c.source.strip() for c in submission.cells[1:])


def test_question_names_come_from_the_assignment_not_the_metadata(tmp_path):
    def name_a_question(cell):
        mlhw = cell["metadata"].get("mlhw")
        if isinstance(mlhw, dict) and "written" in mlhw:
            mlhw["written"] = "q" + "9" * 5000

    submission = load_submission(variant(tmp_path, "digits", name_a_question))
    answers, notes = written_answers(submission, "deep_chain")
    assert [a.question for a in answers] == ["q7"] and not answers[0].answered
    assert any("that deep_chain does not have: ignored" in n for n in notes)


@pytest.mark.slow
def test_a_notebook_with_malformed_metadata_is_graded_without_a_grader_error(tmp_path):
    from autograder.results import Status
    from autograder.runner import GradeOptions, grade_submission

    path = variant(tmp_path, "tags5", lambda c: c["metadata"].__setitem__("tags", 5))
    result = grade_submission(path, "deep_chain", GradeOptions(seed=1))
    assert Status.GRADER_ERROR not in {t.status for t in result.tests}
    assert result.score > 0
