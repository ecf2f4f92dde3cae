"""Grading sigmoid_mlp beyond the scores of its corpus (tests/grading/test_corpus.py): messages,
written answers, not-attempted stubs, what hostile notebooks leave behind."""

from pathlib import Path

import corpus
import pytest

from autograder.results import Status

ASSIGNMENT = "sigmoid_mlp"


def grade(name: str, **sandbox):
    return corpus.grade(ASSIGNMENT, name, **sandbox)


@pytest.mark.slow
def test_partial_reports_not_attempted_and_collects_the_written_answer():
    result = grade("partial")
    statuses = {t.question: t.status for t in result.tests}
    assert statuses["q2"] is Status.NOT_ATTEMPTED
    assert statuses["q6"] is Status.NOT_ATTEMPTED  # `contraction = ...` is not a crash
    assert [w.question for w in result.written] == ["q8"]
    assert "saturate" in result.written[0].text


class _InitOnly:
    """A stand-in student whose init_params uses weights of standard deviation gain*sqrt(1/n_in)."""

    def __init__(self, gain: float) -> None:
        self.gain = gain

    def init_params(self, sizes, rng, scheme="he"):
        import numpy as np

        from mlhw_ref.sigmoid_mlp import init_params

        params = init_params(sizes, rng, "he")  # std sqrt(2/n_in)
        return {k: v * self.gain / np.sqrt(2.0) if k[0] in "Ww" else v for k, v in params.items()}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # the suite's own marker
@pytest.mark.parametrize("gain,passes", [(2.0**0.5, True), (1.0, False), (2.0, False)])
def test_relu_stack_check_passes_he_and_fails_other_scales(gain, passes):
    import numpy as np

    from autograder.errors import CheckFailed
    from autograder.suites.sigmoid_mlp.test_init import (
        test_q3_relu_stack_keeps_its_variance as check,
    )

    run = lambda: check(_InitOnly(gain), np.random.default_rng(5))
    if passes:
        run()
    else:
        with pytest.raises(CheckFailed, match="with depth"):
            run()


def test_committed_solution_is_generated_from_the_source():
    import nbformat

    from autograder.release.source import load_source, solution_notebook

    generated = solution_notebook(load_source("sigmoid_mlp"))
    committed = nbformat.read(Path(__file__).parents[2] / "solutions" / "sigmoid_mlp" / "solution.ipynb",
                              as_version=4)
    assert [c.source for c in generated.cells] == [c.source for c in committed.cells]


def test_student_bundle_leaks_nothing_and_ships_the_mnist_subset(tmp_path):
    from autograder.release.plain import release_plain  # refuses a bundle that leaks

    bundle = release_plain("sigmoid_mlp", tmp_path)
    assert (bundle / "mnist_subset.npz").is_file()
    text = (bundle / "sigmoid_mlp.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and 'raise NotImplementedError(\\"backward\\")' in text


@pytest.mark.parametrize("name, counts", [("solution", 1), ("mistake_finite_differences", 1)])
def test_backwards_call_count_is_made_once_per_grading(name, counts):
    """q2's twelve tests and q4's probe share one count of backward's calls (a property of
    the notebook's backward, whatever the inputs); a failed count still costs every q2 test."""
    from autograder.runner import grade_submission

    options = corpus.grade_options(ASSIGNMENT)
    options.record_calls = record = []
    options.questions = frozenset({"q2", "q4"})
    result = grade_submission(corpus.case(ASSIGNMENT, name).notebook, ASSIGNMENT, options)
    assert [call[0] for call in record].count("_mlhw_count_calls") == counts
    q2 = [t for t in result.tests if t.question == "q2"]
    assert len(q2) == 12 and all(
        (t.status is Status.PASSED) == (name == "solution") for t in q2)
