"""Fair grades for gd_mnist: `autograder.lending.graded_with_lent`, with two additions.

- Stand-ins that accept keyword arguments. The engine's stand-in for a lent function takes
  positional arguments only, so a notebook calling
  ``train_one_sample(x, label, weights, biases, learning_rate=lr)`` — the natural call — would
  get a TypeError from the lent function and lose the points lending is there to keep. Here
  each stand-in carries the reference function's signature (``functools.wraps``): the worker
  binds the notebook's keyword arguments to it and the reference gets them by name.
- A timeout is retried with the helpers lent when one of them is wrong: a loop such as
  ``while norm(w) > tol`` never ends when the ``converges`` it relies on says yes to a
  diverging step, so the mistake in ``converges`` would cost ``steps_to_tolerance`` too.

Which helpers are lent is worked out by `HelpersToLend` only when the notebook's own code
has failed: the ones a probe finds wrong (so the note names the right question), or all of
them when none is. Everything else is the engine's: the same view, the same retry rule and
the same note.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from autograder.errors import StudentException, StudentTimeout
from autograder.feedback import note
from autograder.lending import LendingView
from autograder.proxy import StudentProxy

T = TypeVar("T")


class KeywordLendingView(LendingView):
    """A `LendingView` whose stand-ins take the reference function's keyword arguments."""

    def _counted(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def stand_in(*args: Any, **kwargs: Any) -> Any:
            if name not in self.used:
                self.used.append(name)
            return function(*args, **kwargs)

        stand_in.__name__ = name
        return stand_in


class HelpersToLend(Mapping[str, str]):
    """name -> question of the helpers to lend, worked out on first use.

    ``helpers`` maps each helper the graded function may call to its question; ``wrong(name)``
    says whether the notebook's version is wrong (it is called at most once per name, and only
    for names the notebook defines). The wrong ones are lent, or all of them when none is wrong
    (the graded code may rely on one at inputs the probe does not cover).
    """

    def __init__(
        self, student: Any, helpers: Mapping[str, str], wrong: Callable[[str], bool]
    ) -> None:
        self._student, self._helpers, self._wrong = student, dict(helpers), wrong
        self._lend: dict[str, str] | None = None
        self.wrong: list[str] = []

    def _found(self) -> dict[str, str]:
        if self._lend is None:
            defined = {n: q for n, q in self._helpers.items() if self._student.defines(n)}
            self.wrong = [n for n in defined if self._wrong(n)]
            self._lend = {n: defined[n] for n in self.wrong} or defined
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


def graded_with_lent(
    student: Any,
    ref: Any,
    lend: Mapping[str, str],
    check: Callable[[Any], T],
    *,
    function: str = "your code",
    retry_timeouts: Callable[[], bool] | None = None,
) -> T:
    """``check(student)``; after a failed check or an exception in the student's code (or a
    timeout, when ``retry_timeouts()`` says so), the same check with the functions in ``lend``
    (name -> the question grading it) lent from ``ref``; if that passes, the test passes with
    a note naming the question where the points are lost."""
    try:
        return check(student)
    except (AssertionError, StudentException, StudentTimeout) as own_failure:
        if isinstance(own_failure, StudentTimeout) and (
            retry_timeouts is None or not retry_timeouts()
        ):
            raise
        if not isinstance(student, StudentProxy):
            raise
        lendable = {name: q for name, q in lend.items() if student.defines(name)}
        if not lendable:
            raise
        view = KeywordLendingView(student, ref, lendable)
        try:
            value = check(view)
        except Exception:
            raise own_failure from None
        used = view.used or list(lendable)
        names = " and ".join(f"`{n}`" for n in used)
        questions = sorted({lendable[n] for n in used})
        note(
            f"{function} is right when given a correct {names}: the loss of points is in "
            f"{' and '.join(questions)}, where {'that is' if len(used) == 1 else 'those are'} "
            "graded"
        )
        return value
