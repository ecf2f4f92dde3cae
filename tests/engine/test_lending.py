"""Fair grades: a question that calls another question's function is graded again with the
reference's function lent in its place, whatever name the notebook calls it by."""

import shutil
import textwrap

import pytest

from autograder import suites
from autograder.results import Status
from autograder.runner import GradeOptions, grade_submission
from autograder.sandbox import SandboxConfig

REFERENCE = '''
def helper(x):
    return 3 * x
'''

SUITE = '''
import pytest

from autograder.errors import CheckFailed, StudentError
from autograder.lending import HelpersToLend, graded_with_lent

REFERENCE = "lending_reference"


@pytest.mark.question("q1", points=2)
def test_helper(student, ref):
    """helper(x) is 3x"""
    if student.helper(2.0) != 6.0:
        raise CheckFailed("helper(2) is not 6")


def _outer_is_right(s):
    if s.outer(2.0) != 7.0:
        raise CheckFailed("outer(2) is not 7")


@pytest.mark.question("q2", points=3)
def test_outer(student, ref):
    """outer(x) is helper(x) + 1"""
    graded_with_lent(student, ref, {"helper": "q1"}, _outer_is_right, function="your outer")


def _helper_wrong(student):
    try:
        return student.helper(2.0) != 6.0
    except StudentError:
        return True


@pytest.mark.question("q3", points=3)
def test_outer_probed(student, ref):
    """outer(x) again, lending only a helper a probe finds wrong"""
    lend = HelpersToLend(student, {"helper": "q1"}, lambda name: _helper_wrong(student))
    graded_with_lent(student, ref, lend, _outer_is_right, function="your outer")
'''

CASES = {
    # the mistake is in helper only: q2 keeps its points and says where the loss is
    "wrong_helper": ("def helper(x):\n    return 2 * x\n\n"
                     "def outer(x):\n    return helper(x) + 1\n", {"q1": 0, "q2": 3}),
    # the same helper, called by an alias the student made
    "alias": ("def helper(x):\n    return 2 * x\n\nmine = helper\n\n"
              "def outer(x):\n    return mine(x) + 1\n", {"q1": 0, "q2": 3}),
    # the mistake is in outer itself: lending does not rescue it
    "wrong_outer": ("def helper(x):\n    return 3 * x\n\n"
                    "def outer(x):\n    return helper(x) - 1\n", {"q1": 2, "q2": 0}),
    # both wrong: q2 still fails with its own message
    "both_wrong": ("def helper(x):\n    return 2 * x\n\n"
                   "def outer(x):\n    return helper(x) - 1\n", {"q1": 0, "q2": 0}),
    # the helper called with keywords the reference names
    "keywords": ("def helper(x):\n    return 2 * x\n\n"
                 "def outer(x):\n    return helper(x=x) + 1\n", {"q1": 0, "q2": 3}),
    # outer raises because of the helper: lending rescues it
    "helper_raises": ("def helper(x):\n    raise ValueError('oops')\n\n"
                      "def outer(x):\n    return helper(x) + 1\n", {"q1": 0, "q2": 3}),
    # the helper kills the worker: retried only where a probe has found the helper wrong
    "helper_exits": ("import os\n\ndef helper(x):\n    os._exit(3)\n\n"
                     "def outer(x):\n    return helper(x) + 1\n", {"q1": 0, "q2": 0, "q3": 3}),
}


@pytest.fixture
def suite(tmp_path, monkeypatch):
    root = tmp_path / "suites"
    folder = root / "lending"
    folder.mkdir(parents=True)
    shutil.copy(suites.SUITES / "pytest.ini", root)
    (folder / "test_lending.py").write_text(SUITE)
    (tmp_path / "lending_reference.py").write_text(REFERENCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(suites, "SUITES", root)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_mistake_costs_only_its_own_question(suite, case):
    source, expected = CASES[case]
    expected = {"q3": expected["q2"], **expected}  # q3 is q2 graded with a probe
    path = suite / f"{case}.py"
    path.write_text(textwrap.dedent(source))
    result = grade_submission(path, "lending", GradeOptions(
        seed=1, sandbox=SandboxConfig(call_timeout=5, load_timeout=10)))
    assert {q.question: q.score for q in result.questions()} == expected
    outer = next(t for t in result.tests if t.question == "q2")
    if expected["q2"] and not expected["q1"]:
        assert outer.status is Status.PASSED
        assert "your outer is right when given a correct `helper`" in outer.output
        assert "the loss of points is in q1" in outer.output
    elif not expected["q2"] and case != "helper_exits":
        assert "outer(2) is not 7" in outer.output


def test_lent_stand_ins_take_the_references_keyword_arguments():
    import inspect

    import numpy as np

    import mlhw_ref.mnist_mlp as ref
    from autograder.lending import LendingView
    from autograder.suites.gd_mnist.inputs import network

    rng = np.random.default_rng(0)
    weights, biases = network(rng)
    x, label = rng.random(784), 3
    view = LendingView.__new__(LendingView)
    view.used = []
    stand_in = view._counted("train_one_sample", ref.train_one_sample)
    bound = inspect.signature(stand_in).bind("x", 3, "W", "b", learning_rate=0.1)
    assert bound.args == ("x", 3, "W", "b", 0.1)
    new_w, _ = stand_in(x, label, weights, biases, learning_rate=0.1)
    np.testing.assert_allclose(new_w[0], ref.train_one_sample(x, label, weights, biases, 0.1)[0][0])
    assert view.used == ["train_one_sample"]


class _Student:
    def __init__(self, names):
        self.names = set(names)

    def defines(self, name):
        return name in self.names


def test_helpers_lent_are_the_wrong_ones_or_all():
    from autograder.lending import HelpersToLend

    helpers = {"grad_quadratic": "q1", "gd_quadratic": "q2", "converges": "q3"}
    probed = []

    def wrong(name):
        probed.append(name)
        return name == "converges"

    lend = HelpersToLend(_Student(helpers), helpers, wrong)
    assert probed == []  # nothing is probed before the lending needs it
    assert dict(lend) == {"converges": "q3"} and lend.any_wrong()
    assert sorted(probed) == sorted(helpers)  # each probed once
    right = HelpersToLend(_Student(["converges"]), helpers, lambda name: False)
    assert dict(right) == {"converges": "q3"} and not right.any_wrong()
