"""The grader-side Worker and StudentProxy: loading, calls, errors, limits and restarts."""

from __future__ import annotations

import time

import numpy as np
import pytest

from autograder.checks import alongside
from autograder.errors import (
    BadReturn,
    MissingName,
    NotAttempted,
    StudentCrashed,
    StudentError,
    StudentException,
    StudentTimeout,
)
from autograder.proxy import StudentProxy
from autograder.sandbox import SandboxConfig
from autograder.sandboxed.protocol import FigureData, SymbolicText
from autograder.worker import CALLABLE, Worker

CONFIG = SandboxConfig(call_timeout=2.0, load_timeout=5.0)

STUDENT = '''
import os, sys, signal
import numpy as np

def double(x):
    return 2 * x

def chatty(x):
    print("computing", x.shape)
    print("a warning", file=sys.stderr)
    return x.sum()

def naive_sigmoid(x):
    import warnings
    warnings.warn("a library deprecation", DeprecationWarning)
    return 1.0 / (1.0 + np.exp(-x))  # overflows (RuntimeWarning) for x = -1000

def mutate(params):
    params["W1"] += 1.0
    return None

def stub(x):
    raise NotImplementedError

def broken(x):
    return helper(x)

def helper(x):
    return x["missing"]

def apply_phi(phi, U):
    return phi(U) + 1.0

def nested(phi, x):
    return phi(x) * 10

def twice(phi, x):
    return phi(phi(x))

def from_thread(phi):
    import threading
    out = []
    t = threading.Thread(target=lambda: out.append(_try(phi)))
    t.start()
    t.join()
    return out[0]

def _try(phi):
    try:
        phi(1)
        return "called"
    except RuntimeError as e:
        return str(e)

def catch_phi(phi):
    try:
        phi(0)
    except ValueError as e:
        return "caught: " + str(e)

def draw(rng, n):
    return rng.normal(size=n)

def draw_and_center(rng, x):
    x -= x.mean()
    return rng.normal()

class MyArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

def rigged():
    return np.zeros(3).view(MyArray)

def returns_set():
    return {1, 2}

def stubborn_loop():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass

def hard_exit():
    os._exit(0)

def soft_exit():
    sys.exit(0)

def hog_memory():
    return np.ones(30 * 10**9 // 8).sum()

def flood():
    sys.stdout.write("x" * 200_000_000)
    sys.stdout.flush()
    return "done"

def patch_everything():
    import builtins
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    np.save = None
    np.lib.format.write_array = None
    builtins.isinstance = lambda *a: True
    builtins.len = lambda x: 0
    return np.arange(4.0)

def forge_reply():
    import fcntl, stat
    for fd in range(3, 256):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_WRONLY:
                os.write(fd, b"\\xff\\xff\\xff\\x7f" + b"{" * 100)
        except OSError:
            pass
    return 1

def big():
    return np.zeros(2 * 2**20 // 8)

answer = np.float64(0.5)
name = "student"

def rebinds_itself():
    global rebinds_itself
    rebinds_itself = 7
    return "first"

_kept = None

def keep(f):
    global _kept
    _kept = f
    return f(1)

def use_kept():
    return _kept(2)
'''


@pytest.fixture(scope="module")
def worker():
    with Worker(CONFIG) as w:
        report = w.load([STUDENT])
        assert report.ok, report
        yield w


@pytest.fixture
def student(worker):
    return StudentProxy(worker)


def test_call_returns_the_value_and_what_was_printed(student):
    out = student.chatty.outcome(np.ones((2, 3)))
    assert out.value == 6.0
    assert out.stdout == "computing (2, 3)\n" and out.stderr == "a warning\n"
    assert student.last_call.printed
    assert student.double(np.arange(3)).tolist() == [0, 2, 4]
    assert not student.last_call.printed and student.last_call.changed == ()


def test_warnings_are_not_printing(student):
    value = student.naive_sigmoid(np.array([-1000.0, 0.0]))
    assert value.tolist() == [0.0, 0.5]
    assert not student.last_call.printed, student.last_call.stderr


def test_get_returns_values_and_marks_functions(worker, student):
    assert worker.get("double") is CALLABLE
    assert student.answer == 0.5 and type(student.answer) is float
    assert student.name == "student"


