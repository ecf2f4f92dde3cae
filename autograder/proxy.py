"""What suites see as ``student``: the student's names, called and read through the worker.

``student.e_step(alpha, beta)`` calls the student's function in the sandbox and returns the
decoded value (grader-side callables among the arguments become callbacks automatically);
``student.sigma_sq`` returns a module-level value. Every call is logged with its output and
whether it changed its inputs, so a suite can check that a function never prints and never
modifies its arguments::

    gamma = student.e_step(alpha, beta)
    assert not student.last_call.printed
    assert not student.last_call.changed, student.last_call.changed
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autograder.checks.describe import describe_call, describe_value
from autograder.checks.mutation import differences, path_text
from autograder.errors import BadReturn, MissingName, NotAttempted, StudentError, StudentTimeout
from autograder.worker import CALLABLE, CallOutcome, Worker

__all__ = ["CallRecord", "RemoteFunction", "StudentProxy", "changed_paths", "describe_value"]


@dataclass
class CallRecord:
    """One call made through the proxy: what was called and what came of it."""

    name: str
    signature: str
    outcome: CallOutcome | None = None
    error: StudentError | None = None
    changed: tuple[str, ...] = field(default_factory=tuple)

    @property
    def stdout(self) -> str:
        if self.outcome is not None:
            return self.outcome.stdout
        return str(getattr(self.error, "stdout", ""))

    @property
    def stderr(self) -> str:
        if self.outcome is not None:
            return self.outcome.stderr
        return str(getattr(self.error, "stderr", ""))

    @property
    def printed(self) -> bool:
        """True if the call wrote anything to stdout or stderr."""
        return bool(self.stdout or self.stderr)


class RemoteFunction:
    """A student function living in the worker; calling it returns the decoded value."""

    def __init__(self, proxy: StudentProxy, name: str, timeout: float | None = None) -> None:
        self._proxy = proxy
        self.name = name
        self.timeout = timeout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.outcome(*args, **kwargs).value

    def outcome(self, *args: Any, **kwargs: Any) -> CallOutcome:
        """Call and return the full `CallOutcome` (value, stdout, arguments after the call)."""
        return self._proxy._call(self.name, args, kwargs, self.timeout)

    def each(self, calls: Sequence[tuple]) -> list:
        """``[self(*args) for args in calls]`` in one round trip, with the time the calls
        would have had one by one; the first error is raised as this function's own."""
        return self._proxy._call_each(self.name, list(calls), self.timeout)

    def with_timeout(self, seconds: float) -> RemoteFunction:
        """The same function with a different wall-clock limit per call."""
        return RemoteFunction(self._proxy, self.name, seconds)

    def __repr__(self) -> str:
        return f"<student function {self.name}>"


