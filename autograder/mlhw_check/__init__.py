"""mlhw_check: the public checks a student runs inside the notebook, ``check("q3")``.

Shipped in every student bundle as the package ``mlhw_check`` (this file, plus copies of
``autograder/checks/`` and ``autograder/errors.py``). ``public_tests.py`` next to the notebook
holds plain functions decorated with ``@question("q3")``; each takes a ``student`` object
that reads the notebook's globals (``student.chain_forward(...)``). ``check`` runs them and
prints one line per test; it never raises, and returns a ``CheckResult``.

Only the standard library is imported here; the checks library imports numpy and sympy, and
matplotlib is touched only if the notebook already imported it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # in the bundle: mlhw_check/errors.py
    from .errors import (
        BadReturn,
        CheckFailed,
        MissingName,
        NotAttempted,
        StudentError,
        StudentException,
    )
except ImportError:  # in the repository: autograder/mlhw_check beside autograder/errors.py
    from ..errors import (
        BadReturn,
        CheckFailed,
        MissingName,
        NotAttempted,
        StudentError,
        StudentException,
    )

__all__ = ["CheckResult", "Student", "TestOutcome", "check", "figure_data", "question"]

PUBLIC_TESTS = "public_tests.py"
PASS, FAIL, NOT_ATTEMPTED = "✓", "✗", "–"


def question(qid: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function of public_tests.py as a public test of question ``qid``."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.mlhw_question = str(qid)  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True)
class TestOutcome:
    """One public test: ``status`` is "passed", "failed", "not_attempted" or "error"."""

    name: str
    description: str
    status: str
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class CheckResult:
    question: str
    outcomes: tuple[TestOutcome, ...]
    text: str

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.status == "passed" for o in self.outcomes)

    @property
    def attempted(self) -> bool:
        return any(o.status != "not_attempted" for o in self.outcomes)

    def __repr__(self) -> str:
        done = sum(o.status == "passed" for o in self.outcomes)
        return f"<check {self.question}: {done}/{len(self.outcomes)} public tests passed>"

    def _ipython_display_(self) -> None:  # the lines are already printed
        pass


# --------------------------------------------------------------------------- the student
def figure_data(fig: Any) -> dict[str, Any]:
    """A matplotlib Figure as the plain data the checks read (as the grader sees it)."""
    import numpy as np

    def arr(data: Any) -> Any:
        try:
            return np.asarray(data, dtype=float)
        except (TypeError, ValueError):
            return np.asarray([str(v) for v in np.asarray(data, dtype=object).ravel()])

    contour = getattr(sys.modules.get("matplotlib.contour"), "ContourSet", ())
    axes = []
    for ax in fig.get_axes():
        collections = []
        for c in ax.collections:
            try:
                offsets = arr(c.get_offsets())
            except Exception:  # noqa: BLE001 - a collection without offsets
                offsets = None
            n = int(offsets.shape[0]) if offsets is not None and offsets.ndim else 0
            collections.append({"kind": type(c).__name__, "n_offsets": n, "offsets": offsets})
        legend = ax.get_legend()
        axes.append(
            {
                "xscale": ax.get_xscale(),
                "yscale": ax.get_yscale(),
                "title": ax.get_title(),
                "xlabel": ax.get_xlabel(),
                "ylabel": ax.get_ylabel(),
                "lines": [
                    {
                        "x": arr(ln.get_xdata()),
                        "y": arr(ln.get_ydata()),
                        "label": str(ln.get_label()),
                    }
                    for ln in ax.get_lines()
                ],
                "collections": collections,
                "n_contour_sets": sum(isinstance(c, contour) for c in ax.collections)
                if contour
                else 0,
                "n_images": len(ax.images),
                "n_patches": len(ax.patches),
                "legend_texts": []
                if legend is None
                else [t.get_text() for t in legend.get_texts()],
            }
        )
    return {"axes": axes}


def _plain(value: Any) -> Any:
    """Figures become figure data (and are closed, so Jupyter does not draw them here)."""
    fig_mod = sys.modules.get("matplotlib.figure")
    if fig_mod is not None and isinstance(value, fig_mod.Figure):
        data = figure_data(value)
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(value)
        return data
    if type(value) in (tuple, list):
        return type(value)(_plain(v) for v in value)
    return value


class _Function:
    """A student's function: NotImplementedError becomes NotAttempted, other exceptions
    StudentException, and returned figures become figure data."""

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self.name, self.fn = name, fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        before = _mutation().snapshot((list(args), dict(kwargs)))
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                value = self.fn(*args, **kwargs)
        except NotImplementedError as exc:
            stub = str(exc.args[0]) if exc.args and str(exc.args[0]).isidentifier() else self.name
            why = (
                f"{stub} still raises NotImplementedError"
                if stub == self.name
                else f"{self.name} calls {stub}, which still raises NotImplementedError"
            )
            raise NotAttempted(why) from None
        except Exception as exc:  # noqa: BLE001 - any error of the student's code
            line = _student_line(exc.__traceback__)
            raise StudentException(
                f"{self.name} raised {type(exc).__name__}: {exc}{line}",
                exc_type=type(exc).__name__,
                exc_message=str(exc),
            ) from None
        printed = out.getvalue().strip()
        if printed:
            raise CheckFailed(
                f"{self.name} printed {printed[:60]!r}: the grader fails a function that prints; "
                "return values instead (print outside the function to debug)"
            )
        changed = _changed(before, args, kwargs)
        if changed:
            raise CheckFailed(
                f"{self.name} changed its argument {changed} in place; copy it first "
                "(e.g. w = np.array(w0, dtype=float)) and return the new value"
            )
        where = _axes_in(value)
        if where is not None:
            # as the grader says it (protocol.py refuses an Axes the same way)
            raise BadReturn(f"`{self.name}` returned a matplotlib Axes{where}; "
                            "return the Figure (ax.figure)")
        return _plain(value)


def _axes_in(value: Any, where: str = "") -> str | None:
    """Where a matplotlib Axes sits in a returned value (" at [1]", or "" for the value
    itself), None if nowhere."""
    axes = getattr(sys.modules.get("matplotlib.axes"), "Axes", ())
    if axes and isinstance(value, axes):
        return f" at {where}" if where else ""
    if type(value) in (tuple, list):
        for i, item in enumerate(value):
            found = _axes_in(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def _mutation() -> Any:
    """The checks' mutation module (it imports numpy: loaded when a check first calls)."""
    try:  # in the bundle: mlhw_check/checks/
        from .checks import mutation
    except ImportError:  # in the repository: autograder/checks beside autograder/mlhw_check
        from ..checks import mutation
    return mutation