def test_a_function_is_looked_up_once(worker, student, monkeypatch):
    lookups = []
    get = worker.get
    monkeypatch.setattr(worker, "get", lambda name: lookups.append(name) or get(name))
    assert [student.double(2), student.double(3), student["double"](4)] == [4, 6, 8]
    assert lookups == ["double"]
    assert student.answer == 0.5 and student.answer == 0.5  # values are read every time
    assert lookups == ["double", "answer", "answer"]


def test_a_function_rebound_to_a_value_fails_its_next_call(student):
    assert student.rebinds_itself() == "first"
    with pytest.raises(MissingName, match="`rebinds_itself` in your notebook is a int, not a function"):
        student.rebinds_itself()


def test_mutation_of_inputs_is_reported(student):
    params = {"W1": np.zeros(2), "b1": np.zeros(1)}
    student.mutate(params)
    assert student.last_call.changed == ("argument 1['W1']",)
    assert np.array_equal(params["W1"], np.zeros(2))  # the grader's copy is untouched


def test_not_implemented_is_not_attempted(student):
    with pytest.raises(NotAttempted, match="`stub` is not attempted"):
        student.stub(1)


def test_missing_name_says_what_is_missing(student):
    with pytest.raises(MissingName, match="does not define `chain_forward`"):
        student.chain_forward(1)
    assert not student.defines("chain_forward") and student.defines("double")


def test_student_exception_shows_only_the_students_traceback(student):
    with pytest.raises(StudentException) as info:
        student.broken({"a": 1})
    e = info.value
    assert e.exc_type == "KeyError" and "'missing'" in e.exc_message
    line = STUDENT.splitlines().index('    return x["missing"]') + 1
    assert f'<cell 1>", line {line}, in helper' in e.traceback
    assert 'return x["missing"]' in e.traceback
    for internal in ("worker_main", "/opt/mlhw", "autograder", "protocol"):
        assert internal not in str(e)


def test_each_calls_a_function_at_many_arguments_in_one_round_trip(worker, student, monkeypatch):
    ops = []
    request = worker._request
    monkeypatch.setattr(worker, "_request", lambda msg, *a: ops.append(msg["op"]) or request(msg, *a))
    values = student.double.each([(1,), (np.arange(3),), (2.5,)])
    assert values[0] == 2 and values[1].tolist() == [0, 2, 4] and values[2] == 5.0
    assert student.last_call.name == "double" and student.last_call.changed == ()
    ops.clear()
    assert student.double.each([(4,), (5,)]) == [8, 10]
    assert ops == ["call"]  # the helper is loaded once per grading
    recording = StudentProxy(worker, record := [])
    recording.double.each([(6,), (7,)])
    assert record == [("double", (6,), {}), ("double", (7,), {})]  # as two calls


def test_each_reports_an_error_as_the_functions_own(student):
    with pytest.raises(StudentException, match="^`broken` raised KeyError") as info:
        student.broken.each([({"missing": 1},), ({"a": 1},)])
    assert "_mlhw" not in str(info.value).splitlines()[0]
    with pytest.raises(StudentTimeout, match="`stubborn_loop` did not return within 0.6 s"):
        student.stubborn_loop.with_timeout(0.3).each([(), ()])  # the time of two calls
    assert student.double.each([(1,)]) == [2]


def test_callbacks_run_in_the_grader(student):
    seen = []

    def phi(u):
        seen.append(u.copy())
        return u ** 2

    assert np.array_equal(student.apply_phi(phi, np.array([1.0, 2.0])), [2.0, 5.0])
    assert len(seen) == 1 and np.array_equal(seen[0], [1.0, 2.0])


def test_nested_callbacks_can_call_the_student_again(student):
    def phi(x):
        return student.double(x) + 1  # a call into the worker while it waits for us

    assert student.nested(phi, 3) == 70


def test_nested_callbacks_with_large_arrays(student):
    x = np.arange(2**20, dtype=float)  # 8 MB each way, more than a pipe holds

    def phi(v):
        return student.double(v)

    assert np.array_equal(student.twice(phi, x), 4 * x)
    assert [r.name for r in student.call_log[-3:]] == ["twice", "double", "double"]  # by start


def test_callbacks_only_from_the_main_thread(student):
    assert "main thread" in student.from_thread(lambda v: v)


