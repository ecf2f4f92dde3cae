"""Question 8 reads the student's figures as data and checks that they show what was passed in.

A figure passes when its plotted values *are* the data, up to the transforms the question
allows: the costs themselves (on a log axis) or their logarithm; for the trace, any strictly
increasing function of a per-layer view of h and g — one example's signed values or
magnitudes, or the largest, mean, smallest or median magnitude, or the 2-norm, over the
examples — so max |h|, mean |h|, ||h||, log10 |h| and a panel of signed h per example are all
right, and a line that is not the data (ones, a made-up ramp, the data reversed) is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.errors import CheckFailed

LOG_SCALES = ("log", "symlog")
LOG_BASES = {"log10": np.log10, "ln": np.log, "log2": np.log2}


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


@dataclass(frozen=True)
class Series:
    """One plotted line (or scatter) of one panel: its y values in x order."""

    panel: int
    yscale: str
    x: np.ndarray
    y: np.ndarray
    label: str

    @property
    def on_log_axis(self) -> bool:
        return self.yscale in LOG_SCALES


def plotted_series(fig: Any) -> list[Series]:
    """Every line and scatter of every panel of the figure data."""
    out = []
    for i, ax in enumerate(_get(fig, "axes", ()) or ()):
        scale = str(_get(ax, "yscale", "linear"))
        for line in _get(ax, "lines", ()) or ():
            x = np.asarray(_get(line, "x", ()), dtype=np.float64).ravel()
            y = np.asarray(_get(line, "y", ()), dtype=np.float64).ravel()
            if y.size >= 2 and x.size == y.size:
                out.append(Series(i, scale, x, y, str(_get(line, "label", "") or "")))
        for collection in _get(ax, "collections", ()) or ():
            offsets = _get(collection, "offsets", None)
            if offsets is None:
                continue
            xy = np.asarray(offsets, dtype=np.float64).reshape(-1, 2)
            if len(xy) >= 2:
                order = np.argsort(xy[:, 0], kind="stable")
                out.append(Series(i, scale, xy[order, 0], xy[order, 1], "scatter"))
    return out


def _lengths(series: list[Series]) -> str:
    return ", ".join(str(s.y.size) for s in series[:8]) or "none"


# --------------------------------------------------------------------------- plot_costs
def _is_costs(s: Series, costs: np.ndarray) -> str | None:
    """How ``s`` shows ``costs`` ("raw" or a log's name), or None when it does not."""
    if s.y.size != costs.size:
        return None
    if np.allclose(s.y, costs, rtol=1e-5, atol=0.0, equal_nan=True):
        return "raw"
    if np.all(costs > 0):
        for name, log in LOG_BASES.items():
            if np.allclose(s.y, log(costs), rtol=1e-6, atol=1e-9):
                return name
    return None


def assert_shows_costs(
    fig: Any, costs_by_init: Mapping[str, np.ndarray], *, name: str = "plot_costs(...)"
) -> None:
    """Every run's costs are one line, J against iteration, on a log axis (or as log J)."""
    series = plotted_series(fig)
    for label, costs in costs_by_init.items():
        costs = np.asarray(costs, dtype=np.float64)
        found = [(s, how) for s in series if (how := _is_costs(s, costs)) is not None]
        if not found:
            raise CheckFailed(
                f"{name}: no line shows the costs of {label!r} ({costs.size} values, from "
                f"{costs[0]:.4g} to {costs[-1]:.4g}); the lines it has ({_lengths(series)} "
                "points) plot other values. Plot each run's costs as they are passed in, "
                "against the iteration number"
            )
        if not any(how != "raw" or s.on_log_axis for s, how in found):
            raise CheckFailed(
                f"{name}: the costs of {label!r} are on a linear y-axis; J spans many "
                "decades, so use a log axis (ax.set_yscale('log'))"
            )
        if not any(np.all(np.diff(s.x) > 0) for s, _ in found):
            raise CheckFailed(
                f"{name}: the costs of {label!r} are not drawn against the "
                "iteration number (their x values do not increase)"
            )


# --------------------------------------------------------------------------- plot_trace
def per_layer_views(a: np.ndarray) -> dict[str, np.ndarray]:
    """The per-layer summaries of a (layers, m) signal a figure may show."""
    mag = np.abs(a)
    views = {
        "max |.|": mag.max(axis=1),
        "mean |.|": mag.mean(axis=1),
        "min |.|": mag.min(axis=1),
        "median |.|": np.median(mag, axis=1),
        "2-norm": np.sqrt(np.sum(mag**2, axis=1)),
    }
    for i in range(a.shape[1]):
        views[f"example {i}"] = a[:, i]
        views[f"|example {i}|"] = mag[:, i]
    return views


def increasing_function_of(y: np.ndarray, c: np.ndarray, rel: float = 1e-4) -> bool:
    """Whether y = f(c) for one strictly increasing f: every pair of points whose c differ
    (by more than ``rel`` relative) is ordered the same way in y. (Decreasing transforms are
    not allowed: the reversed order of a signal that rises and falls can pass for it.)"""
    if y.shape != c.shape:
        return False
    keep = np.isfinite(c) & ~np.isnan(y)
    y, c = y[keep], c[keep]
    if c.size < 2:
        return False
    dc = c[:, None] - c[None, :]
    scale = np.maximum(np.abs(c)[:, None], np.abs(c)[None, :])
    apart = np.abs(dc) > rel * scale + 1e-300
    if not apart.any():
        return False
    with np.errstate(invalid="ignore"):
        dy = y[:, None] - y[None, :]
    signs = (np.sign(dy) * np.sign(dc))[apart]
    return bool(np.all(signs == 1))


def _log_of(y: np.ndarray, c: np.ndarray) -> bool:
    """Whether y is a logarithm of |c| (for a figure that takes the log itself)."""
    mag = np.abs(c)
    ok = mag > 0
    if ok.sum() < 2:
        return False
    return any(np.allclose(y[ok], log(mag[ok]), rtol=1e-6, atol=1e-9) for log in LOG_BASES.values())


def _showing(series: list[Series], a: np.ndarray) -> list[tuple[Series, np.ndarray]]:
    views = per_layer_views(a)
    return [
        (s, c)
        for s in series
        if s.y.size == a.shape[0]
        for c in views.values()
        if increasing_function_of(s.y, c)
    ][:50]


def assert_shows_trace(
    fig: Any, h: np.ndarray, g: np.ndarray, *, name: str = "plot_trace(h, g)"
) -> None:
    """The figure shows h (l+1 points) and g (l points) per layer, g readable over many
    decades (a log axis, or log |g| plotted)."""
    h, g = np.asarray(h, dtype=np.float64), np.asarray(g, dtype=np.float64)
    series = plotted_series(fig)
    for what, a in (("h", h), ("g", g)):
        if not _showing(series, a):
            raise CheckFailed(
                f"{name}: no line shows {what} layer by layer ({a.shape[0]} points: for each "
                f"layer a size such as max_i |{what}_k,i|, or one example's values); the lines "
                f"it has ({_lengths(series)} points) plot other values"
            )
    if not any(s.on_log_axis or _log_of(s.y, c) for s, c in _showing(series, g)):
        raise CheckFailed(
            f"{name}: g is on a linear y-axis; its sizes span many decades (down to 1e-300 "
            "at w = 5), so use a log axis (ax.set_yscale('log')) for the panel with g"
        )