def _changed(before: tuple[list, dict], args: tuple, kwargs: dict) -> str | None:
    """Where a call changed its arguments ("2", "'w0'", "1['W1']"), None if nowhere."""
    mutation = _mutation()
    labelled = [(str(i + 1), b, a) for i, (b, a) in enumerate(zip(before[0], args))]
    labelled += [(repr(k), before[1].get(k), v) for k, v in kwargs.items()]
    for label, old, new in labelled:
        for path, _ in mutation.differences(old, new):
            return mutation.path_text(label, path)
    return None


def _student_line(tb: Any) -> str:
    """ " (line N of your code)" for the last frame outside libraries and this package."""
    last = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not any(part in name for part in ("site-packages", "mlhw_check", "/lib/python")):
            last = tb
        tb = tb.tb_next
    return f" (line {last.tb_lineno} of your code)" if last is not None else ""


class Student:
    """Attribute access to the notebook's globals, as the hidden suite's ``student``."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self._namespace = namespace

    def defines(self, name: str) -> bool:
        return name in self._namespace

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._namespace:
            raise MissingName(
                f"{name} is not defined: run the cell that defines it (and check its spelling)"
            )
        value = self._namespace[name]
        if value is Ellipsis:
            raise NotAttempted(f"{name} is still ...")
        if callable(value) and not isinstance(value, type):
            return _Function(name, value)
        return value

    __getitem__ = __getattr__


# --------------------------------------------------------------------------- running
def _load_tests(path: Path) -> list[Callable[..., Any]]:
    spec = importlib.util.spec_from_file_location("public_tests", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return [
        f
        for f in vars(module).values()
        if inspect.isfunction(f) and getattr(f, "mlhw_question", None)
    ]


def _question_order(qid: str) -> tuple[str, int, str]:
    """q2 before q10."""
    head = qid.rstrip("0123456789")
    digits = qid[len(head) :]
    return (head, int(digits) if digits else -1, qid)


def _describe(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn)
    return doc.strip().splitlines()[0] if doc else fn.__name__


def _run_one(qid: str, fn: Callable[..., Any], student: Student) -> TestOutcome:
    desc, started = _describe(fn), time.perf_counter()

    def done(status: str, message: str = "") -> TestOutcome:
        return TestOutcome(fn.__name__, desc, status, message, time.perf_counter() - started)

    try:
        fn(student)
    except NotAttempted as exc:
        return done("not_attempted", str(exc))
    except (CheckFailed, StudentError) as exc:
        return done("failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - the test tripped over an unexpected answer
        return done(
            "failed", f"{desc}: the check could not use your answer ({type(exc).__name__}: {exc})"
        )
    return done("passed")


def _line(qid: str, o: TestOutcome) -> str:
    if o.status == "passed":
        return f"{qid} {PASS} {o.description}"
    if o.status == "not_attempted":
        return f"{qid} {NOT_ATTEMPTED} not attempted ({o.message})"
    text = o.message.strip().replace("\n", "\n      ")
    return f"{qid} {FAIL} {text}"


def check(
    qid: str,
    *,
    namespace: Mapping[str, Any] | None = None,
    tests: str | Path | None = None,
    quiet: bool = False,
) -> CheckResult:
    """Run the public tests of question ``qid`` against the calling notebook's globals.

    Prints one line per test (✓, ✗ with the reason, or "not attempted"); never raises.
    ``namespace`` (default: the caller's globals) and ``tests`` (default: public_tests.py in
    the current folder) are for tests of this runner.
    """
    qid = str(qid)
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    path = Path(tests) if tests is not None else Path.cwd() / PUBLIC_TESTS
    outcomes: list[TestOutcome] = []
    lines: list[str] = []
    known: list[str] = []
    try:
        loaded = _load_tests(path)
        known = sorted({f.mlhw_question for f in loaded}, key=_question_order)
        selected = [f for f in loaded if f.mlhw_question == qid]
    except FileNotFoundError:
        selected = None
        lines.append(
            f"{qid} {FAIL} {PUBLIC_TESTS} was not found in {path.parent}: open the "
            "notebook from its own folder, next to public_tests.py and mlhw_check/"
        )
    except Exception as exc:  # noqa: BLE001 - check() never raises
        selected = None
        lines.append(
            f"{qid} {FAIL} {PUBLIC_TESTS} could not be loaded "
            f"({type(exc).__name__}: {exc}); download a fresh copy"
        )
    if selected == []:
        listed = ", ".join(known) if known else "none"
        lines.append(f"{qid}: no public tests for this question (public tests exist for {listed})")
    for fn in selected or []:
        outcome = _run_one(qid, fn, Student(ns))
        outcomes.append(outcome)
        line = _line(qid, outcome)
        if line not in lines:  # two tests not attempted for the same reason: say it once
            lines.append(line)
    text = "\n".join(lines)
    if not quiet:
        print(text)
    return CheckResult(qid, tuple(outcomes), text)
