"""The worker's parts on their own: output capture, the spare pool, the process-wide
bubblewrap fallback."""

import os

import pytest

from autograder.sandbox import SandboxConfig
from autograder.worker import pool, records
from autograder.worker.transport import Capture


def test_capture_keeps_the_head_and_counts_the_rest() -> None:
    cap = Capture(5)
    cap.add(b"abc")
    cap.add(b"defgh")
    assert cap.text() == "abcde\n[... 3 bytes dropped]"


def test_capture_of_the_tail_keeps_the_last_bytes() -> None:
    cap = Capture(4, keep="tail")
    cap.add(b"abcdef")
    assert cap.text() == "[... 2 bytes dropped]\ncdef"


def test_callable_marker_is_one_object() -> None:
    assert records._CallableMarker() is records.CALLABLE
    assert repr(records.CALLABLE) == "CALLABLE"


def test_cell_report_summary_names_the_cell() -> None:
    report = records.CellReport(6, "error", "ValueError", "bad shape", name="cell 7")
    assert report.summary == "cell 7 raised ValueError: bad shape"
    assert report.cell == 6
    load = records.LoadReport((report, records.CellReport(7, "ok", name="cell 8")), "", "", 0.0)
    assert not load.ok and load.errors == (report,)


class _FakeProcess:
    def __init__(self, alive: bool = True) -> None:
        self.is_alive, self.closed = alive, False

    def alive(self) -> bool:
        return self.is_alive

    def close(self) -> None:
        self.closed = True


def test_spare_pool_hands_out_a_live_spare_once() -> None:
    spares = pool.SparePool()
    spare = _FakeProcess()
    spares.refill(("k",), lambda: spare)
    spares.refill(("k",), lambda: pytest.fail("a second spare for the same key"))
    assert spares.take(("k",)) is spare
    assert spares.take(("k",)) is None


def test_spare_pool_drops_a_dead_spare() -> None:
    spares = pool.SparePool()
    dead = _FakeProcess(alive=False)
    spares.refill(("k",), lambda: dead)
    assert spares.take(("k",)) is None and dead.closed


def test_spare_pool_of_a_forked_process_starts_empty() -> None:
    spares = pool.SparePool()
    spares.refill(("k",), _FakeProcess)
    spares.pid = os.getpid() + 1  # as if this process were a fork of the one that filled it
    assert spares.take(("k",)) is None


def test_auto_isolation_falls_back_once_bubblewrap_failed(monkeypatch) -> None:
    monkeypatch.setattr(pool, "_bwrap_broken", None)
    monkeypatch.setattr(pool, "choose_isolation", lambda config: (True, "bubblewrap"))
    limits = pool.limits_text(SandboxConfig())
    assert pool.isolation_for(SandboxConfig()) == (True, f"bubblewrap; {limits}")
    text = pool.mark_bwrap_broken("bwrap: setting up uid map: Permission denied\n", SandboxConfig())
    assert text.startswith("reduced:") and "Permission denied" in text
    assert pool.isolation_for(SandboxConfig()) == (False, text)
    assert pool.isolation_for(SandboxConfig(isolation="bubblewrap")) == (True, f"bubblewrap; {limits}")
