"""A pytest session over one hidden suite, configured and collected once and run again for
each submission.

`pytest.main` configures pytest and imports and collects the suite on every call: ~13 ms of
a grading process's CPU per student, a sixth of the engine's share of a small suite. A
grading process keeps one `SuiteSession` per suite and runs the same collected tests for
each student (pytest supports running an item again: it renews the item's fixture request,
as pytest-rerunfailures does). Every fixture is torn down after each student's last test,
so nothing of one student's grading reaches the next.

It drives pytest's session the way `pytest.main` does (`_pytest.main.wrap_session`), which
needs three of pytest's internal entry points: `_prepareconfig`, `Config._do_configure` and
`Config._ensure_unconfigure` (pytest 8 and 9).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _pytest.config import _prepareconfig

from autograder.errors import GraderError


class SuiteSession:
    """One suite collected once; `run` runs its tests (those ``wanted`` keeps) in order."""

    def __init__(self, args: list[str], plugin: Any, *, where: str) -> None:
        self.where = where
        self.broken = False
        with _quiet(), _no_plugin_autoload():
            try:
                self._config = _prepareconfig(args, plugins=[plugin])
            except pytest.UsageError as exc:
                raise GraderError(f"the suite in {where} could not run: {exc}") from exc
            self._session = pytest.Session.from_config(self._config)
            self._config._do_configure()
            try:
                self._config.hook.pytest_sessionstart(session=self._session)
                self._config.hook.pytest_collection(session=self._session)
            except BaseException:
                self.close()
                raise
        self.items: list[pytest.Item] = list(self._session.items)

    def run(self, wanted: Callable[[pytest.Item], bool]) -> None:
        """Run the tests that ``wanted`` keeps, each fixture torn down after the last one.

        Anything but a test's own failure (which pytest reports) is the grader's fault and
        leaves the session unusable (``broken``)."""
        items = [item for item in self.items if wanted(item)]
        hook = self._config.hook
        try:
            with _quiet():
                for index, item in enumerate(items):
                    following = items[index + 1] if index + 1 < len(items) else None
                    hook.pytest_runtest_protocol(item=item, nextitem=following)
        except Exception as exc:
            self.broken = True
            raise GraderError(f"the suite in {self.where} could not run: "
                              f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self.broken = True
            raise

    def close(self) -> None:
        """End the session as pytest would (finish hooks, unconfigure)."""
        with _quiet(), contextlib.suppress(Exception):
            self._config.hook.pytest_sessionfinish(session=self._session,
                                                   exitstatus=pytest.ExitCode.OK)
        with _quiet(), contextlib.suppress(Exception):
            self._config._ensure_unconfigure()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pytest's own output (its terminal plugin is off; warnings, a stray print) is dropped."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


@contextlib.contextmanager
def _no_plugin_autoload() -> Iterator[None]:
    """Load no third-party pytest plugins by entry point: scanning them costs ~0.5 s, and a
    suite must not depend on whatever else is installed."""
    old = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = old
