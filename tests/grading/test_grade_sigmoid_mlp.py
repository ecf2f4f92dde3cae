"""Grade the sigmoid_mlp submission corpus (real notebooks) and pin the exact scores.

Each mistaken or hostile notebook is the solution with one part replaced, so the expected
scores say exactly which questions must lose points, and every other question must still be
graded in full. Questions built on a broken backward (q4 training, q5 grad_w1_norm) lose
their points too, as they would for a student.
"""

from pathlib import Path

import pytest

from autograder.results import Status
from autograder.runner import GradeOptions, grade_submission
from autograder.sandbox import SandboxConfig

CORPUS = Path(__file__).parent.parent / "submissions" / "sigmoid_mlp"
FULL = {"q1": 10, "q2": 30, "q3": 15, "q4": 20, "q5": 10, "q6": 10, "q7": 5, "q8": 0}
# Short limits keep the hostile cases fast (train has its own 60 s limit).
FAST = SandboxConfig(call_timeout=4, load_timeout=6, submission_timeout=120)


def grade(name: str, config: SandboxConfig = FAST):
    return grade_submission(CORPUS / f"{name}.ipynb", "sigmoid_mlp", GradeOptions(sandbox=config, seed=1234))


def scores(result) -> dict[str, float]:
    return {q.question: q.score for q in result.questions()}


def outputs(result, question: str) -> str:
    return "\n".join(t.output for t in result.tests if t.question == question)


def expect(**lost: float) -> dict[str, float]:
    """Full marks except the points given as lost per question."""
    return {q: points - lost.get(q, 0) for q, points in FULL.items()}


CASES = {
    # correct in two styles
    "solution": (expect(), None),
    "loops_float32": (expect(), None),
    # realistic mistakes: the question with the mistake loses its points. A wrong gradient
    # costs question 2 (and question 5, which uses it), not question 4: a training loop that
    # falls short with its own `backward` is run again with the reference's in its place
    "mistake_mean_not_sum": (expect(q2=30, q5=6), ("q2", "not a mean, so do not divide by n")),
    "mistake_missing_dsigmoid": (expect(q2=20, q5=6), ("q2", "missing the factor sigma'(a)")),
    "mistake_transposed_weight_grad": (expect(q2=10), ("q2", "dL/dW2 is transposed")),
    "mistake_w1_from_h1": (expect(q2=5, q5=6), ("q2", "uses the activations h1")),
    "mistake_he_sqrt": (expect(q3=3), ("q3", "you wrote sqrt(2/n), the standard deviation")),
    "mistake_train_ascent": (expect(q4=20), ("q4", "did not learn")),
    "partial": (expect(q2=30, q4=20, q5=10, q6=10, q7=3.75), ("q2", "not attempted")),
    # hostile: the attacked part earns nothing, the rest is still graded (its training loop
    # is correct, so with the reference's gradient it earns question 4)
    "hostile_monkeypatch": (expect(q2=30, q5=6), ("q2", "dL/dW1 does not match")),
    # keeps the reference `backward` lent to its `train` and calls it in question 5: refused
    "hostile_keep_reference": (expect(q2=30, q5=6), ("q5", "unknown grader function")),
    "hostile_infinite_loop": (expect(q1=6), ("q1", "did not return within 4 s")),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_scores(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected, diagnosis = CASES[name]
    result = grade(name)
    assert scores(result) == expected
    assert result.max_score == 100
    if diagnosis:
        question, text = diagnosis
        assert text in outputs(result, question)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_partial_reports_not_attempted_and_collects_the_written_answer():
    result = grade("partial")
    statuses = {t.question: t.status for t in result.tests}
    assert statuses["q2"] is Status.NOT_ATTEMPTED
    assert statuses["q6"] is Status.NOT_ATTEMPTED  # `contraction = ...` is not a crash
    assert [w.question for w in result.written] == ["q8"]
    assert "saturate" in result.written[0].text


@pytest.mark.slow
def test_worked_solution_notebook_scores_full_marks():
    result = grade_submission(Path(__file__).parents[2] / "solutions" / "sigmoid_mlp" / "solution.ipynb",
                              "sigmoid_mlp", GradeOptions(sandbox=FAST, seed=99))
    assert scores(result) == expect()
    assert [w.question for w in result.written] == ["q8"]


def test_example_class_is_taken_from_the_corpus():
    examples = Path(__file__).parents[2] / "assignments" / "sigmoid_mlp" / "examples"
    names = sorted(p.stem for p in examples.glob("*.ipynb"))
    assert names == ["hostile_monkeypatch", "mistake_he_sqrt", "mistake_missing_dsigmoid", "partial", "solution"]
    for name in names:
        assert (examples / f"{name}.ipynb").read_bytes() == (CORPUS / f"{name}.ipynb").read_bytes()


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