class StudentProxy:
    """The student's notebook as seen by a suite.

    Parameters
    ----------
    worker : Worker
        The worker holding the loaded submission.

    Attributes
    ----------
    call_log : list of CallRecord
        Every call made through this proxy, in order.
    """

    MAX_TIMEOUTS = 2
    """A function that timed out this often is not called again (each timeout costs a restart)."""

    def __init__(self, worker: Worker, record: list[tuple[str, tuple, dict]] | None = None
                 ) -> None:
        self.worker = worker
        self.call_log: list[CallRecord] = []
        self._timeouts: dict[str, int] = {}
        self._record = record  # (name, args, kwargs) of each call, copied, when a list
        # Names known to be functions: looked up once, then called without a round trip (a
        # function the student rebinds to a value later fails its next call with "not a
        # function", as looking it up again would have shown).
        self._functions: set[str] = set()
        self._helpers: set[str] = set()  # grader code loaded into the worker, by name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # keep copy/pickle/pytest introspection local
        return self[name]

    def __getitem__(self, name: str) -> Any:
        """``student["name"]``: like attribute access, for any name (e.g. ``call_log``)."""
        if name in self._functions:
            return RemoteFunction(self, name)
        value = self.worker.get(name)
        if value is ... or (type(value) is tuple and ... in value):
            raise NotAttempted(f"`{name}` is still `...`: not attempted")
        if value is CALLABLE:
            self._functions.add(name)
            return RemoteFunction(self, name)
        return value

    def defines(self, name: str) -> bool:
        """True if the notebook defines ``name`` (whatever its value)."""
        try:
            self.worker.get(name)
        except MissingName:
            return False
        except StudentError:
            return True
        return True

    def load_helper(self, name: str, source: str) -> None:
        """Define the grader's function ``name`` (its ``source``) in the worker, once per
        grading: it stays there, as the notebook's cells do, if the worker restarts."""
        if name not in self._helpers:
            if not self.defines(name):
                self.worker.load([source], ["grading helper"])
            self._helpers.add(name)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``student.call("f", x)`` is ``student.f(x)`` without a lookup round trip."""
        return self._call(name, args, kwargs, None).value

    @property
    def last_call(self) -> CallRecord:
        if not self.call_log:
            raise LookupError("no student function has been called yet")
        return self.call_log[-1]

    @property
    def isolation(self) -> str:
        return self.worker.isolation

    def _call(self, name: str, args: tuple, kwargs: dict, timeout: float | None, *,
              each: bool = False) -> CallOutcome:
        """Call ``name`` (with ``each``: once per argument tuple in ``args[0]``, through the
        `_EACH` helper, the arguments not sent back)."""
        record = CallRecord(name, describe_call(name, args, kwargs) if not each
                            else f"{name} at {len(args[0])} arguments")
        self.call_log.append(record)
        if self._record is not None:  # each call of an `each` on its own
            for a, k in ([(c, {}) for c in args[0]] if each else [(args, kwargs)]):
                self._record.append((name, copy.deepcopy(a), copy.deepcopy(k)))
        strikes = self._timeouts.get(name, 0)
        if strikes >= self.MAX_TIMEOUTS:
            record.error = StudentTimeout(
                f"`{name}` did not return in time on {strikes} earlier calls, so it is not "
                "called again in this grading run")
            raise record.error
        try:
            outcome = (self.worker.call(_EACH, (name, *args), kwargs, timeout=timeout,
                                        return_args=False, shown_as=name) if each
                       else self.worker.call(name, args, kwargs, timeout=timeout))
        except StudentError as e:
            record.error = e
            if isinstance(e, StudentTimeout):
                self._timeouts[name] = strikes + 1
            raise
        record.outcome = outcome
        if not outcome.args_unchanged:
            if outcome.args_after is None:
                record.changed = ("the arguments (they could not be sent back: "
                                  f"{outcome.args_note})",)
            else:
                record.changed = changed_paths(args, kwargs, outcome.args_after,
                                               outcome.kwargs_after or {})
        return outcome

    def _call_each(self, name: str, calls: list[tuple], timeout: float | None) -> list:
        self.load_helper(_EACH, _EACH_SOURCE)
        limit = (timeout or self.worker.config.call_timeout) * max(1, len(calls))
        values = self._call(name, (calls,), {}, limit, each=True).value
        if type(values) is not list or len(values) != len(calls):
            raise BadReturn(f"`{name}` called {len(calls)} times did not give {len(calls)} values")
        return values

    def __repr__(self) -> str:
        return f"<student notebook in a worker ({self.worker.isolation})>"


# Calls of one student function in one round trip (finite differences of a student's loss).
_EACH = "_mlhw_call_each"
_EACH_SOURCE = f'''
def {_EACH}(name, calls):
    function = globals()[name]
    return [function(*args) for args in calls]
'''


# ------------------------------------------------------------------------- comparisons


def changed_paths(args: tuple, kwargs: dict, args_after: tuple, kwargs_after: dict
                  ) -> tuple[str, ...]:
    """Where the arguments after a call differ from those passed (Generators excepted: a
    function is expected to draw from its ``rng``).

    Returns
    -------
    tuple of str
        E.g. ``("argument 1['W1']", "keyword `lr`")``; empty if nothing changed.
    """
    out: list[str] = []
    for i, (a, b) in enumerate(zip(args, args_after)):
        out += [path_text(f"argument {i + 1}", path) for path, _ in differences(a, b)]
    if len(args) != len(args_after):
        out.append("the number of arguments")
    for k, a in kwargs.items():
        if k not in kwargs_after:
            out.append(f"keyword `{k}`")
        else:
            where = f"keyword `{k}`"
            out += [path_text(where, path) for path, _ in differences(a, kwargs_after[k])]
    return tuple(out)