def test_a_grader_function_kept_after_its_call_is_refused_later(student):
    assert student.keep(lambda x: 10 * x) == 10
    with pytest.raises(BadReturn, match="unknown grader function"):
        student.use_kept()
    assert student.double(4) == 8  # restarted; the rest still works


def test_callback_errors_reach_the_student_as_exceptions(student):
    def phi(u):
        raise ValueError("bad shape")

    assert student.catch_phi(phi) == "caught: bad shape"


def test_generators_round_trip_with_identical_draws(student):
    rng = np.random.default_rng(42)
    remote = student.draw(rng, 5)
    assert np.array_equal(remote, np.random.default_rng(42).normal(size=5))
    assert student.last_call.changed == ()  # advancing the rng is not a mutation
    # ... so the worker does not send the arguments back for it (a training set beside it)
    assert student.last_call.outcome.args_unchanged


def test_a_mutation_beside_a_generator_is_still_reported(student):
    student.draw_and_center(np.random.default_rng(1), np.arange(4.0))
    assert student.last_call.changed == ("argument 2",)


def test_ndarray_subclass_with_rigged_eq_is_refused(student):
    with pytest.raises(BadReturn, match="MyArray \\(a numpy.ndarray subclass\\)"):
        student.rigged()


def test_non_data_return_names_the_type(student):
    with pytest.raises(BadReturn, match="returned a set"):
        student.returns_set()


def test_sys_exit_inside_a_call_is_an_exception(student):
    with pytest.raises(StudentException, match="sys.exit\\(0\\)"):
        student.soft_exit()
    assert student.double(2) == 4


def test_os_exit_inside_a_call_crashes_and_the_next_call_restarts(worker, student):
    restarts = worker.restarts
    with pytest.raises(StudentCrashed, match="os._exit\\(0\\)"):
        student.hard_exit()
    assert student.double(21) == 42  # restarted transparently, cells re-run
    assert worker.restarts == restarts + 1


def test_crashes_inside_alongside_leave_a_working_worker(worker, student):
    """Workers restarted while a reference runs beside the call must outlive the helper
    thread (bubblewrap's --die-with-parent follows the thread that started the sandbox)."""
    for _ in range(3):
        with pytest.raises(StudentCrashed):
            alongside(student.hard_exit, lambda: sum(range(10**6)))
        time.sleep(0.2)  # a sandbox killed with its thread would be dead by now
        value, reference = alongside(lambda: student.double(21), lambda: 2 * 21)
        assert value == reference == 42
    assert student.answer == 0.5


def test_infinite_loop_ignoring_signals_is_killed_at_the_timeout(student):
    t0 = time.monotonic()
    with pytest.raises(StudentTimeout, match="`stubborn_loop` did not return within 2 s"):
        student.stubborn_loop()
    assert time.monotonic() - t0 < 4
    assert student.double(1) == 2


def test_memory_bomb_fails_cleanly(student):
    with pytest.raises(StudentCrashed, match="ran out of memory \\(limit 2 GiB\\)") as info:
        student.hog_memory()
    assert info.value.kind == "memory"
    assert student.double(1) == 2


def test_printing_200_mb_is_capped_and_does_not_block(student):
    t0 = time.monotonic()
    out = student.flood.with_timeout(30).outcome()
    assert out.value == "done"
    assert len(out.stdout) < CONFIG.output_cap + 100
    assert out.stdout.endswith(f"[... {200_000_000 - CONFIG.output_cap} bytes dropped]")
    assert time.monotonic() - t0 < 20


def test_monkeypatching_inside_the_worker_cannot_reach_the_grader(worker, student):
    value = student.patch_everything()
    assert type(value) is np.ndarray and np.array_equal(value, np.arange(4.0))
    assert not np.allclose(np.zeros(1), np.ones(1))
    assert not np.array_equal(np.zeros(1), np.ones(1))
    assert np.array_equal(student.double(np.ones(2)), [2.0, 2.0])
    worker.reset()  # give later tests an unpatched worker


def test_forged_frames_are_treated_as_misbehaviour(worker, student):
    with pytest.raises(BadReturn, match="malformed message"):
        student.forge_reply()
    assert student.double(3) == 6


