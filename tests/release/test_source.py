"""The source-notebook parser: cell kinds, solution regions, student and solution versions."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.release.source import (
    SourceError,
    find_regions,
    parse_notebook,
    solution_lines,
    solution_notebook,
    student_notebook,
    student_source,
)

FUNC = '''def chain_forward(x, w, b=None):
    """Forward pass."""
    x = np.asarray(x)
    # BEGIN SOLUTION
    u = x * w[0]
    return u, np.tanh(u)
    # END SOLUTION
'''


def _nb():
    return new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            new_code_cell("import numpy as np\nfrom mlhw_check import check"),
            new_code_cell(FUNC),
            new_code_cell('check("q1")', metadata={"mlhw": {"check": "q1"}}),
            new_code_cell("shrink = 5 * sp.sech(5) ** 2  # SOLUTION\nn = sp.Symbol('n')"),
            new_code_cell("# BEGIN SOLUTION\nanswer_top = 42\n# END SOLUTION"),
            new_code_cell('check("q2")', metadata={"mlhw": {"check": "q2"}}),
            new_markdown_cell(
                "**Q3.** Why?\n\n<!-- BEGIN SOLUTION -->\nBecause tanh saturates.\n"
                "<!-- END SOLUTION -->",
                metadata={"mlhw": {"written": "q3"}},
            ),
            new_code_cell("secret = 1", metadata={"tags": ["instructor"]}),
            new_code_cell("run_everything()", metadata={"tags": ["experiment"]}),
        ]
    )


def test_cells_are_classified_by_kind_and_question():
    src = parse_notebook(_nb(), name="t")
    assert [c.kind for c in src.cells] == [
        "markdown",
        "setup",
        "code",
        "check",
        "code",
        "code",
        "check",
        "written",
        "instructor",
        "experiment",
    ]
    assert [c.question for c in src.cells[:8]] == ["q1", "q1", "q1", "q1", "q2", "q2", "q2", "q3"]
    assert src.cells[2].regions[0].function == "chain_forward"
    assert src.cells[4].answers == ("shrink",)


def test_student_source_replaces_regions_keeping_indentation():
    out = student_source(FUNC)
    assert '    raise NotImplementedError("chain_forward")' in out
    assert "BEGIN SOLUTION" not in out and "np.tanh" not in out
    assert "x = np.asarray(x)" in out  # code outside the region stays
    assert (
        student_source("# BEGIN SOLUTION\na = 1\n# END SOLUTION", "q4")
        == 'raise NotImplementedError("q4")'
    )


def test_solution_line_becomes_ellipsis():
    assert student_source("s = 5 * sp.sech(5)  # SOLUTION") == "s = ...  # YOUR ANSWER"


def test_student_notebook_hides_solutions_and_instructor_cells():
    src = parse_notebook(_nb(), name="t")
    nb = student_notebook(src)
    text = nbformat.writes(nb)
    for line in solution_lines(src):
        assert line not in text
    assert "secret" not in text and "*Your answer here.*" in text and "**Q3.** Why?" in text
    assert nb.cells[-1].metadata["tags"] == ["experiment"]
    assert len(student_notebook(src, experiments=False).cells) == len(nb.cells) - 1


def test_solution_notebook_keeps_answers_without_markers():
    nb = solution_notebook(parse_notebook(_nb(), name="t"))
    text = nbformat.writes(nb)
    assert "return u, np.tanh(u)" in text and "Because tanh saturates." in text
    assert "SOLUTION" not in text and "secret" not in text


def test_solution_lines_cover_regions_answers_and_model_answers():
    lines = solution_lines(parse_notebook(_nb(), name="t"))
    assert {
        "u = x * w[0]",
        "answer_top = 42",
        "shrink = 5 * sp.sech(5) ** 2",
        "Because tanh saturates.",
    } <= lines
    assert "x = np.asarray(x)" not in lines


@pytest.mark.parametrize(
    "text", ["# BEGIN SOLUTION\nx = 1", "x = 1\n# END SOLUTION", "f(x)  # SOLUTION"]
)
def test_malformed_regions_are_refused(text):
    with pytest.raises(SourceError):
        find_regions(text)
