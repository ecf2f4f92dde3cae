"""Known-mistake diagnosis: name the mistake a wrong answer matches, in plain words.

A suite computes, with the reference, the answer a student making a known mistake would
give (``Mistake.transform``), and asks ``assert_close_or_diagnose`` to compare. Simple
relations (a constant factor, the transpose, the opposite sign) need no transform:
``ratio_diagnosis`` recognises them in any pair of arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CheckFailed
from .arrays import mismatch
from .describe import with_call


@dataclass(frozen=True)
class Mistake:
    """A known mistake: ``transform`` computes the answer it leads to, ``message`` names it."""

    name: str
    message: str
    transform: Callable[..., Any] | None = None

    def value(self, *args: Any, **kwargs: Any) -> Any:
        """The answer a student making this mistake would give for these inputs."""
        if self.transform is None:
            raise ValueError(f"mistake {self.name!r} has no transform to compute its answer")
        return self.transform(*args, **kwargs)


def diagnose(
    actual: Any,
    candidates: Sequence[tuple[Mistake, Any]],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> Mistake | None:
    """The first mistake whose predicted answer matches ``actual``, or None."""
    for mistake, predicted in candidates:
        if predicted is None:
            continue
        try:
            if mismatch(actual, predicted, rtol=rtol, atol=atol) is None:
                return mistake
        except TypeError:  # a prediction of a type the comparison does not know
            continue
    return None


def ratio_diagnosis(
    actual: Any, expected: Any, *, rtol: float = 1e-6, m: int | None = None
) -> str | None:
    """Plain words for a simple relation between two arrays, or None.

    Recognises the transpose, the opposite sign and a constant factor; the phrase completes
    "your result ...", e.g. "is off by a constant factor of 5 (mean vs sum, or a
    missing/extra normalisation such as 1/m?)". Needs at least two
    non-zero expected entries for a factor, so that a factor means something. ``m``, the
    number of examples a loss averages over, names a factor of m or 1/m as the 1/m (with
    m = 2 it would otherwise read as a 1/2).
    """
    try:
        a = np.asarray(actual, dtype=float)
        e = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return None
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))) or e.size == 0:
        return None
    symmetric = e.ndim == 2 and e.shape[0] == e.shape[1] and _close(e.T, e, rtol)
    if a.ndim == 2 and a.shape == e.shape[::-1] and not symmetric and _close(a.T, e, rtol):
        return "is transposed (you returned the transpose of the expected array)"
    if a.shape != e.shape or not np.any(e):
        return None
    if _close(-a, e, rtol):
        return "has the wrong sign (it is the negative of the expected values)"
    if np.count_nonzero(e) < 2:
        return None
    factor = float(np.dot(a.ravel(), e.ravel()) / np.dot(e.ravel(), e.ravel()))
    if factor == 0 or _close(factor, 1.0, 1e-9) or not _close(a, factor * e, rtol):
        return None
    return f"is off by a constant factor of {factor:.6g}{_factor_hint(factor, m)}"


def _factor_hint(factor: float, m: int | None = None) -> str:
    if m is not None and m > 1:
        for scale in (float(m), 1.0 / m):
            if abs(factor - scale) < 1e-6 * scale:
                return f" (a missing or extra 1/m? here m = {m})"
    for half in (2.0, 0.5):
        if abs(factor - half) < 1e-6 * half:
            return " (a missing or extra 1/2?)"
    if factor < 0:
        return " (a sign and a scale: check both)"
    return " (mean vs sum, or a missing/extra normalisation such as 1/m?)"


def _close(a: Any, b: Any, rtol: float) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * scale * 1e-3))


def assert_close_or_diagnose(
    actual: Any,
    expected: Any,
    mistakes: Sequence[tuple[Mistake, Any]] | Callable[[], Sequence[tuple[Mistake, Any]]] = (),
    *,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    name: str = "result",
    called: str | None = None,
    allow_float32: bool = True,
    allow_list: bool = False,
    diagnose_rtol: float | None = None,
    relations: bool = True,
) -> None:
    """Like ``assert_close``, but a failure starts with the diagnosis when one matches.

    ``mistakes`` pairs each known mistake with the value it predicts for this call (or is a
    function returning those pairs, called only on a failure: predicting a mistake often
    costs a run of the reference); the first one matching ``actual`` (within
    ``diagnose_rtol``, default ``max(rtol, 1e-6)``) leads the message. Otherwise, with
    ``relations``, a constant factor, transpose or sign flip is named.
    """
    problem = mismatch(
        actual,
        expected,
        rtol=rtol,
        atol=atol,
        name=name,
        allow_float32=allow_float32,
        allow_list=allow_list,
    )
    if problem is None:
        return
    d_rtol = diagnose_rtol if diagnose_rtol is not None else max(rtol, 1e-6)
    candidates = mistakes() if callable(mistakes) else mistakes
    found = diagnose(actual, candidates, rtol=d_rtol, atol=max(atol, 1e-9))
    lead = found.message if found is not None else None
    if lead is None and relations:
        relation = _relation(actual, expected)
        lead = f"your {name} {relation}" if relation else None
    message = with_call(problem, called)
    raise CheckFailed(f"{lead}\n{message}" if lead else message)


def _relation(actual: Any, expected: Any) -> str | None:
    if isinstance(expected, np.ndarray) and isinstance(actual, np.ndarray):
        return ratio_diagnosis(actual, expected)
    return None
