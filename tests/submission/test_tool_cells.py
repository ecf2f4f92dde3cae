"""The cells otter-grader and nbgrader add to a notebook are recognised as theirs."""

import nbformat

from autograder.submission import is_tool_cell


def test_tool_cells_are_recognised():
    new = nbformat.v4.new_code_cell
    assert is_tool_cell(
        new('# Initialize Otter\nimport otter\ngrader = otter.Notebook("hw.ipynb")')
    )
    assert is_tool_cell(new('grader.check("q1")'))
    assert is_tool_cell(
        new(
            "# Save your notebook first, then run this cell to export your "
            "submission.\ngrader.export(pdf=False)"
        )
    )
    assert not is_tool_cell(new('grader.check("q1")\nanswer = 42'))
    test = new("assert True", metadata={"nbgrader": {"grade": True, "solution": False}})
    answer = new("x = 1", metadata={"nbgrader": {"grade": True, "solution": True}})
    assert is_tool_cell(test) and not is_tool_cell(answer)
    assert not is_tool_cell(nbformat.v4.new_markdown_cell('grader.check("q1")'))