def test_oversize_replies_are_refused():
    with Worker(SandboxConfig(max_frame_bytes=2**20 + 4096)) as w:
        w.load([STUDENT])
        with pytest.raises(BadReturn, match="limit"):
            w.call("big")


def test_submission_budget_is_enforced_and_then_fails_fast():
    with Worker(SandboxConfig(call_timeout=5, submission_timeout=1.5)) as w:
        w.load(["def spin():\n    while True:\n        pass\n", "def f():\n    return 1\n"])
        with pytest.raises(StudentTimeout, match="used up its 1.5 s time budget"):
            w.call("spin")
        t0 = time.monotonic()
        with pytest.raises(StudentTimeout, match="time budget"):
            w.call("f")
        assert time.monotonic() - t0 < 0.5


def test_load_records_errors_and_skips_cells_that_kill_the_worker():
    cells = [
        "x = 1",
        "raise ValueError('bad cell')",
        "import os\nos._exit(0)",
        "import sys\nsys.exit(0)",
        "def f(:\n    pass",
        "raise KeyboardInterrupt",
        "y = x + 1",
    ]
    with Worker(CONFIG) as w:
        report = w.load(cells)
        status = [c.status for c in report.cells]
        assert status == ["ok", "error", "crashed", "error", "error", "error", "ok"]
        assert report.cells[1].message == "bad cell" and "<cell 2>" in report.cells[1].traceback
        assert "os._exit(0)" in report.cells[2].message
        assert "sys.exit(0)" in report.cells[3].message
        assert report.cells[4].error_type == "SyntaxError"
        assert report.cells[5].error_type == "KeyboardInterrupt"
        assert w.get("y") == 2


def test_cells_carry_the_names_students_know_them_by():
    with Worker(CONFIG) as w:
        report = w.load(["x = 1", "def f():\n    return 1 / 0\nf()"], names=["prelude", "cell 7"])
        bad = report.cells[1]
        assert (bad.name, bad.status, bad.error_type) == ("cell 7", "error", "ZeroDivisionError")
        assert bad.summary == "cell 7 raised ZeroDivisionError: division by zero"
        assert 'File "<cell 7>", line 2, in f' in bad.traceback
        with pytest.raises(ValueError, match="2 cells but 1 names"):
            w.load(["a", "b"], names=["x"])


def test_a_hanging_cell_is_skipped_after_the_load_timeout():
    with Worker(SandboxConfig(load_timeout=1.0)) as w:
        report = w.load(["a = 1", "while True:\n    pass", "b = a + 1"])
        assert [c.status for c in report.cells] == ["ok", "timeout", "ok"]
        assert "did not return within 1 s" in report.cells[1].message
        assert w.get("b") == 2


def test_load_output_is_captured_and_capped():
    with Worker(SandboxConfig(output_cap=100)) as w:
        report = w.load(["print('hello')", "print('y' * 1000)"])
        assert report.stdout.startswith("hello\ny")
        assert report.stdout.endswith("bytes dropped]")


@pytest.mark.slow
def test_sympy_and_figures_arrive_as_plain_data():
    cells = [
        "import sympy as sp\nn = sp.Symbol('n')\nsigma_sq = 2 / n\n",
        "import matplotlib.pyplot as plt\n"
        "def plot(ll):\n    fig, ax = plt.subplots()\n    ax.plot(ll)\n    ax.set_yscale('log')\n"
        "    return fig\n",
    ]
    with Worker(CONFIG) as w:
        assert w.load(cells).ok
        assert w.get("sigma_sq") == SymbolicText("2/n")
        fig = w.call("plot", ([3.0, 2.0, 1.0],), timeout=10).value
        assert isinstance(fig, FigureData)
        assert fig.axes[0].yscale == "log" and np.array_equal(fig.axes[0].lines[0].y, [3, 2, 1])


def test_reduced_isolation_is_reported_and_still_works():
    with Worker(SandboxConfig(isolation="reduced")) as w:
        assert w.isolation.startswith("reduced: bubblewrap disabled by configuration")
        assert w.load(["def f(x):\n    return x + 1\n"]).ok
        assert w.call("f", (1,)).value == 2
        assert w.load(["import os\nos._exit(1)"]).cells[0].status == "crashed"
        assert w.call("f", (2,)).value == 3


