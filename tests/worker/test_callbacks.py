"""Callbacks cost the caller: the grader's time inside a callback counts against the call,
and a callback's arguments are bounded before the grader computes anything."""

import time

import numpy as np
import pytest

from autograder.errors import StudentException, StudentTimeout
from autograder.proxy import StudentProxy
from autograder.sandbox import SandboxConfig
from autograder.worker import Worker
from autograder.worker.callbacks import ArrayBounds, array_bounds, callback_arguments

STUDENT = '''
import numpy as np

def keep_grader_busy(slow, n):
    for _ in range(n):
        slow(np.ones(3))
    return n

def phi_with_where(phi, u):
    return phi(u, where=u > 0)

def phi_of_a_huge_column(phi, u):
    return phi(np.ones((9000, 1)))

def phi_of_the_input(phi, u):
    return phi(u).sum()

def call_with_names(f, x):
    return f(x=x)
'''


@pytest.fixture(scope="module")
def student():
    with Worker(SandboxConfig(call_timeout=2.0, load_timeout=10.0)) as worker:
        assert worker.load([STUDENT]).ok
        yield StudentProxy(worker)


def test_time_in_a_callback_counts_against_the_call(student):
    def slow(x):
        time.sleep(0.5)
        return x

    start = time.monotonic()
    with pytest.raises(StudentTimeout, match="did not return within 2 s"):
        student.keep_grader_busy(slow, 20)  # 10 s of grader time against a 2 s limit
    assert time.monotonic() - start < 4


def test_the_submission_budget_is_charged_with_callback_time():
    def slow(x):
        time.sleep(0.3)
        return x

    with Worker(SandboxConfig(call_timeout=5.0, submission_timeout=2.0, load_timeout=10)) as w:
        assert w.load([STUDENT]).ok
        before = w.budget_left
        w.call("keep_grader_busy", (slow, 3))
        assert before - w.budget_left >= 0.9
        with pytest.raises(StudentTimeout, match="time budget"):
            w.call("keep_grader_busy", (slow, 10))


def test_no_keyword_argument_reaches_a_numpy_function(student):
    with pytest.raises(StudentException, match=r"tanh\(\) takes positional arguments only"):
        student.phi_with_where(np.tanh, np.ones(4))


def test_a_callback_array_larger_than_the_call_is_refused(student):
    with pytest.raises(StudentException, match=r"shape \(9000, 1\).*no dimension above 64"):
        student.phi_of_a_huge_column(np.tanh, np.ones(10))
    with pytest.raises(StudentException, match=r"shape \(9000, 1\).*no dimension above 4222"):
        student.phi_of_a_huge_column(np.tanh, np.ones((2111, 784)))  # sigmoid_mlp's X
    assert student.phi_of_the_input(np.tanh, np.zeros(5000)) == 0.0  # its own size is fine


def test_python_functions_accept_the_names_they_define(student):
    def f(x):
        return 2 * x

    assert student.call_with_names(f, 4) == 8

    def g(y):
        return y

    with pytest.raises(StudentException, match="missing a required argument: 'y'"):
        student.call_with_names(g, 4)


def test_bounds_come_from_every_array_of_the_call():
    bounds = array_bounds(({"W1": np.ones((784, 20)), "b": np.ones(20)}, np.ones((100, 784))))
    assert bounds == ArrayBounds(784, 784 * 20 + 20 + 100 * 784)
    args, _ = callback_arguments(np.tanh, (np.ones((100, 20)),), {}, bounds)
    assert args[0].shape == (100, 20)
    callback_arguments(np.tanh, (np.ones((785, 2)),), {}, bounds)  # e.g. l + 1 activations
    with pytest.raises(ValueError, match="no dimension above 1568"):
        callback_arguments(np.tanh, (np.ones((1569, 1)),), {}, bounds)
    with pytest.raises(ValueError, match="array elements"):
        callback_arguments(np.tanh, tuple(np.ones((784, 784)) for _ in range(3)), {}, bounds)
