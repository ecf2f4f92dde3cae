"""Fair grades: a mistake in one question's function is not charged again where it is called.

A question that calls another question's function (a training loop calling the gradient, a
fit calling the log-likelihood) is first graded on the student's own code. Only when that
fails is it graded again with the other questions' functions *lent* from the reference: in
the worker, every global name bound to the student's helper (its own name and any alias) is
rebound, for that one call, to a stand-in that calls back to the grader's reference. If the
question then passes, it keeps its points and its output says where the mistake is::

    def test_q4_trains(student, ref):
        graded_with_lent(student, ref, {"chain_backward": "q2"},
                         lambda s: _check_training(s, ref))

A stand-in answers only during the call it was lent for, so a notebook cannot keep it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from autograder.errors import (
    BadReturn,
    CheckFailed,
    NotAttempted,
    StudentCrashed,
    StudentException,
    StudentTimeout,
)
from autograder.feedback import note
from autograder.proxy import StudentProxy

__all__ = ["HelpersToLend", "LendingView", "graded_with_lent", "stubs_as_failures"]

T = TypeVar("T")

_HELPER_NAME = "_mlhw_call_with_lent"
_HELPER = f'''
def {_HELPER_NAME}(lent, name, *args, **kwargs):
    namespace = globals()
    saved = {{}}
    for own_name, stand_in in lent.items():
        own = namespace.get(own_name)
        for key, value in list(namespace.items()):
            if key == own_name or (own is not None and value is own):
                saved.setdefault(key, value)
                namespace[key] = stand_in
    try:
        return namespace[name](*args, **kwargs)
    finally:
        namespace.update(saved)
'''


class _LentFunction:
    """A student function called with some of the notebook's names lent from the reference."""

    def __init__(self, view: LendingView, name: str, timeout: float | None = None) -> None:
        self._view, self.name, self.timeout = view, name, timeout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        helper = self._view.student[_HELPER_NAME]
        if self.timeout is not None:
            helper = helper.with_timeout(self.timeout)
        return helper(self._view.stand_ins, self.name, *args, **kwargs)

    def with_timeout(self, seconds: float) -> _LentFunction:
        return _LentFunction(self._view, self.name, seconds)


class LendingView:
    """``student`` as a suite sees it, but with the functions in ``lent`` taken from ``ref``.

    ``view.train_chain(...)`` runs the student's ``train_chain`` in the worker; each call it
    makes to a lent name goes to the reference instead. ``view.used`` lists the lent names
    that were called.
    """

    def __init__(self, student: StudentProxy, ref: Any, lent: Mapping[str, str]) -> None:
        self.student = student
        self.used: list[str] = []
        self.stand_ins = {name: self._counted(name, getattr(ref, name)) for name in lent}
        student.load_helper(_HELPER_NAME, _HELPER)

    def _counted(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def stand_in(*args: Any, **kwargs: Any) -> Any:
            if name not in self.used:
                self.used.append(name)
            return function(*args, **kwargs)

        stand_in.__name__ = name
        # the reference's own parameters: keywords it names are accepted, others refused
        # before it runs (worker/callbacks.py binds them to this signature)
        stand_in.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
        return stand_in

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = self.student[name]
        return _LentFunction(self, name) if callable(value) else value

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)


class HelpersToLend(Mapping[str, str]):
    """name -> question of the helpers to lend, worked out on first use (which
    `graded_with_lent` makes only after the notebook's own code has failed): those of
    ``helpers`` the notebook defines and ``wrong(name)`` (a suite's probe) finds wrong, so the
    note names the question where the mistake is; or all the defined ones when none is (the
    graded code may rely on one at inputs the probe does not cover)."""

    def __init__(self, student: Any, helpers: Mapping[str, str],
                 wrong: Callable[[str], bool]) -> None:
        self._student, self._helpers, self._wrong = student, dict(helpers), wrong
        self._lend: dict[str, str] | None = None
        self.wrong: dict[str, str] = {}

    def find_wrong(self, defined: dict[str, str]) -> dict[str, str]:
        """The wrong ones among ``defined`` (a suite may refine this)."""
        return {n: q for n, q in defined.items() if self._wrong(n)}

    def _found(self) -> dict[str, str]:
        if self._lend is None:
            defined = {n: q for n, q in self._helpers.items() if self._student.defines(n)}
            self.wrong = self.find_wrong(defined)
            self._lend = self.wrong or defined
        return self._lend

    def any_wrong(self) -> bool:
        self._found()
        return bool(self.wrong)

    def __getitem__(self, name: str) -> str:
        return self._found()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._found())

    def __len__(self) -> int:
        return len(self._found())


def stubs_as_failures(check: Callable[[Any], T], helpers: Iterable[str]) -> Callable[[Any], T]:
    """``check`` with a helper that is still a stub (the NotImplementedError of one of
    ``helpers``, other questions' functions) reported as a failure, so that `graded_with_lent`
    lends it; the graded function's own stub stays "not attempted"."""
    names = list(helpers)

    def wrapped(s: Any) -> T:
        try:
            return check(s)
        except NotAttempted as exc:
            if any(f"NotImplementedError: {name})" in str(exc)
                   or f"NotImplementedError({name!r})" in str(exc)
                   or f'NotImplementedError("{name}")' in str(exc) for name in names):
                raise CheckFailed(str(exc)) from None
            raise

    return wrapped


# Failures that kill or stop the worker: a second run repeats them unless a helper is to blame.
HARD_FAILURES = (StudentTimeout, StudentCrashed, BadReturn)


def graded_with_lent(student: Any, ref: Any, lend: Mapping[str, str],
                     check: Callable[[Any], T], *, function: str = "your code",
                     retry_hard_failures: Callable[[], bool] | None = None,
                     view: Callable[[StudentProxy, Any, dict[str, str]], Any] | None = None
                     ) -> T:
    """``check(student)``; after a failed check or an exception in the student's code, the
    same check with the functions named in ``lend`` (name -> the question that grades it)
    lent from ``ref``. If that passes, the test passes with a note naming the question
    where the points are lost; otherwise the student's own failure is reported.

    A timeout, a crash or a broken reply is retried only when ``retry_hard_failures()`` says
    so — by default when ``lend`` is a `HelpersToLend` whose probe found a wrong helper (a
    loop waiting on a wrong ``converges`` never ends; a helper that kills the worker kills
    its callers) — since otherwise a second run would only repeat it. ``view(student, ref, lendable)`` makes
    the lending view (default `LendingView`; it must list the names it lent in ``used``).
    """
    try:
        return check(student)
    except (AssertionError, StudentException, *HARD_FAILURES) as own_failure:
        retry = retry_hard_failures or (lend.any_wrong if isinstance(lend, HelpersToLend) else None)
        if isinstance(own_failure, HARD_FAILURES) and not (retry and retry()):
            raise
        if not isinstance(student, StudentProxy):
            raise
        lendable = {name: q for name, q in lend.items() if student.defines(name)}
        if not lendable:
            raise
        lending = (view or LendingView)(student, ref, lendable)
        try:
            value = check(lending)
        except Exception:
            raise own_failure from None
        used = lending.used or list(lendable)
        names = " and ".join(f"`{n}`" for n in used)
        questions = sorted({lendable[n] for n in used})
        note(f"{function} is right when given a correct {names}: the loss of points is in "
             f"{' and '.join(questions)}, where {'that is' if len(used) == 1 else 'those are'} "
             "graded")
        return value
