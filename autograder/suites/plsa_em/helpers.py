"""Questions 4-6 graded again with questions 1-3's functions lent, as lending.py does, but
with the lent functions run inside the sandbox.

``fit_plsa`` may call ``log_likelihood`` (q1), ``e_step`` (q2) and ``m_step`` (q3). When a
check of questions 4-6 fails, the grader lends correct versions of the helpers that are
wrong — found by calling each on a few small fixed problems, one with zeros in alpha and
beta — so the note names the question where the mistake is, not every helper the fit happens
to call. When every helper looks right, all of them are lent (the fit may still rely on one
at inputs the probe does not cover).

Why not `autograder.lending.LendingView`: its stand-ins call back to the grader,
and these helpers' arguments are the fit's largest arrays — the (M, N) counts (120 MB at
question 5's scale) and the (M, N, K) gamma (K times more) — which the sandbox boundary
refuses as callback arguments (above 64 MiB, or 4 times the elements of the call's own
arguments). So the lent versions here are plain NumPy functions, the reference's maths with
its conventions for zeros, loaded into the worker and rebound (with every alias of the
notebook's function) for the one call. They give the student nothing: a lent function only
shapes values the notebook computes anyway, and every check compares with the grader's own
reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from autograder.checks import assert_close
from autograder.errors import StudentError
from autograder.lending import HelpersToLend, graded_with_lent
from autograder.proxy import StudentProxy
from autograder.suites.plsa_em.inputs import problem, with_zeros

T = TypeVar("T")

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


_CALL = "_mlhw_plsa_call_with_lent"
# Loaded into the notebook's namespace (NumPy only, as in the sandbox). The same maths and
# conventions as mlhw_ref.plsa: a pair with probability 0 has the uniform posterior 1/K, a
# row with no expected count becomes uniform.
_WORKER_CODE = f'''
import numpy as _mlhw_np


def _mlhw_plsa_dense(counts):
    return _mlhw_np.asarray(counts.toarray() if hasattr(counts, "toarray") else counts, dtype=float)


def _mlhw_plsa_log_likelihood(counts, alpha, beta):
    n = _mlhw_plsa_dense(counts)
    i, j = _mlhw_np.nonzero(n)
    p = _mlhw_np.einsum("tk,tk->t", _mlhw_np.asarray(alpha, dtype=float)[i],
                        _mlhw_np.asarray(beta, dtype=float).T[j])
    with _mlhw_np.errstate(divide="ignore"):
        return float(n[i, j] @ _mlhw_np.log(p) - n[i, j].sum() * _mlhw_np.log(n.shape[0]))


def _mlhw_plsa_rows(A):
    s = A.sum(axis=1, keepdims=True)
    return _mlhw_np.where(s > 0, A / _mlhw_np.where(s > 0, s, 1.0), 1.0 / A.shape[1])


def _mlhw_plsa_e_step(alpha, beta):
    alpha, beta = _mlhw_np.asarray(alpha, dtype=float), _mlhw_np.asarray(beta, dtype=float)
    joint = alpha[:, None, :] * beta.T[None, :, :]
    s = joint.sum(axis=2, keepdims=True)
    uniform = _mlhw_np.full_like(joint, 1.0 / alpha.shape[1])
    return _mlhw_np.divide(joint, s, out=uniform, where=s > 0)


def _mlhw_plsa_m_step(counts, gamma):
    weighted = _mlhw_plsa_dense(counts)[:, :, None] * _mlhw_np.asarray(gamma, dtype=float)
    return _mlhw_plsa_rows(weighted.sum(axis=1)), _mlhw_plsa_rows(weighted.sum(axis=0).T)


def {_CALL}(lent, name, *args):
    namespace = globals()
    correct = {{"log_likelihood": _mlhw_plsa_log_likelihood, "e_step": _mlhw_plsa_e_step,
               "m_step": _mlhw_plsa_m_step}}
    used, saved = set(), {{}}

    def counted(own_name, function):
        def stand_in(*a, **k):
            used.add(own_name)
            return function(*a, **k)
        return stand_in

    for own_name in lent:
        own, stand_in = namespace.get(own_name), counted(own_name, correct[own_name])
        for key, value in list(namespace.items()):
            if key == own_name or (own is not None and value is own):
                saved.setdefault(key, value)
                namespace[key] = stand_in
    try:
        return namespace[name](*args), sorted(used)
    finally:
        namespace.update(saved)
'''


class _LentCall:
    """A notebook function called with the lent helpers in place (``.with_timeout`` too)."""

    def __init__(self, view: SandboxLendingView, name: str, timeout: float | None = None) -> None:
        self._view, self._name, self._timeout = view, name, timeout

    def __call__(self, *args: Any) -> Any:
        helper = self._view.student[_CALL]
        if self._timeout is not None:
            helper = helper.with_timeout(self._timeout)
        out, used = helper(list(self._view.lent), self._name, *args)
        self._view.used.extend(n for n in used if n not in self._view.used)
        return out

    def with_timeout(self, seconds: float) -> _LentCall:
        return _LentCall(self._view, self._name, seconds)


class SandboxLendingView:
    """``student`` with the helpers in ``lent`` replaced by correct ones inside the worker."""

    def __init__(self, student: StudentProxy, lent: Mapping[str, str]) -> None:
        self.student, self.lent, self.used = student, dict(lent), []
        student.load_helper(_CALL, _WORKER_CODE)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = self.student[name]
        return _LentCall(self, name) if callable(value) else value

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)


def graded_with_helpers_lent(student: Any, ref: Any, helpers: Mapping[str, str],
                             check: Callable[[Any], T], *, function: str = "your fit_plsa") -> T:
    """:func:`autograder.lending.graded_with_lent` with the wrong ones among ``helpers``
    (name -> question) lent inside the worker (`SandboxLendingView`)."""
    return graded_with_lent(
        student, ref, HelpersToLend(student, helpers, lambda name: not _agrees(student, ref, name)),
        check, function=function, view=lambda st, _ref, lendable: SandboxLendingView(st, lendable))
