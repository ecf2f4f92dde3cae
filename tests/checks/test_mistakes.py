"""Known-mistake diagnosis: the matching mistake leads the message, correct answers pass."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.checks import Mistake, assert_close_or_diagnose, diagnose, ratio_diagnosis
from autograder.errors import CheckFailed


def chain_backward(
    u: np.ndarray,
    h: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    scale_m: bool = True,
    dtanh_of_u: bool = False,
) -> np.ndarray:
    """Reference g for the deep chain, or a mistaken variant."""
    l, m = u.shape
    dt = (lambda k: 1 - u[k] ** 2) if dtanh_of_u else (lambda k: 1 - np.tanh(u[k]) ** 2)
    g = np.empty_like(u)
    g[-1] = dt(l - 1) * (h[-1] - y) / (m if scale_m else 1)
    for k in range(l - 1, 0, -1):
        g[k - 1] = dt(k - 1) * g[k] * w[k]
    return g


FORGOT_M = Mistake(
    "forgot_1_over_m",
    "your g_l is m times too large: did you forget the 1/m?",
    lambda *a: chain_backward(*a, scale_m=False),
)
DTANH_OF_U = Mistake(
    "dtanh_u",
    "you used 1 - u² for tanh'(u); it is 1 - tanh(u)²",
    lambda *a: chain_backward(*a, dtanh_of_u=True),
)


def _inputs(seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    l, m = 6, 5
    w = rng.uniform(0.5, 1.5, l)
    h = np.empty((l + 1, m))
    u = np.empty((l, m))
    h[0] = rng.normal(size=m)
    for k in range(l):
        u[k] = h[k] * w[k]
        h[k + 1] = np.tanh(u[k])
    return u, h, rng.normal(size=m), w


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_each_mistake_is_diagnosed_and_the_truth_passes(seed: int) -> None:
    args = _inputs(seed)
    expected = chain_backward(*args)
    candidates = [(m, m.value(*args)) for m in (FORGOT_M, DTANH_OF_U)]
    assert_close_or_diagnose(expected.copy(), expected, candidates)
    for mistake, wrong in candidates:
        assert diagnose(wrong, candidates) is mistake
        with pytest.raises(CheckFailed) as info:
            assert_close_or_diagnose(wrong, expected, candidates, name="g")
        message = str(info.value)
        assert message.startswith(mistake.message)
        assert "g does not match the expected values" in message


def test_an_unknown_mistake_falls_back_to_relations_then_to_the_plain_summary() -> None:
    expected = np.arange(1.0, 7.0).reshape(2, 3)
    with pytest.raises(
        CheckFailed, match=r"^your g is off by a constant factor of 5 \(mean vs sum"
    ):
        assert_close_or_diagnose(5 * expected, expected, [], name="g")
    with pytest.raises(CheckFailed, match=r"^g does not match"):
        assert_close_or_diagnose(expected + np.eye(2, 3), expected, [], name="g")


@given(
    hnp.arrays(np.float64, (3, 4), elements=st.floats(0.1, 10)),
    st.floats(-20, 20).filter(lambda c: abs(c) > 0.01 and abs(c - 1) > 1e-3),
)
def test_ratio_diagnosis_recognises_factors_signs_and_transposes(e: np.ndarray, c: float) -> None:
    text = ratio_diagnosis(c * e, e) or ""
    if abs(c + 1) < 1e-9:
        assert "wrong sign" in text
    else:
        assert "off by a constant factor" in text
    assert "transposed" in (ratio_diagnosis(e.T, e) or "")
    assert ratio_diagnosis(e, e) is None


def test_ratio_diagnosis_says_nothing_for_unrelated_arrays() -> None:
    e = np.array([1.0, 2.0, 3.0])
    assert ratio_diagnosis(np.array([3.0, 1.0, 2.0]), e) is None
    assert ratio_diagnosis(np.array([1.0, np.nan, 3.0]), e) is None
    assert "1/2" in (ratio_diagnosis(e / 2, e) or "")


def test_a_mistake_without_transform_cannot_compute_a_value() -> None:
    with pytest.raises(ValueError, match="no transform"):
        Mistake("x", "y").value(1)


def test_a_factor_of_m_is_named_as_the_1_over_m() -> None:
    e = np.array([1.0, -2.0, 3.0])
    assert ratio_diagnosis(2 * e, e, m=2).endswith("(a missing or extra 1/m? here m = 2)")
    assert ratio_diagnosis(e / 5, e, m=5).endswith("(a missing or extra 1/m? here m = 5)")
    assert ratio_diagnosis(2 * e, e, m=3).endswith("(a missing or extra 1/2?)")


def test_mistakes_given_as_a_function_are_predicted_only_for_a_failing_answer():
    asked = []

    def mistakes():
        asked.append(1)
        return [(Mistake("twice", "your answer is twice the expected one"), 2 * np.arange(3.0))]

    assert_close_or_diagnose(np.arange(3.0), np.arange(3.0), mistakes)
    assert asked == []
    with pytest.raises(CheckFailed, match="twice the expected one"):
        assert_close_or_diagnose(2 * np.arange(3.0), np.arange(3.0), mistakes)
    assert asked == [1]
