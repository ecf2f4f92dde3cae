"""Which functions of other questions to lend when a check fails (see autograder.lending).

`fprop`, `loss`, `bprop` and `grad_input` (q5) may call the activations of q2 and the
softmax of q3; `train` and `plot_decision_boundary` (q7) call the functions of q5. When a
check of theirs fails, the grader lends the reference's versions of the helpers the notebook
gets wrong — found by calling each on a few fixed inputs — so the note names the question
where the mistake is. When every helper looks right, all of them are lent (the function may
still rely on one of them at inputs the probe does not cover).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from autograder.checks import assert_close
from autograder.errors import CheckFailed, NotAttempted, StudentError
from autograder.lending import HelpersToLend, LendingView, graded_with_lent
from autograder.suites.mlp_multiclass.inputs import network_problem

ACTIVATIONS = {name: "q2" for name in ("relu", "drelu", "sign", "dabs", "grad_l1", "grad_sq_norm",
                                       "sigmoid", "dsigmoid", "tanh", "dtanh", "softplus")}
FOR_NETWORK = {**ACTIVATIONS, "softmax": "q3"}
FOR_TRAINING = {**FOR_NETWORK, "fprop": "q5", "loss": "q5", "bprop": "q5"}
PROBE_TIMEOUT = 2.0


def _probe_calls(name: str, ref: Any) -> list[tuple[tuple, Any]]:
    gen = np.random.default_rng(20240615)
    x = gen.uniform(0.1, 4.0, size=(3, 5)) * gen.choice([-1.0, 1.0], size=(3, 5))
    if name in ACTIVATIONS or name == "softmax":
        return [((x,), getattr(ref, name)(x))]
    calls = []
    for _ in range(2):
        p = network_problem(gen)
        params, X, y = p["params"], p["X"], p["y"]
        if name == "fprop":
            calls.append(((params, X), ref.fprop(params, X)))
        elif name == "loss":
            calls.append(((params, X, y), ref.loss(params, X, y)))
        elif name == "bprop":
            calls.append(((params, X, y), ref.bprop(params, X, y)))
            calls.append(((params, X, y, 0.1, 0.2, 0.3, 0.4), ref.bprop(params, X, y, 0.1, 0.2, 0.3, 0.4)))
    return calls


def _agrees(student: Any, ref: Any, name: str) -> bool:
    """Whether the notebook's `name` gives the reference's values on the probe inputs."""
    function = student[name].with_timeout(PROBE_TIMEOUT)
    try:
        for args, want in _probe_calls(name, ref):
            assert_close(function(*args), want, name=name, rtol=1e-6, atol=1e-9)
    except (AssertionError, StudentError, TypeError, ValueError):
        return False
    return True


class _HelpersToLend(HelpersToLend):
    """The wrong helpers; a q5 function that is wrong only through a wrong q2/q3 helper it
    calls is right once that helper is lent: lend the helper alone, so the note names its
    question."""

    def __init__(self, student: Any, ref: Any, helpers: Mapping[str, str]) -> None:
        super().__init__(student, helpers, lambda name: not _agrees(student, ref, name))
        self._ref = ref

    def find_wrong(self, defined: dict[str, str]) -> dict[str, str]:
        wrong = super().find_wrong(defined)
        low = {n: q for n, q in wrong.items() if n in FOR_NETWORK}
        if low and len(low) < len(wrong):
            view = LendingView(self._student, self._ref, low)
            wrong = {n: q for n, q in wrong.items() if n in low or not _agrees(view, self._ref, n)}
        return wrong


def graded(student: Any, ref: Any, helpers: Mapping[str, str], check: Callable[[Any], Any],
           function: str) -> Any:
    """check(student); after a failure, check again with the wrong helpers lent. A helper
    still a stub, called by `function` that is written, is lent like a wrong one."""

    def own_or_lent(s: Any) -> Any:
        try:
            return check(s)
        except NotAttempted as exc:
            stub = re.search(r"NotImplementedError: (\w+)\)$", str(exc))
            if s is student and stub and stub[1] in helpers and stub[1] != function:
                raise CheckFailed(f"your {function} calls `{stub[1]}`, which is not written yet") from None
            raise

    return graded_with_lent(student, ref, _HelpersToLend(student, ref, helpers), own_or_lent,
                            function=f"your {function}")
