"""Statistical checks: correct initialisers pass across seeds, classic mistakes fail."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks import (
    assert_mean_close,
    assert_normal,
    assert_std_close,
    assert_variance_ratio_in,
    samples_needed_for_std,
)
from autograder.errors import CheckFailed

seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=30, deadline=None)
@given(seeds, st.sampled_from([4, 64, 784]))
def test_he_initialisation_passes_for_any_seed(seed: int, n_in: int) -> None:
    std = np.sqrt(2 / n_in)
    W = np.random.default_rng(seed).normal(0, std, size=(n_in, 20_000 // n_in + 16))
    assert_std_close(W, std, rel=0.05, name="W1")
    assert_mean_close(W, 0.0, std=std, name="W1")
    assert_normal(W, 0.0, std)


def test_he_variance_written_as_a_standard_deviation_fails_with_numbers() -> None:
    n_in = 100
    W = np.random.default_rng(0).normal(0, np.sqrt(np.sqrt(2 / n_in)), size=(n_in, 100))
    with pytest.raises(CheckFailed) as info:
        assert_std_close(W, np.sqrt(2 / n_in), name="your weights")
    message = str(info.value)
    assert "the standard deviation of your weights is 0.37" in message
    assert "expected 0.1414 ± 5%" in message
    assert "from 10000 samples" in message


def test_too_few_samples_for_the_tolerance_is_a_suite_bug() -> None:
    assert samples_needed_for_std(0.05) == 4787
    with pytest.raises(ValueError, match="needs at least 4787 samples"):
        assert_std_close(np.random.default_rng(0).normal(size=320), 1.0)


def test_shifted_and_uniform_samples_fail() -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(
        CheckFailed,
        match=r"the mean of samples is 0\.0\d+ \(from 10000 samples\); expected 0 ± 0\.049",
    ):
        assert_mean_close(rng.normal(0.1, 1.0, 10_000), 0.0, std=1.0)
    uniform = rng.uniform(-np.sqrt(3), np.sqrt(3), 10_000)  # mean 0, std 1, not normal
    with pytest.raises(CheckFailed, match=r"do not look like draws from N\(0, 1²\)"):
        assert_normal(uniform, 0.0, 1.0)


def test_non_finite_or_non_numeric_samples_are_refused() -> None:
    with pytest.raises(CheckFailed, match="1 NaN/inf"):
        assert_std_close(np.r_[np.ones(5000), np.nan], 1.0)
    with pytest.raises(CheckFailed, match="array of numbers"):
        assert_std_close(["a"] * 5000, 1.0)


def _relu_stack_variances(std_fn, seed: int, depth: int, width: int) -> list[float]:
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(50, width))
    out = []
    for _ in range(depth):
        W = rng.normal(0, std_fn(width), size=(width, width))
        z = h @ W
        out.append(float(z.var()))
        h = np.maximum(z, 0)
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_he_keeps_the_variance_of_a_deep_relu_stack(seed: int) -> None:
    # log-variance does a random walk with step sd about sqrt(2/width): keep width/depth large
    variances = _relu_stack_variances(lambda n: np.sqrt(2 / n), seed, depth=10, width=1000)
    assert_variance_ratio_in(variances, (0.7, 1.4))


def test_plain_normal_weights_blow_up_a_relu_stack() -> None:
    variances = _relu_stack_variances(lambda n: 1.0, 0, depth=5, width=100)
    with pytest.raises(
        CheckFailed, match=r"grows with depth: at layer 2 it is .* times its value at layer 1"
    ):
        assert_variance_ratio_in(variances, (0.7, 1.4), name="the variance of z")


def test_variance_ratio_accepts_arrays_per_layer() -> None:
    rng = np.random.default_rng(0)
    assert_variance_ratio_in([rng.normal(size=4000) for _ in range(3)], (0.9, 1.1))
    with pytest.raises(CheckFailed, match="shrinks"):
        assert_variance_ratio_in([1.0, 0.5], (0.7, 1.4))
