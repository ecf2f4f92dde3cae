"""How many times one call of a student's function calls the notebook's own functions.

Question 2 asks for backpropagation. A `backward` that perturbs each parameter in turn and
differences `loss` (numerical differentiation, no chain rule) returns the right numbers, so
the values alone cannot tell it apart; the number of calls it makes can, deterministically
(never by timing, which varies with load): on a network with P parameters, finite
differences evaluate the loss at least P + 1 times, while backpropagation makes a handful
of calls per layer (or per layer and example, for loops over the examples), however many
inputs the network has.

`count_calls` runs the call in the worker with Python's profiler counting the calls made to
code the notebook defined (its functions, lambdas, nested functions, whatever they are
called by), plus the calls to any functions lent from the reference for that call.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

from autograder.errors import CheckFailed, NotAttempted, StudentError
from autograder.lending import LendingView
from autograder.proxy import StudentProxy
from autograder.suites.sigmoid_mlp.inputs import backprop_problem

_HELPER_NAME = "_mlhw_count_calls"
_HELPER = f'''
def {_HELPER_NAME}(lent, name, *args):
    import sys

    counts = {{}}
    skip = 0x20 | 0x80 | 0x200  # generators and coroutines: each resumption is a "call"

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code.co_filename.startswith("<cell ") and not code.co_flags & skip:
                counts[code.co_name] = counts.get(code.co_name, 0) + 1

    def counted(own_name, stand_in):
        def lent_function(*a, **k):
            counts[own_name] = counts.get(own_name, 0) + 1
            return stand_in(*a, **k)
        return lent_function

    namespace = globals()
    saved = {{}}
    for own_name, stand_in in lent.items():
        own = namespace.get(own_name)
        wrapper = counted(own_name, stand_in)
        for key, value in list(namespace.items()):
            if key == own_name or (own is not None and value is own):
                saved.setdefault(key, value)
                namespace[key] = wrapper
    function = namespace[name]
    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        function(*args)
    finally:
        intact = sys.getprofile() is profile
        sys.setprofile(previous)
        namespace.update(saved)
    counts[name] = counts.get(name, 1) - 1  # the call itself
    return {{"counts": counts, "intact": intact}}
'''


def count_calls(student: Any, name: str, *args: Any) -> dict[str, Any] | None:
    """``{"counts": {function name: calls}, "intact": bool}`` for one call ``name(*args)``
    (``intact`` is False when the call switched the profiler off), or None when ``student``
    is not a real student (a stand-in object in the engine's tests).

    With a `LendingView` the functions it lends are rebound for the call, as the view does.
    """
    lent: dict[str, Any] = {}
    if isinstance(student, LendingView):
        lent, student = dict(student.stand_ins), student.student
    if not isinstance(student, StudentProxy):
        return None
    student.load_helper(_HELPER_NAME, _HELPER)
    return student[_HELPER_NAME](lent, name, *args)


# The most calls one gradient may make to any single function of the notebook, as a
# fraction of the number of parameters P: finite differences need more than P calls of the
# loss; backpropagation makes a few per layer (and per example, in loops over examples).
MAX_CALLS_PER_PARAMETER = 0.5


def assert_backpropagation(s: Any, rng: np.random.Generator, *, quiet_errors: bool = False) -> bool:
    """backward computes the gradient by the chain rule, not by finite differences of the
    loss: on a network of P > 1,000 parameters and 3 examples no notebook function may be
    called more than P/2 times by one call of backward (a count, not a time).

    Raises CheckFailed when it is not; returns True when it is, and False when the call
    raised and ``quiet_errors`` is set (the verdict is then left to a later check).
    """
    p = backprop_problem(rng)
    P = p["size"]
    try:
        report = count_calls(s, "backward", p["params"], p["X"], p["y"])
    except StudentError as exc:
        if quiet_errors:
            return False
        text = str(exc).replace("_mlhw_count_calls", "backward")
        if isinstance(exc, NotAttempted):
            raise NotAttempted(text) from None
        raise CheckFailed(f"{text}\n  called: backward on a network with {p['D']} inputs, two hidden "
                          f"layers of {p['H']} units and 3 examples") from None
    if report is None:
        return True
    if not report["intact"]:
        raise CheckFailed("backward switched off the grader's call counter (sys.setprofile); "
                          "a gradient needs no profiler")
    limit = MAX_CALLS_PER_PARAMETER * P
    over = {name: calls for name, calls in report["counts"].items() if calls > limit}
    if over:
        name = next((n for n in ("loss", "forward") if n in over), max(over, key=over.get))
        raise CheckFailed(
            f"your backward called `{name}` {over[name]} times to compute one gradient of a network "
            f"with {P} parameters ({p['D']} inputs, two hidden layers of {p['H']} units, 3 examples): "
            "that is numerical differentiation (one or two loss evaluations per parameter), not "
            "backpropagation. Question 2 asks for the chain rule: one forward pass that keeps the "
            "activations, then one backward pass through the layers (about one call per layer)")
    return True


# Each grading's verdict of `assert_backpropagation`, by student proxy: the count is the
# notebook's backward's, whatever the inputs (each test checks its own values), so question
# 2's twelve tests and question 4's probe share one count.
_VERDICTS: WeakKeyDictionary = WeakKeyDictionary()


def backpropagation_once(student: Any, rng: np.random.Generator) -> bool:
    """`assert_backpropagation(student, rng, quiet_errors=True)`, counted once per grading;
    a failed count raises its CheckFailed again each time it is asked."""
    try:
        verdict = _VERDICTS.get(student)
    except TypeError:  # a stand-in student (the engine's tests): not weakly referenceable
        return assert_backpropagation(student, rng, quiet_errors=True)
    if verdict is None:
        try:
            verdict = (assert_backpropagation(student, rng, quiet_errors=True), None)
        except CheckFailed as exc:
            verdict = (False, str(exc))
        _VERDICTS[student] = verdict
    counted, failure = verdict
    if failure is not None:
        raise CheckFailed(failure)
    return counted
