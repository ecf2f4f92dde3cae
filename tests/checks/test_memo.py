"""The per-process memory of repeated work: what makes a key, what is copied, what is kept."""

import numpy as np
import pytest
import sympy

from autograder.checks import assert_equivalent, memo
from autograder.errors import CheckFailed
from autograder.sandboxed.protocol import SymbolicText


@pytest.fixture(autouse=True)
def _fresh_memory():
    memo.forget()
    yield
    memo.forget()


def test_plain_key_tells_values_apart_by_type_bytes_and_shape():
    a = np.arange(6.0)
    assert memo.plain_key(a) == memo.plain_key(a.copy())
    assert memo.plain_key(a) != memo.plain_key(a.reshape(2, 3))
    assert memo.plain_key(a) != memo.plain_key(a.astype(np.float32))
    b = a.copy()
    b[3] = np.nextafter(b[3], 10)
    assert memo.plain_key(a) != memo.plain_key(b)
    assert memo.plain_key(1) != memo.plain_key(1.0) != memo.plain_key(True)
    assert memo.plain_key((1, "x")) != memo.plain_key([1, "x"])
    assert memo.plain_key({"a": 1, "b": 2}) == memo.plain_key({"b": 2, "a": 1})
    assert memo.plain_key(sympy.Symbol("x", positive=True)) != memo.plain_key(sympy.Symbol("x"))
    assert memo.plain_key(SymbolicText("1/4")) != memo.plain_key("1/4")
    assert memo.plain_key(SymbolicText("1/4")) == memo.plain_key(SymbolicText("1/4"))


@pytest.mark.parametrize("value", [np.random.default_rng(0), lambda: 1, object(),
                                   np.array([object()]), (1, [2, {"k": print}])])
def test_anything_but_plain_data_makes_no_key(value):
    assert memo.plain_key(value) is None


def test_reference_once_computes_once_and_hands_out_copies():
    calls = []

    def train(w, iters):
        calls.append(1)
        return w * 2.0, [float(iters)]

    w = np.ones(3)
    first = memo.reference_once(train, w, 5)
    first[0][:] = -1.0  # a suite that modifies what it got
    second = memo.reference_once(train, w.copy(), 5)
    assert len(calls) == 1
    np.testing.assert_array_equal(second[0], 2.0 * np.ones(3))
    memo.reference_once(train, w, 6)
    assert len(calls) == 2


def test_reference_once_recomputes_for_inputs_that_cannot_be_keyed():
    calls = []

    def draw(rng):
        calls.append(1)
        return rng.random()

    rng = np.random.default_rng(1)
    assert memo.reference_once(draw, rng) != memo.reference_once(draw, rng)
    assert len(calls) == 2


def test_verdict_once_keeps_only_verdicts_not_timeouts_or_crashes():
    outcomes = iter([None, ("error", "died"), ("ok", "message"), ("ok", "other")])
    judge = lambda: next(outcomes)  # noqa: E731
    assert memo.verdict_once("k", ("answer",), judge) is None
    assert memo.verdict_once("k", ("answer",), judge) == ("error", "died")
    assert memo.verdict_once("k", ("answer",), judge) == ("ok", "message")
    assert memo.verdict_once("k", ("answer",), judge) == ("ok", "message")  # remembered


def test_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(memo, "MAX_ENTRIES", 3)
    for i in range(10):
        memo.reference_once(lambda i: i, i)
    assert len(memo._memory) == 3
    monkeypatch.setattr(memo, "MAX_VALUE_BYTES", 100)
    memo.reference_once(lambda n: np.zeros(n), 1000)
    assert len(memo._memory) == 3  # too large to keep


def test_a_remembered_symbolic_verdict_is_the_same_verdict():
    x = sympy.Symbol("x")
    for _ in range(2):  # the second time from memory
        assert_equivalent("2*x", "x + x", {"x": x})
        with pytest.raises(CheckFailed, match="not equivalent"):
            assert_equivalent("x**2", "x + x", {"x": x})
    assert len(memo._memory) == 2
