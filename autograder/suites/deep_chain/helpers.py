"""Which of questions 1-3's functions to lend when question 4 or 5 fails (see lending.py).

`train_chain` and `first_iteration_trace` call `chain_forward` (q1), `chain_backward` (q2)
and `chain_gradients` (q3). When a check of theirs fails, the grader lends the reference's
versions of the helpers that are wrong — found by calling each on a few fixed chains, one of
them saturated — so the note names the question where the mistake is, not every helper the
loop happens to call. When every helper looks right, all of them are lent (the loop may
still rely on one of them at inputs the probe does not cover).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.checks import assert_close
from autograder.errors import StudentError
from autograder.lending import HelpersToLend
from autograder.suites.deep_chain.inputs import chain_problem

HELPERS = {"chain_forward": "q1", "chain_backward": "q2", "chain_gradients": "q3"}
PROBE_TIMEOUT = 2.0


def _probes() -> list[dict[str, Any]]:
    rng = np.random.default_rng(20240611)
    saturated = chain_problem(rng, l=8, m=3)
    saturated["w"] = np.full(8, 5.0)
    return [chain_problem(rng, l=6, m=3), chain_problem(rng, l=5, m=4, bias=True), saturated]


def _agrees(student: Any, ref: Any, name: str) -> bool:
    """Whether the notebook's `name` gives the reference's values on the probe chains."""
    function = student[name].with_timeout(PROBE_TIMEOUT)
    try:
        for p in _probes():
            u, h = ref.chain_forward(p["x"], p["w"], p["b"])
            if name == "chain_forward":
                got = (
                    function(p["x"], p["w"], p["b"])
                    if p["b"] is not None
                    else function(p["x"], p["w"])
                )
                want = (u, h)
            elif name == "chain_backward":
                got, want = function(u, h, p["y"], p["w"]), ref.chain_backward(u, h, p["y"], p["w"])
            else:
                g = ref.chain_backward(u, h, p["y"], p["w"])
                got, want = function(h, g), ref.chain_gradients(h, g)
            if isinstance(want, tuple):
                if not isinstance(got, tuple | list) or len(got) != len(want):
                    return False
                for a, b in zip(got, want):
                    assert_close(a, b, name=name)
            else:
                assert_close(got, want, name=name)
    except (AssertionError, StudentError):
        return False
    return True


def helpers_to_lend(student: Any, ref: Any) -> HelpersToLend:
    """The helpers of questions 1-3 to lend: the wrong ones, or all when none is."""
    return HelpersToLend(student, HELPERS, lambda name: not _agrees(student, ref, name))
