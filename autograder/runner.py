"""Grade one submission: load it, start its worker, run the hidden pytest suite here.

The suite runs in this (trusted) process, in a pytest session (`SuiteSession`; a grading
process keeps it for its next submission) with the plugin below, which provides the fixtures
`student`, `ref` and `rng`, reads each test's `question` marker, and turns pytest's reports
into `TestResult`s. Only messages meant for students leave a test:
`CheckFailed` and `StudentError` texts; any other exception is an internal grader error whose
details go to the instructor's log, never the suite's source.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import secrets
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder import feedback, suites
from autograder.errors import CheckFailed, GraderError, NotAttempted, StudentError
from autograder.profile import Stopwatch, TestTiming, TimedModule
from autograder.proxy import CallRecord, StudentProxy
from autograder.results import Status, SubmissionResult, TestResult, WrittenAnswer, question_key
from autograder.sandbox import SandboxConfig
from autograder.submission import SubmissionError, load_submission
from autograder.submission.written import written_answers
from autograder.suite_session import SuiteSession
from autograder.suites import available_assignments, suite_dir  # noqa: F401 (re-exported)

# Marker visibility -> Gradescope's. A hidden test's inputs are never shown; its score and
# feedback reach the student once grades are published (so resubmitting cannot probe it).
_VISIBILITY = {"public": "visible", "visible": "visible", "hidden": "after_published",
               "after_published": "after_published", "after_due_date": "after_due_date",
               "never": "hidden"}


@dataclass
class GradeOptions:
    """Knobs of one grading run (the CLI's options)."""

    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    seed: int | None = None
    log: list[str] = field(default_factory=list)  # instructor-only details (tracebacks)
    force: bool = False  # grade a notebook that names another assignment all the same
    profile: list[TestTiming] | None = None  # filled with each test's timing when a list
    questions: frozenset[str] | None = None  # grade only these questions' tests (all: None)
    record_calls: list[tuple[str, tuple, dict]] | None = None  # the suite's calls, when a list
    keep_suite: bool = False  # keep the suite's pytest session for this process's next grading


def wrong_assignment(name: str, named: str, assignment: str) -> str:
    """The reason a notebook of another assignment is not graded against this one."""
    return (f"{name} is the notebook of {named}, not of {assignment} (its metadata says so); "
            f"submit the {assignment} notebook")


def grade_submission(path: str | Path, assignment: str, options: GradeOptions | None = None,
                     *, refused: str = "") -> SubmissionResult:
    """Grade the file at ``path`` against ``assignment``'s suite and return the result.

    With ``refused`` (why the file must not be read, e.g. a link out of a class folder) it
    is not opened: every test fails with that reason."""
    from autograder.worker import Worker

    options = options or GradeOptions()
    folder = suite_dir(assignment)
    seed = options.seed if options.seed is not None else secrets.randbits(48)
    started = time.perf_counter()
    messages: list[str] = []
    stdout = ""
    written: list[WrittenAnswer] = []
    try:
        if refused:
            raise SubmissionError(refused)
        submission = load_submission(path)
        if submission.assignment not in (None, assignment) and not options.force:
            raise SubmissionError(wrong_assignment(Path(path).name, submission.assignment,
                                                   assignment))
    except SubmissionError as exc:
        submission, broken = None, str(exc)
        messages.append(broken)
    worker = None
    isolation = ""
    try:
        if submission is not None:
            messages.extend(submission.notes)
            written, written_notes = written_answers(submission, assignment)
            messages.extend(written_notes)
            if submission.skipped:
                messages.append(f"{len(submission.skipped)} experiment cell(s) were not run while grading")
            worker = Worker(options.sandbox)
            isolation = worker.isolation
            report = worker.load(submission.sources(), submission.cell_names())
            messages.extend(cell.summary for cell in report.errors)
            stdout = getattr(report, "stdout", "") or ""
            student: Any = StudentProxy(worker, options.record_calls)
        else:
            student = _Unloadable(broken)
        plugin = _run_suite(folder, student, seed, options)
        if options.profile is not None:
            options.profile.extend(plugin.profile())
        figures = _figures(student)
    finally:
        if worker is not None:
            worker.close()
    if not plugin.results:
        raise GraderError(f"the suite of {assignment!r} collected no tests")
    return SubmissionResult(
        assignment=assignment,
        submission=str(path),
        tests=tuple(plugin.ordered_results()),
        execution_time=round(time.perf_counter() - started, 3),
        isolation=isolation or "not started (the submission could not be loaded)",
        seed=seed,
        messages=tuple(messages),
        written=tuple(written),
        stdout=stdout,
        figures=tuple(figures),
    )


def _figures(student: Any) -> list[dict[str, Any]]:
    """The figures the student's functions returned during the suite, as plain data for
    the feedback page."""
    from autograder.reporters.html import figures_of

    log = student.call_log if isinstance(student, StudentProxy) else []
    return figures_of(r.outcome.value for r in log if r.outcome is not None)


# pytest's built-in plugins a suite does not need. Each costs set-up per run, and two of them
# (unraisableexception, threadexception) run gc.collect several times per session: together
# about 0.1 s per submission, a third of the grading of a small one.
_UNUSED_PLUGINS = (
    "cacheprovider", "debugging", "unittest", "capture", "legacypath", "tmpdir", "recwarn",
    "pastebin", "junitxml", "doctest", "setuponly", "setupplan", "stepwise", "warnings",
    "unraisableexception", "threadexception", "logging", "faulthandler", "assertion",
    "subtests", "terminal",
)

# Each suite's pytest session kept open by this process (`GradeOptions.keep_suite`).
_KEPT: dict[Path, tuple[SuiteSession, GradingPlugin]] = {}


def _run_suite(folder: Path, student: Any, seed: int, options: GradeOptions) -> GradingPlugin:
    """Run ``folder``'s suite for one submission; returns the plugin holding its results."""
    hypothesis = _uses_hypothesis(folder)
    if hypothesis:  # set up before the suite is imported: `@given` reads the settings then
        _configure_hypothesis(seed)
    session, plugin = _KEPT.pop(folder, None) or _open_suite(folder, hypothesis)
    plugin.begin(student, seed, options.log)
    wanted = options.questions
    try:
        session.run(lambda item: wanted is None or _question_of(item) in wanted)
    finally:
        if options.keep_suite and not session.broken:
            _KEPT[folder] = (session, plugin)
        else:
            session.close()
    return plugin


def keep_suite_open(assignment: str) -> None:
    """Open ``assignment``'s suite session now and keep it for this process's gradings."""
    folder = suite_dir(assignment)
    if folder not in _KEPT:
        hypothesis = _uses_hypothesis(folder)
        if hypothesis:
            _configure_hypothesis(0)  # each grading sets its own seed
        _KEPT[folder] = _open_suite(folder, hypothesis)


def _open_suite(folder: Path, hypothesis: bool) -> tuple[SuiteSession, GradingPlugin]:
    args = [str(folder), "-c", str(suites.SUITES / "pytest.ini"), "--rootdir", str(suites.SUITES),
            "--import-mode=importlib"]
    if hypothesis:  # ~0.1 s to import, so loaded only for a suite that uses it
        args += ["-p", "_hypothesis_pytestplugin"]
    for name in _UNUSED_PLUGINS:
        args += ["-p", f"no:{name}"]
    plugin = GradingPlugin()
    session = SuiteSession(args, plugin, where=str(folder))
    if plugin.collect_errors:
        session.close()
        raise GraderError(f"the suite in {folder} could not run: {'; '.join(plugin.collect_errors)}")
    return session, plugin


class _Unloadable:
    """Stands in for a submission that could not be loaded: every access fails with why."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def __getattr__(self, name: str) -> Any:
        raise StudentError(f"not graded: {self._reason}")

    def __getitem__(self, name: str) -> Any:
        raise StudentError(f"not graded: {self._reason}")


def _question_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("question")
    return marker.args[0] if marker is not None and marker.args else None


class GradingPlugin:
    """pytest plugin: fixtures for suites and collection of per-test results.

    What it learns from collection (each test's question, points, title) stays for the
    session's life; `begin` starts one submission's grading (its student, seed, results)."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.collect_errors: list[str] = []
        self._meta: dict[str, tuple[str, float, str, str]] = {}
        self.begin(None, 0, [])

    def begin(self, student: Any, seed: int, log: list[str]) -> None:
        """Forget the last submission's results; the next tests grade ``student``."""
        self._student = student
        self.seed = seed
        self.log = log
        self.watch = Stopwatch()
        self.timings: dict[str, tuple[float, float, float]] = {}  # nodeid -> total, student, ref
        self.results: dict[str, TestResult] = {}

    # -- fixtures ---------------------------------------------------------------------------
    @pytest.fixture
    def student(self) -> Any:
        return self._student

    @pytest.fixture
    def ref(self, request: pytest.FixtureRequest) -> Any:
        return TimedModule(importlib.import_module(request.module.REFERENCE), self.watch)

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(request.node.name.encode())])

    # -- hooks ------------------------------------------------------------------------------
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {str(report.longrepr)[-1500:]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("question")
            if marker is None:
                self.collect_errors.append(f"{item.nodeid} has no @pytest.mark.question marker")
                continue
            question = marker.args[0]
            points = float(marker.kwargs.get("points", marker.args[1] if len(marker.args) > 1 else 1))
            visibility = _VISIBILITY[marker.kwargs.get("visibility", "hidden")]
            doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines()
            title = doc[0] if doc else item.name.removeprefix("test_").replace("_", " ")
            self._meta[item.nodeid] = (question, points, visibility, title)
            self.order.append(item.nodeid)
        items.sort(key=lambda it: question_key(self._meta.get(it.nodeid, ("zz",))[0]))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        meta = self._meta.get(report.nodeid)
        if meta is None or report.nodeid in self.results and report.when != "call":
            return
        if report.when == "call" or report.failed:
            self.results[report.nodeid] = self._result(report, *meta)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.mlhw_notes, item.mlhw_calls = [], []  # nothing of the last submission's run

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        log = self._student.call_log if isinstance(self._student, StudentProxy) else []
        start = len(log)
        item.mlhw_notes = feedback.start()
        self.watch.take()
        began = time.perf_counter()
        try:
            yield
        finally:
            feedback.stop()
        item.mlhw_calls = log[start:]
        student = sum(r.outcome.duration for r in item.mlhw_calls if r.outcome is not None)
        reference = self.watch.take()
        self.timings[item.nodeid] = (time.perf_counter() - began, student, reference)

    @pytest.hookimpl(specname="pytest_runtest_makereport", tryfirst=True)
    def pytest_runtest_makereport_fast(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        """Failure reports without pytest's source-annotated traceback (slow, and never shown)."""
        excinfo = call.excinfo
        if excinfo is None or isinstance(excinfo.value, (pytest.skip.Exception, KeyboardInterrupt)):
            return None
        # The full traceback is formatted only for an internal error (see _classify).
        longrepr = f"{type(excinfo.value).__name__}: {excinfo.value}"
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1),
                                 "failed", longrepr, call.when, duration=call.duration,
                                 start=call.start, stop=call.stop)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        report.mlhw_excinfo = call.excinfo  # read by _result
        report.mlhw_notes = item.mlhw_notes
        report.mlhw_calls = item.mlhw_calls
        if call.when == "call" and report.passed:
            problem = _hygiene_problem(item.mlhw_calls)
            if problem:
                report.outcome = "failed"
                report.mlhw_excinfo = None
                report.mlhw_message = problem

    def _result(self, report: pytest.TestReport, question: str, points: float,
                visibility: str, title: str) -> TestResult:
        status, score, output = Status.PASSED, points, "\n".join(getattr(report, "mlhw_notes", []))
        excinfo = getattr(report, "mlhw_excinfo", None)
        if getattr(report, "mlhw_message", None):
            score, status, output = 0.0, Status.FAILED, report.mlhw_message
        elif report.failed and excinfo is not None:
            score = 0.0
            status, output = self._classify(excinfo.value, report)
        elif report.skipped:
            score, status, output = 0.0, Status.FAILED, "skipped"
        return TestResult(
            name=f"{question}: {title}",
            number="",
            question=question,
            score=score,
            max_score=points,
            status=status,
            output=output,
            visibility=visibility,
            duration=round(report.duration, 3),
            student_seconds=round(self.timings.get(report.nodeid, (0.0, 0.0))[1], 4),
        )

    def _classify(self, exc: BaseException, report: pytest.TestReport) -> tuple[Status, str]:
        if isinstance(exc, NotAttempted):
            return Status.NOT_ATTEMPTED, str(exc)
        if isinstance(exc, StudentError):
            return Status.ERROR, str(exc)
        if isinstance(exc, CheckFailed):
            return Status.FAILED, str(exc)
        if isinstance(exc, AssertionError):
            return Status.FAILED, (str(exc).split("\nassert")[0].strip() or "check failed")
        unusable = _unusable_return(exc, getattr(report, "mlhw_calls", []))
        if unusable:
            return Status.FAILED, unusable
        self.log.append(f"{report.nodeid}:\n{''.join(traceback.format_exception(exc))}")
        return Status.GRADER_ERROR, (
            f"internal grader error in this test ({type(exc).__name__}); "
            "please tell the course staff"
        )

    def profile(self) -> list[TestTiming]:
        """Each test's time split into the student's calls, the reference and the engine."""
        return [TestTiming(result.number, result.name, *self.timings.get(nodeid, (0.0, 0.0, 0.0)))
                for nodeid, result in zip(self._ordered_ids(), self.ordered_results())]

    def _ordered_ids(self) -> list[str]:
        return sorted(self.results,
                      key=lambda n: (question_key(self._meta[n][0]), self.order.index(n)))

    def ordered_results(self) -> list[TestResult]:
        """Results sorted by question, numbered ``q2.1, q2.2, ...``."""
        ids = self._ordered_ids()
        counters: dict[str, int] = {}
        out = []
        for nodeid in ids:
            result = self.results[nodeid]
            counters[result.question] = counters.get(result.question, 0) + 1
            out.append(_renumber(result, f"{result.question}.{counters[result.question]}"))
        return out


