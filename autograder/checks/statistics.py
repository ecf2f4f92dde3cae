"""Statistical checks for random initialisers, with a stated false-failure probability.

A correct initialiser must not fail by bad luck. Each check documents the probability that a
*correct* answer fails (``max_false_failure``, default 1e-6, i.e. about one in a million
gradings), and refuses (ValueError: a suite bug, not the student's) a sample too small for
the tolerance asked. The normal approximations used: the sample mean has standard error
σ/√n; for normal data the sample standard deviation s has s/σ ≈ N(1, 1/(2(n−1))).
Examples: rel = 5% on a standard deviation needs n ≥ 4,787 samples; rel = 10% needs 1,198.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from ..errors import CheckFailed
from .describe import with_call

MAX_FALSE_FAILURE = 1e-6


def _samples(samples: Any, name: str, called: str | None) -> np.ndarray:
    try:
        x = np.asarray(samples, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise CheckFailed(
            with_call(f"{name} should be an array of numbers, got {type(samples).__name__}", called)
        ) from None
    if x.size < 2:
        raise CheckFailed(with_call(f"{name} has {x.size} value(s); expected many samples", called))
    bad = ~np.isfinite(x)
    if bad.any():
        raise CheckFailed(
            with_call(f"{name} contains {int(bad.sum())} NaN/inf values of {x.size}", called)
        )
    return x


def _z(max_false_failure: float) -> float:
    """Two-sided normal quantile: |Z| > z with probability ``max_false_failure``."""
    return NormalDist().inv_cdf(1 - max_false_failure / 2)  # not scipy.stats: 0.5 s to import


def samples_needed_for_std(rel: float, max_false_failure: float = MAX_FALSE_FAILURE) -> int:
    """Smallest n for which ``assert_std_close(..., rel)`` fails a correct answer with
    probability at most ``max_false_failure`` (normal data)."""
    return math.ceil((_z(max_false_failure) / rel) ** 2 / 2 + 1)


def assert_std_close(
    samples: Any,
    expected_std: float,
    rel: float = 0.05,
    *,
    name: str = "samples",
    called: str | None = None,
    max_false_failure: float = MAX_FALSE_FAILURE,
) -> None:
    """Raise CheckFailed unless the sample standard deviation is within ``rel`` of expected."""
    x = _samples(samples, name, called)
    need = samples_needed_for_std(rel, max_false_failure)
    if x.size < need:
        raise ValueError(
            f"assert_std_close with rel={rel} needs at least {need} samples for a "
            f"false-failure probability below {max_false_failure:g}; got {x.size}"
        )
    s = float(x.std(ddof=1))
    if abs(s - expected_std) <= rel * expected_std:
        return
    raise CheckFailed(
        with_call(
            f"the standard deviation of {name} is {s:.4g} (from {x.size} samples); expected "
            f"{expected_std:.4g} ± {rel:.0%} (your variance {s * s:.4g}, expected "
            f"{expected_std**2:.4g}; ratio of standard deviations {s / expected_std:.3g})",
            called,
        )
    )


def assert_mean_close(
    samples: Any,
    expected_mean: float,
    *,
    tol: float | None = None,
    std: float | None = None,
    name: str = "samples",
    called: str | None = None,
    max_false_failure: float = MAX_FALSE_FAILURE,
) -> None:
    """Raise CheckFailed unless the sample mean is within ``tol`` of ``expected_mean``.

    Without ``tol`` the tolerance is ``z · σ/√n`` with z the two-sided normal quantile of
    ``max_false_failure`` (4.9 for 1e-6) and σ the known ``std`` of a correct answer (the
    sample's own std when not given).
    """
    x = _samples(samples, name, called)
    mean = float(x.mean())
    if tol is None:
        sigma = std if std is not None else float(x.std(ddof=1))
        tol = _z(max_false_failure) * sigma / math.sqrt(x.size)
    if abs(mean - expected_mean) <= tol:
        return
    raise CheckFailed(
        with_call(
            f"the mean of {name} is {mean:.4g} (from {x.size} samples); expected "
            f"{expected_mean:.4g} ± {tol:.2g}",
            called,
        )
    )


def assert_normal(
    samples: Any,
    mean: float,
    std: float,
    alpha: float = 1e-4,
    *,
    name: str = "samples",
    called: str | None = None,
) -> None:
    """Raise CheckFailed if a Kolmogorov–Smirnov test rejects N(mean, std²) at level ``alpha``.

    The false-failure probability of a correct normal initialiser is exactly ``alpha``.
    """
    x = _samples(samples, name, called)
    if x.size < 20:
        raise ValueError(f"assert_normal needs at least 20 samples, got {x.size}")
    from scipy import stats

    result = stats.kstest(x, "norm", args=(mean, std))
    if result.pvalue >= alpha:
        return
    raise CheckFailed(
        with_call(
            f"{name} do not look like draws from N({mean:.4g}, {std:.4g}²): Kolmogorov–Smirnov "
            f"statistic {result.statistic:.3g} (p = {result.pvalue:.1e}, from {x.size} samples); "
            f"sample mean {x.mean():.4g}, sample std {x.std(ddof=1):.4g}",
            called,
        )
    )


def assert_variance_ratio_in(
    variances: Sequence[Any],
    bounds: tuple[float, float] = (0.7, 1.4),
    *,
    reference: int = 0,
    name: str = "the variance",
    called: str | None = None,
) -> None:
    """Raise CheckFailed unless every ``variances[l] / variances[reference]`` lies in bounds.

    ``variances`` holds one number per layer, or one array per layer (its variance is taken).
    Layers are reported counted from 1. The bounds must leave room for sampling noise: a
    variance estimated from n values has relative standard error about √(2/n).
    """
    values = []
    for layer, v in enumerate(variances, start=1):
        arr = np.asarray(v, dtype=np.float64)
        value = (
            float(arr.var())
            if arr.size > 1
            else float(arr.reshape(-1)[0])
            if arr.size
            else math.nan
        )
        if not math.isfinite(value):
            raise CheckFailed(with_call(f"{name} at layer {layer} is {value}", called))
        values.append(value)
    if not values:
        raise CheckFailed(with_call(f"{name}: no layers to check", called))
    base = values[reference]
    if base <= 0:
        raise CheckFailed(
            with_call(
                f"{name} at layer {reference + 1} is {base:.3g}; expected a positive variance",
                called,
            )
        )
    low, high = bounds
    for layer, value in enumerate(values, start=1):
        ratio = value / base
        if not low <= ratio <= high:
            trend = "grows" if ratio > high else "shrinks"
            raise CheckFailed(
                with_call(
                    f"{name} {trend} with depth: at layer {layer} it is {ratio:.3g} times its value "
                    f"at layer {reference + 1} (allowed between {low:g} and {high:g} times)",
                    called,
                )
            )
