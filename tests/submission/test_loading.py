"""Loading submissions: notebooks and .py files into plain Python cells."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.submission import SubmissionError, load_submission, to_python


def write_notebook(path, cells):
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_magics_and_shell_escapes_become_calls_on_the_stub_shell():
    code = to_python("%matplotlib inline\nimport numpy as np\n!pip install foo\nx = !ls\n")
    assert "get_ipython().run_line_magic('matplotlib', 'inline')" in code
    assert "get_ipython().system('pip install foo')" in code
    assert "import numpy as np" in code
    assert to_python("y = 1  # plain python is left alone\n") == "y = 1  # plain python is left alone\n"


def test_experiment_cells_are_skipped_and_written_answers_collected(tmp_path):
    path = write_notebook(tmp_path / "a.ipynb", [
        new_markdown_cell("# title"),
        new_code_cell("def f(x):\n    return x"),
        new_code_cell("train_forever()", metadata={"tags": ["experiment"]}),
        new_markdown_cell("Because Jensen.", metadata={"mlhw": {"written": "q8"}}),
    ])
    sub = load_submission(path)
    assert [c.source for c in sub.cells] == ["def f(x):\n    return x"]
    assert sub.skipped == (2,)
    assert sub.written == {"q8": "Because Jensen."}
    assert sub.cell_names() == ["grading set-up", "cell 2"]


def test_py_files_split_on_percent_markers(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("import numpy as np\n# %%\ndef f():\n    pass\n# %% tags=[\"experiment\"]\nslow()\n")
    sub = load_submission(path)
    assert [c.source.strip() for c in sub.cells] == ["import numpy as np", "def f():\n    pass"]


@pytest.mark.parametrize("content,reason", [
    ("", "is empty"),
    ("{not json", "not valid JSON"),
    (json.dumps({"a": 1}), "not a Jupyter notebook"),
    (json.dumps({"cells": [], "nbformat": 5, "nbformat_minor": 0, "metadata": {}}), "format 5"),
    (json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}), "no code"),
])
def test_broken_notebooks_are_refused_with_the_reason(tmp_path, content, reason):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    with pytest.raises(SubmissionError, match=reason):
        load_submission(path)


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "homework.docx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(SubmissionError, match="submit a .ipynb notebook or a .py file"):
        load_submission(path)


@pytest.mark.slow
def test_magic_cells_run_while_grading(tmp_path):
    from autograder.runner import grade_submission

    path = write_notebook(tmp_path / "m.ipynb", [
        new_code_cell("%matplotlib inline\n!pip install numpy\nimport numpy as np"),
        new_code_cell("%%time\nshrink_factor = '5/cosh(5)**2'"),
    ])
    result = grade_submission(path, "deep_chain")
    q5 = {t.name: t.score for t in result.tests if t.question == "q5"}
    assert q5["q5: shrink_factor: the per-layer factor by which g shrinks at w = 5"] == 5
    assert not any("raised" in m for m in result.messages)