@functools.lru_cache
def _uses_hypothesis(folder: Path) -> bool:
    """Whether a suite's files mention hypothesis (read once per process, not per student)."""
    return any("hypothesis" in path.read_text() for path in folder.rglob("*.py"))


def _configure_hypothesis(seed: int) -> None:
    """Hypothesis in a suite: reproducible from the run's seed, no example database, and its
    cache in the user's cache folder rather than a `.hypothesis` folder where mlhw runs."""
    from hypothesis import HealthCheck, core, settings
    from hypothesis.configuration import set_hypothesis_home_dir

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    set_hypothesis_home_dir(cache / "mlhw" / "hypothesis")

    settings.register_profile(
        "mlhw-grading", database=None, deadline=None, max_examples=25, print_blob=False,
        derandomize=False,  # hypothesis derandomizes by default when it sees CI=true
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    settings.load_profile("mlhw-grading")
    core.global_force_seed = seed


# What Python says when a value cannot be unpacked, indexed or measured: after a student's
# call, the value it returned was of the wrong kind (None, a scalar, too few items).
_SHAPE_ERRORS = re.compile(
    r"cannot unpack|values to unpack|not subscriptable|not iterable|has no len\(\)|"
    r"index out of range|too many indices|only integers, slices")


def _unusable_return(exc: BaseException, calls: list[CallRecord]) -> str | None:
    """A message for the student when the suite could not use what a function returned (a
    return of the wrong kind is the student's wrong answer, not a grader error)."""
    returned = [r for r in calls if r.outcome is not None]
    if not returned or not isinstance(exc, (TypeError, ValueError, IndexError)):
        return None
    if not _SHAPE_ERRORS.search(str(exc)):
        return None
    from autograder.checks import describe_value

    last = returned[-1]
    return (f"`{last.name}` returned {describe_value(last.outcome.value)}, which is not what "
            f"the question asks for (the grader could not use it: {type(exc).__name__}: "
            f"{str(exc)[:120]}); check what the function must return")


def _hygiene_problem(calls: list[CallRecord]) -> str | None:
    """The contract says a function never prints and never changes its inputs in place."""
    for record in calls:
        if record.changed:
            return (f"`{record.name}` changed its input {', '.join(record.changed)} in place; "
                    "functions must not modify their arguments (work on a copy)")
        if record.printed:
            shown = (record.stdout or record.stderr).strip().splitlines()[:1] or [""]
            return (f"`{record.name}` printed output ({shown[0][:80]!r}...); functions must not "
                    "print — remove the print statements")
    return None


def _renumber(result: TestResult, number: str) -> TestResult:
    from dataclasses import replace

    return replace(result, number=number)

