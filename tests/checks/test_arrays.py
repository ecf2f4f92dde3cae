"""assert_close and friends: accept correct answers in any harmless form, explain wrong ones."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.checks import (
    FLOAT32_RTOL,
    assert_close,
    assert_finite,
    assert_not_mutated,
    assert_shape,
    describe_call,
    mismatch,
)
from autograder.errors import CheckFailed

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=finite
)


@given(arrays)
def test_an_array_matches_itself_and_its_float32_rounding(expected: np.ndarray) -> None:
    assert_close(expected.copy(), expected)
    assert_close(expected.astype(np.float32), expected)


@given(arrays, st.data())
def test_one_entry_off_by_more_than_the_tolerance_is_found(
    expected: np.ndarray, data: st.DataObject
) -> None:
    flat = int(data.draw(st.integers(0, expected.size - 1)))
    actual = expected.copy()
    actual.flat[flat] += 1e-3 * (1 + abs(actual.flat[flat]))
    with pytest.raises(CheckFailed) as info:
        assert_close(actual, expected)
    message = str(info.value)
    index = ", ".join(map(str, np.unravel_index(flat, expected.shape)))
    assert f"1 of {expected.size} entries differ" in message
    assert f"worst at [{index}]" in message
    assert "max abs error" in message


def test_message_names_the_call_and_stays_short_for_big_arrays() -> None:
    rng = np.random.default_rng(0)
    u, h, y, w = (
        rng.normal(size=(100, 5)),
        rng.normal(size=(101, 5)),
        rng.normal(size=5),
        rng.normal(size=100),
    )
    called = describe_call("chain_backward", {"u": u, "h": h, "y": y, "w": w})
    assert called == "chain_backward(u (100, 5), h (101, 5), y (5,), w (100,))"
    expected = rng.normal(size=(300, 300))
    with pytest.raises(CheckFailed) as info:
        assert_close(expected * 5, expected, called=called)
    message = str(info.value)
    assert message.splitlines()[1] == f"  called: {called}"
    assert "90000 of 90000 entries differ" in message
    assert len(message) < 600


def test_describe_call_shows_scalars_and_functions_by_value() -> None:
    text = describe_call("train_chain", [np.zeros(2)], {"alpha": 0.1, "b0": None, "phi": np.tanh})
    assert text == "train_chain((2,), alpha=0.1, b0=None, phi=<function tanh>)"


def test_transposed_result_gets_a_hint() -> None:
    expected = np.arange(500.0).reshape(100, 5)
    with pytest.raises(
        CheckFailed, match=r"expected shape \(100, 5\), got \(5, 100\) — transposed\?"
    ):
        assert_close(expected.T, expected)


def test_nan_where_the_reference_is_finite_is_reported_with_its_index() -> None:
    expected = np.ones((3, 4))
    actual = expected.copy()
    actual[1, 2] = np.nan
    with pytest.raises(CheckFailed, match=r"1 NaN and 0 inf entries .* \(first at \[1, 2\]\)"):
        assert_close(actual, expected)


def test_matching_nan_and_inf_pass() -> None:
    expected = np.array([1.0, np.nan, np.inf, -np.inf])
    assert_close(expected.copy(), expected)
    with pytest.raises(CheckFailed):
        assert_close(np.array([1.0, np.nan, -np.inf, -np.inf]), expected)


def test_float32_is_loosened_only_to_float32_precision_and_can_be_refused() -> None:
    expected = np.linspace(1, 2, 50)
    assert_close(expected.astype(np.float32), expected)
    with pytest.raises(CheckFailed, match="float32 result"):
        assert_close((expected * (1 + 20 * FLOAT32_RTOL)).astype(np.float32), expected)
    with pytest.raises(CheckFailed, match="needs float64"):
        assert_close(expected.astype(np.float32), expected, allow_float32=False)
    with pytest.raises(CheckFailed, match="float16"):
        assert_close(expected.astype(np.float16), expected)


def test_loops_and_vectorised_code_agree() -> None:
    rng = np.random.default_rng(1)
    alpha, beta = rng.dirichlet(np.ones(3), size=6), rng.dirichlet(np.ones(8), size=3)
    vectorised = alpha[:, None, :] * beta.T[None, :, :]
    vectorised /= vectorised.sum(axis=2, keepdims=True)
    looped = np.empty((6, 8, 3))
    for i in range(6):
        for j in range(8):
            p = [alpha[i, k] * beta[k, j] for k in range(3)]
            looped[i, j] = [v / sum(p) for v in p]
    assert_close(looped, vectorised, rtol=1e-10)


def test_tuples_lists_and_dicts_compare_element_by_element() -> None:
    a, b = np.ones(3), np.zeros(2)
    assert_close([a, b], (a, b))  # a list is fine where a tuple is asked for
    assert_close({"W1": a, "b1": b, "extra": 1}, {"W1": a, "b1": b})
    with pytest.raises(CheckFailed, match=r"result\[1\]: expected shape \(2,\), got \(3,\)"):
        assert_close((a, a), (a, b))
    with pytest.raises(CheckFailed, match=r"missing the key\(s\) 'b1'"):
        assert_close({"W1": a}, {"W1": a, "b1": b})
    with pytest.raises(CheckFailed, match="should have 2 elements, got 3"):
        assert_close((a, b, b), (a, b))
    with pytest.raises(CheckFailed, match=r"result\['b1'\]"):
        assert_close({"W1": a, "b1": b + 1}, {"W1": a, "b1": b})


def test_wrong_types_are_named_plainly() -> None:
    with pytest.raises(CheckFailed, match="should be an array of shape \\(3,\\), got None"):
        assert_close(None, np.ones(3))
    with pytest.raises(CheckFailed, match="got a list of 3 elements — return np.asarray"):
        assert_close([1.0, 1.0, 1.0], np.ones(3))
    assert_close([1.0, 1.0, 1.0], np.ones(3), allow_list=True)
    with pytest.raises(CheckFailed, match="single number.*float\\(x\\)"):
        assert_close(np.array([0.5]), 0.5)
    with pytest.raises(CheckFailed, match="the string 'abc'"):
        assert_close("abc", 0.5)
    with pytest.raises(CheckFailed, match="non-numeric dtype"):
        assert_close(np.array(["a", "b"]), np.ones(2))


def test_scalars_bools_and_none() -> None:
    assert_close(np.float32(0.125), 0.125)
    assert_close(np.array(2.0), 2.0)
    assert_close(12, 12)
    assert_close(True, True)
    assert_close(None, None)
    with pytest.raises(CheckFailed, match="expected 0.125, got 0.25 \\(abs error 1.25e-01"):
        assert_close(0.25, 0.125)
    with pytest.raises(CheckFailed, match="expected False, got True"):
        assert_close(True, False)
    with pytest.raises(CheckFailed, match="expected True, got 1 \\(int\\)"):
        assert_close(1, True)
    with pytest.raises(CheckFailed, match="should be a number, got True"):
        assert_close(True, 1.0)


def test_mismatch_returns_none_or_the_message() -> None:
    assert mismatch(np.ones(2), np.ones(2)) is None
    assert "does not match" in (mismatch(np.ones(2), np.zeros(2)) or "")


def test_assert_shape_accepts_wildcards() -> None:
    assert_shape(np.zeros((4, 3)), (None, 3))
    with pytest.raises(CheckFailed, match=r"expected shape \(any, 3\), got \(3, 4\)"):
        assert_shape(np.zeros((3, 4)), (None, 3))
    with pytest.raises(CheckFailed, match=r"got \(3, 4\) — transposed\?"):
        assert_shape(np.zeros((3, 4)), (4, 3))
    with pytest.raises(CheckFailed, match="got a list"):
        assert_shape([1, 2], (2,))


def test_assert_finite_looks_inside_containers() -> None:
    assert_finite({"W": np.ones(3), "b": 0.0})
    with pytest.raises(
        CheckFailed, match=r"result\['W'\] has 1 NaN and 1 inf entries of 3 \(first at \[0\]\)"
    ):
        assert_finite({"W": np.array([np.nan, np.inf, 1.0])})
    with pytest.raises(CheckFailed, match=r"result\[1\] is inf"):
        assert_finite((1.0, float("inf")))


@settings(max_examples=30)
@given(arrays)
def test_changed_inputs_are_caught(x: np.ndarray) -> None:
    after = x.copy()
    assert_not_mutated([x], [after], ["h"])
    after.flat[0] += 1.0
    with pytest.raises(
        CheckFailed, match=r"changed its argument 'h' in place \(1 of \d+ entries changed\)"
    ):
        assert_not_mutated([x], [after], ["h"])


def test_in_place_updates_of_a_params_dict_are_caught() -> None:
    params = {"W1": np.ones((2, 2)), "b1": np.zeros(2)}
    after = {"W1": np.ones((2, 2)), "b1": np.full(2, 0.1)}
    with pytest.raises(
        CheckFailed,
        match=r"backward\(\) changed its argument 'params' in place "
        r"\(entry 'b1': 2 of 2 entries changed\).*W -= lr",
    ):
        assert_not_mutated({"params": params}, {"params": after}, called="backward()")
