"""checks.alongside: the reference overlaps a long student call, and is skipped on a quick failure."""

import threading

import pytest

from autograder.checks import alongside


def test_the_reference_runs_while_the_student_call_is_running():
    reference_started = threading.Event()

    def student():
        return reference_started.wait(timeout=10)  # False if the two ran one after the other

    def reference():
        reference_started.set()
        return "ref"

    assert alongside(student, reference) == (True, "ref")


def test_a_quick_success_still_gets_the_reference():
    assert alongside(lambda: 1, lambda: 2) == (1, 2)


def test_a_quick_failure_never_computes_the_reference():
    calls = []

    def student():
        raise ValueError("not attempted")

    with pytest.raises(ValueError, match="not attempted"):
        alongside(student, lambda: calls.append("reference"))
    assert calls == []


def test_the_students_error_comes_before_the_references():
    reference_started = threading.Event()

    def student():
        reference_started.wait(timeout=10)
        raise ValueError("student")

    def reference():
        reference_started.set()
        raise RuntimeError("reference")

    with pytest.raises(ValueError, match="student"):
        alongside(student, reference)
