"""Which of questions 1-3's functions to lend when a test of ``fit_plsa`` fails (lending.py).

``fit_plsa`` may call ``log_likelihood`` (q1), ``e_step`` (q2) and ``m_step`` (q3). When a
check of questions 4-6 fails, the grader lends the reference's versions of the helpers that
are wrong — found by calling each on a few small fixed problems, one with zeros in alpha and
beta — so the note names the question where the mistake is, not every helper the fit happens
to call, and only those helpers cross the sandbox boundary at every iteration (a lent e_step
returns the whole (M, N, K) gamma). When every helper looks right, all of them are lent (the
fit may still rely on one at inputs the probe does not cover).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from autograder.checks import assert_close
from autograder.errors import StudentError
from autograder.suites.plsa_em.inputs import problem, with_zeros

PROBE_TIMEOUT = 2.0


def _probes() -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(20240611)
    plain, sparse = problem(rng), problem(rng, density=0.3)
    zeros = problem(rng)
    zeros["alpha"], zeros["beta"] = with_zeros(rng, zeros["alpha"], zeros["beta"])
    return [plain, sparse, zeros]


def _agrees(student: Any, ref: Any, name: str) -> bool:
    """Whether the notebook's ``name`` gives the reference's values on the probe problems."""
    function = student[name].with_timeout(PROBE_TIMEOUT)
    try:
        for p in _probes():
            counts, alpha, beta = p["counts"], p["alpha"], p["beta"]
            if name == "log_likelihood":
                if np.any((counts > 0) & (alpha @ beta <= 0)):
                    continue  # -inf is the right value there; no probe of that
                got, want = function(counts, alpha, beta), ref.log_likelihood(counts, alpha, beta)
                assert_close(np.float64(got), np.float64(want), rtol=1e-8, name=name)
            elif name == "e_step":
                assert_close(function(alpha, beta), ref.e_step(alpha, beta), rtol=1e-6,
                             atol=1e-9, name=name)
            else:
                gamma = ref.e_step(alpha, beta)
                got = function(counts, gamma)
                if not isinstance(got, tuple | list) or len(got) != 2:
                    return False
                for a, b in zip(got, ref.m_step(counts, gamma)):
                    assert_close(a, b, rtol=1e-6, atol=1e-9, name=name)
    except (AssertionError, StudentError, TypeError, ValueError):
        return False
    return True


class HelpersToLend(Mapping[str, str]):
    """name -> question of the helpers to lend, among ``helpers``; worked out on first use,
    which ``graded_with_lent`` makes only after the notebook's own code has failed a check."""

    def __init__(self, student: Any, ref: Any, helpers: Mapping[str, str]) -> None:
        self._student, self._ref, self._helpers = student, ref, dict(helpers)
        self._lend: dict[str, str] | None = None

    def _found(self) -> dict[str, str]:
        if self._lend is None:
            defined = {n: q for n, q in self._helpers.items() if self._student.defines(n)}
            wrong = {n: q for n, q in defined.items() if not _agrees(self._student, self._ref, n)}
            self._lend = wrong or defined
        return self._lend

    def __getitem__(self, name: str) -> str:
        return self._found()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._found())

    def __len__(self) -> int:
        return len(self._found())
