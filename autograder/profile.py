"""Where grading time goes, per test: the student's calls in the worker, the reference, and
the engine (everything else: comparisons, checks, set-up). `mlhw grade --profile` prints it.

The reference's share is measured by handing suites a timed view of the reference module
(time a lent reference function spends inside a student's call counts in both shares; the
engine's share is what is left, never below zero).
"""

from __future__ import annotations

import functools
import time
import types
from dataclasses import dataclass
from typing import Any


@dataclass
class TestTiming:
    """Seconds of one test: in all, in the student's calls, in the reference."""

    __test__ = False  # not a pytest test class

    number: str
    name: str
    total: float
    student: float
    reference: float

    @property
    def engine(self) -> float:
        return max(0.0, self.total - self.student - self.reference)


class Stopwatch:
    """Seconds spent in the reference since the last `take`."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


class TimedModule:
    """A module whose plain functions add their run time to a `Stopwatch`."""

    def __init__(self, module: types.ModuleType, watch: Stopwatch) -> None:
        self._module, self._watch = module, watch

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not isinstance(value, types.FunctionType):
            return value
        watch = self._watch

        @functools.wraps(value)  # keeps the signature a lent stand-in shows the student
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                watch.seconds += time.perf_counter() - start

        return timed


def profile_table(timings: list[TestTiming]) -> str:
    """A plain-text table of the timings, with totals and the engine's share."""
    lines = [f"{'test':<8} {'total s':>8} {'student':>8} {'reference':>9} {'engine':>7}  name"]
    for t in timings:
        lines.append(f"{t.number:<8} {t.total:8.3f} {t.student:8.3f} {t.reference:9.3f} "
                     f"{t.engine:7.3f}  {t.name[:60]}")
    total = sum(t.total for t in timings) or 1e-9
    student = sum(t.student for t in timings)
    reference = sum(t.reference for t in timings)
    engine = sum(t.engine for t in timings)
    lines.append(f"{'all':<8} {total:8.3f} {student:8.3f} {reference:9.3f} {engine:7.3f}  "
                 f"(student {student / total:.0%}, reference {reference / total:.0%}, "
                 f"engine {engine / total:.0%} of the suite's time)")
    return "\n".join(lines)
