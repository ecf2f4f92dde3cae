"""The student-side runner `check("qN")`, run from a released bundle (as a student runs it)."""

import importlib
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.release.plain import release_plain
from autograder.release.source import REPO

QUESTIONS = ("q1", "q2", "q3", "q4", "q5", "q6", "q8")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The released bundle, with its mlhw_check importable (as from the notebook's folder)."""
    folder = release_plain("deep_chain", tmp_path_factory.mktemp("bundle"))
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == "mlhw_check" or m.startswith("mlhw_check.")]:
            del sys.modules[name]


@pytest.fixture
def mlhw_check(bundle, monkeypatch):
    monkeypatch.chdir(bundle)
    module = importlib.import_module("mlhw_check")
    assert Path(module.__file__).parent == bundle / "mlhw_check"  # the copy, not the repo
    return module


def run_cells(path: Path) -> dict:
    """A notebook's code cells run in one namespace (experiments and checks left out)."""
    namespace: dict = {"__name__": "__main__"}
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata
        if (
            cell.cell_type != "code"
            or "experiment" in meta.get("tags", [])
            or "check" in meta.get("mlhw", {})
        ):
            continue
        code = "\n".join(ln for ln in cell.source.splitlines() if not ln.startswith("%"))
        exec(compile(code, "<cell>", "exec"), namespace)  # noqa: S102 - our own notebooks
    return namespace


@pytest.fixture
def solved(mlhw_check):
    return run_cells(REPO / "solutions" / "deep_chain" / "solution.ipynb")


@pytest.fixture
def unsolved(mlhw_check, bundle):
    return run_cells(bundle / "deep_chain.ipynb")


def test_unfilled_notebook_is_not_attempted_everywhere(mlhw_check, unsolved, capsys):
    for q in QUESTIONS:
        result = mlhw_check.check(q, namespace=unsolved)
        assert result.outcomes and not result.attempted and not result.passed
    out = capsys.readouterr().out
    assert "q1 – not attempted (chain_forward still raises NotImplementedError)" in out
    assert "not attempted (shrink_factor is still ...)" in out
    assert "✗" not in out and "✓" not in out


def test_solution_passes_every_public_test_quickly(mlhw_check, solved, capsys):
    for q in QUESTIONS:
        started = time.perf_counter()
        result = mlhw_check.check(q, namespace=solved)
        assert result.passed, result.text
        assert time.perf_counter() - started < 1.0
    out = capsys.readouterr().out
    assert "q1 ✓ chain_forward on a 2-layer chain worked by hand" in out and "✗" not in out


def test_check_reads_the_callers_globals(mlhw_check, solved, capsys):
    """Without namespace=, check() uses the globals of the frame that calls it."""
    solved["check"] = mlhw_check.check
    exec('result = check("q3")', solved)  # noqa: S102 - as a notebook cell would
    assert solved["result"].passed
    assert repr(solved["result"]) == "<check q3: 1/1 public tests passed>"


def test_forgotten_1_over_m_is_diagnosed(mlhw_check, solved, capsys):
    right = solved["chain_backward"]
    solved["chain_backward"] = lambda u, h, y, w: right(u, h, y, w) * len(y)
    result = mlhw_check.check("q2", namespace=solved)
    assert not result.passed
    assert "did you forget the 1/m" in result.text and "q2 ✗" in result.text


def test_the_finite_difference_check_names_the_1_over_m_not_a_half(mlhw_check, solved):
    right = solved["chain_backward"]
    solved["chain_backward"] = lambda u, h, y, w: right(u, h, y, w) * len(y)  # m = 2
    outcome = mlhw_check.check("q2", namespace=solved, quiet=True).outcomes[1]
    assert outcome.name == "q2_finite_differences" and outcome.status == "failed"
    assert "(a missing or extra 1/m? here m = 2)" in outcome.message
    assert "1/2" not in outcome.message


def test_an_axes_returned_for_a_figure_is_explained(mlhw_check, solved):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    def plot_costs(costs_by_init):
        ax = Figure().subplots()
        for label, costs in costs_by_init.items():
            ax.semilogy(costs, label=label)
        return ax

    solved["plot_costs"] = plot_costs
    outcome = mlhw_check.check("q8", namespace=solved, quiet=True).outcomes[0]
    assert outcome.status == "failed"
    assert outcome.message == (
        "`plot_costs` returned a matplotlib Axes; return the Figure (ax.figure)"
    )