def test_errors_are_student_errors_with_kinds():
    kinds = {NotAttempted: "not_attempted", MissingName: "missing",
             StudentException: "exception", StudentTimeout: "timeout",
             StudentCrashed: "crashed", BadReturn: "bad_return"}
    for cls, kind in kinds.items():
        assert issubclass(cls, StudentError) and cls("m").kind == kind
    assert StudentCrashed("m", kind="memory").kind == "memory"


def test_close_kills_the_worker():
    w = Worker(CONFIG)
    w.load(["x = 1"])
    pid = w._proc.proc.pid
    w.close()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="closed"):
        w.get("x")


@pytest.mark.slow
def test_large_arguments_fit_in_the_workers_memory():
    # 300 MB in a 1 GiB worker: the request is freed once decoded and mutation is detected
    # from fingerprints, so no third copy is made.
    big = np.ones(300 * 2**20 // 8)
    with Worker(SandboxConfig(memory_bytes=2**30, call_timeout=30)) as w:
        w.load(["def total(x):\n    return float(x.sum())\n"
                "def bump(x):\n    x[0] += 1\n    return 0\n"])
        outcome = w.call("total", (big,))
        assert outcome.value == big.size and outcome.args_unchanged
        outcome = w.call("bump", (big,))
        assert not outcome.args_unchanged and outcome.args_after is None
        assert "too large" in outcome.args_note


def test_a_forked_grader_does_not_kill_its_parents_worker():
    import gc
    import os

    with Worker(CONFIG) as w:
        w.load(["def f():\n    return 7\n"])
        pid = os.fork()
        if pid == 0:  # the child drops its copy of the Worker, as a multiprocessing child may
            try:
                w.close()
                gc.collect()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert w.call("f").value == 7


def test_a_missing_name_names_the_cell_that_failed_and_its_line():
    with Worker(CONFIG) as worker:
        worker.load(["import math", "def chain_forward(x):\n    return x +\n"])
        with pytest.raises(MissingName) as info:
            StudentProxy(worker).chain_forward(1)
    message = str(info.value)
    assert message.startswith("your notebook does not define `chain_forward`, perhaps because")
    assert "cell 2 raised SyntaxError: invalid syntax (<cell 2>, line 2)" in message


KEEPER = '''
import gc, os
import numpy as np

def total_and_scribble(X):
    total = float(X.sum())
    X[:] = 0.0  # changes its input: reported, and not seen by the next call
    return total

def crash():
    os._exit(3)

def forget_kept():
    for d in gc.get_objects():  # the worker's module globals
        if type(d) is dict and "_KEPT" in d:
            d["_KEPT"].clear()
'''


def _sent_bytes(worker, monkeypatch):
    sent = []
    request = type(worker._ensure_process()).request
    monkeypatch.setattr(type(worker._proc), "request", lambda self, msg, blobs, *a, **k: (
        msg["op"] == "call" and sent.append(sum(memoryview(b).nbytes for b in blobs)),
        request(self, msg, blobs, *a, **k))[1])
    return sent


def test_a_read_only_input_crosses_once_and_each_call_gets_it_pristine(monkeypatch):
    X = np.arange(300_000, dtype=float)  # 2.4 MB
    X.flags.writeable = False
    with Worker(CONFIG) as worker:
        worker.load([KEEPER])
        sent = _sent_bytes(worker, monkeypatch)
        student = StudentProxy(worker)
        for _ in range(3):
            assert student.total_and_scribble(X) == X.sum()
            assert student.last_call.changed == ("argument 1",)
        assert sent[0] > X.nbytes and sent[1:] == [0, 0]  # bytes of each call's request
        with pytest.raises(StudentCrashed):
            student.crash()
        assert student.total_and_scribble(X) == X.sum()  # a new process: sent again
        assert sent[-1] > X.nbytes


def test_a_notebook_that_removes_the_kept_inputs_fails_its_own_call():
    X = np.ones(300_000)
    X.flags.writeable = False
    with Worker(CONFIG) as worker:
        worker.load([KEEPER])
        student = StudentProxy(worker)
        assert student.total_and_scribble(X) == X.size
        student.forget_kept()
        with pytest.raises(BadReturn, match="inputs the grader gave `total_and_scribble` earlier"):
            student.total_and_scribble(X)