def test_a_function_that_raises_is_reported_not_raised(mlhw_check, solved):
    def chain_gradients(h, g):
        raise ValueError("shapes do not match")

    solved["chain_gradients"] = chain_gradients
    result = mlhw_check.check("q3", namespace=solved, quiet=True)
    assert result.outcomes[0].status == "failed"
    assert "chain_gradients raised ValueError: shapes do not match" in result.text


def test_a_wrong_return_type_is_reported_not_raised(mlhw_check, solved):
    solved["two_layer_grads"] = lambda *args: None
    result = mlhw_check.check("q6", namespace=solved, quiet=True)
    assert [o.status for o in result.outcomes] == ["failed", "failed"]


def test_missing_and_ellipsis_answers(mlhw_check, solved):
    del solved["plot_trace"]
    result = mlhw_check.check("q8", namespace=solved, quiet=True)
    assert [o.status for o in result.outcomes] == ["passed", "failed"]
    assert "plot_trace is not defined" in result.text
    solved["shrink_factor"] = ...
    result = mlhw_check.check("q5", namespace=solved, quiet=True)
    assert [o.status for o in result.outcomes] == ["passed", "not_attempted"]


def test_float_shrink_factor_is_refused(mlhw_check, solved):
    solved["shrink_factor"] = 5 / np.cosh(5) ** 2
    result = mlhw_check.check("q5", namespace=solved, quiet=True)
    assert "is a float" in result.text


def test_stub_called_by_another_function_is_named(mlhw_check, solved):
    def chain_forward(x, w, b=None):
        raise NotImplementedError("chain_forward")

    solved["chain_forward"] = chain_forward
    result = mlhw_check.check("q4", namespace=solved, quiet=True)
    assert not result.attempted
    assert "train_chain calls chain_forward, which still raises NotImplementedError" in result.text


def test_missing_public_tests_file_never_raises(mlhw_check, solved, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = mlhw_check.check("q1", namespace=solved, quiet=True)
    assert result.outcomes == () and "public_tests.py was not found" in result.text
    (tmp_path / "public_tests.py").write_text("this is not python(")
    result = mlhw_check.check("q1", namespace=solved, quiet=True)
    assert "could not be loaded (SyntaxError" in result.text
    result = mlhw_check.check(
        "q9",
        namespace=solved,
        tests=REPO / "assignments" / "deep_chain" / "public_tests.py",
        quiet=True,
    )
    assert "no public tests" in result.text


def test_an_unknown_question_names_the_known_ones(mlhw_check, solved):
    result = mlhw_check.check(
        "q9",
        namespace=solved,
        tests=REPO / "assignments" / "deep_chain" / "public_tests.py",
        quiet=True,
    )
    assert result.text == (
        "q9: no public tests for this question "
        "(public tests exist for q1, q2, q3, q4, q5, q6, q8)"
    )


def test_figure_data_reads_lines_and_scales():
    from matplotlib.figure import Figure

    from autograder.mlhw_check import figure_data

    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1.0, 0.1, 0.01], label="run")
    ax.set_yscale("log")
    ax.legend()
    data = figure_data(fig)
    (axes,) = data["axes"]
    assert axes["yscale"] == "log" and axes["legend_texts"] == ["run"]
    assert np.array_equal(axes["lines"][0]["y"], [1.0, 0.1, 0.01])


def test_printing_and_in_place_changes_fail_as_in_the_grader(mlhw_check, solved):
    right_gradients = solved["chain_gradients"]

    def chain_gradients(h, g):
        print("debug", h.shape)
        return right_gradients(h, g)

    solved["chain_gradients"] = chain_gradients
    result = mlhw_check.check("q3", namespace=solved, quiet=True)
    assert "chain_gradients printed 'debug (3, 2)'" in result.text

    solved["chain_gradients"] = right_gradients
    right_train = solved["train_chain"]

    def train_chain(x, y, w0, b0=None, alpha=0.1, max_iter=1000):
        w, b, costs = right_train(x, y, w0, b0, alpha, max_iter)
        w0 -= w0 - w  # updates the caller's array
        return w0, b, costs

    solved["train_chain"] = train_chain
    result = mlhw_check.check("q4", namespace=solved, quiet=True)
    assert "train_chain changed its argument 3 in place" in result.text


def test_error_line_points_into_the_students_code(mlhw_check, solved):
    namespace = dict(solved)
    code = "def chain_gradients(h, g):\n    return np.ones(3) @ np.ones(4)\n"
    exec(compile(code, "<cell 9>", "exec"), namespace)  # noqa: S102 - as a notebook cell would
    result = mlhw_check.check("q3", namespace=namespace, quiet=True)
    assert (
        "chain_gradients raised ValueError" in result.text
        and "(line 2 of your code)" in result.text
    )
