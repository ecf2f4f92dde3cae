"""Checks on a student's figure, read as plain data (never as an image).

The figure arrives as the protocol's figure data: an object or dict with ``axes``, each axes
(object or dict) having ``xscale``, ``yscale``, ``title``, ``xlabel``, ``ylabel``, ``lines``
(each with ``x``, ``y``, ``label``), ``collections`` (each with ``kind``, ``n_offsets``,
``offsets``), ``n_contour_sets``, ``n_images`` and ``legend_texts``. Only these names are
used (duck typing), so the checks also run on hand-made data in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import numpy as np

from ..errors import CheckFailed


class LineData(Protocol):
    x: Any
    y: Any
    label: str


class AxesData(Protocol):
    xscale: str
    yscale: str
    lines: Sequence[Any]
    collections: Sequence[Any]
    n_contour_sets: int
    n_images: int


class FigureLike(Protocol):
    axes: Sequence[Any]


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _xy(line: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(_get(line, "x", ()), dtype=np.float64).ravel()
    y = np.asarray(_get(line, "y", ()), dtype=np.float64).ravel()
    return x, y


def _kind(collection: Any) -> str:
    return str(_get(collection, "kind", "")).lower()


def _is_fill(collection: Any) -> bool:
    """Areas rather than data points (contour sets, meshes, polygons such as fill_between)."""
    return any(word in _kind(collection) for word in ("contour", "mesh", "image", "poly"))


def _points(ax: Any) -> int:
    lines = sum(_xy(line)[1].size for line in _get(ax, "lines", ()) or ())
    dots = sum(
        int(_get(c, "n_offsets", 0) or 0)
        for c in _get(ax, "collections", ()) or ()
        if not _is_fill(c)
    )
    return lines + dots


def _has_filled_map(ax: Any) -> bool:
    return bool(
        int(_get(ax, "n_contour_sets", 0) or 0)
        or int(_get(ax, "n_images", 0) or 0)
        or any(
            w in _kind(c) for c in _get(ax, "collections", ()) or () for w in ("contour", "mesh")
        )
    )


def points_not_drawn(fig: FigureLike | Mapping, xy: np.ndarray, atol: float = 1e-5) -> int:
    """How many rows of the (n, 2) array ``xy`` no scatter or line of the figure draws, to ``atol``."""
    drawn = [np.column_stack(_xy(line)) for ax in _get(fig, "axes", ()) or ()
             for line in _get(ax, "lines", ()) or () if _xy(line)[0].size == _xy(line)[1].size]
    for ax in _get(fig, "axes", ()) or ():
        for c in _get(ax, "collections", ()) or ():
            offsets = _get(c, "offsets", None)
            offsets = np.asarray(offsets if offsets is not None else (), dtype=np.float64)
            if offsets.ndim == 2 and offsets.shape[1] == 2:
                drawn.append(offsets)
    points = np.vstack(drawn) if drawn else np.empty((0, 2))
    if not len(points):
        return len(xy)
    distance = np.abs(xy[:, None, :] - points[None, :, :]).max(axis=2).min(axis=1)
    return int(np.sum(distance > atol))


def _cell_centres(extent: np.ndarray, cells: int) -> np.ndarray:
    """The (cells², 2) centres of a cells x cells map over ``extent``, row by row (the
    worker's ``protocol.map_centres``; the checks also ship to students without it)."""
    x0, x1, y0, y1 = (float(v) for v in extent)
    steps = (np.arange(cells) + 0.5) / cells
    gx, gy = np.meshgrid(x0 + steps * (x1 - x0), y0 + steps * (y1 - y0))
    return np.column_stack([gx.ravel(), gy.ravel()])


def _score_agreement(lo: np.ndarray, hi: np.ndarray, k: np.ndarray) -> float:
    """With classes 0 and 1, the largest fraction of cells where "the cell's level is above t"
    says class 1, over every threshold t (0 with other classes)."""
    if not np.all(np.isin(k, (0.0, 1.0))):
        return 0.0
    level = np.nan_to_num((lo + hi) / 2, nan=-np.inf)
    order = np.argsort(level, kind="stable")
    ones = k[order]
    # cut after position i: cells 0..i say class 0, the rest class 1 (cuts between equal levels
    # are not thresholds, so only the last of a run of equal levels counts)
    right = np.concatenate([[ones.sum()], ones.sum() - np.cumsum(ones) + np.cumsum(1 - ones)])
    cuts = np.concatenate([[True], np.diff(level[order]) > 0, [True]])
    return float(right[cuts].max() / len(k))


def assert_class_map(fig: FigureLike | Mapping, xy: np.ndarray,
                     classify: Callable[[np.ndarray], np.ndarray], name: str = "the figure",
                     min_agreement: float = 0.9) -> None:
    """Some filled contour map of the figure covers every row of ``xy`` and shows, in at least
    ``min_agreement`` of its cells, the class ``classify`` gives the cell's centre: a class k
    is shown when it lies in the cell's level interval or, with two classes, when the map is
    a score of class 1 (a probability, a logit difference): above some threshold exactly
    where class 1 is predicted. A figure whose maps cannot be read (unfilled contours,
    images, meshes) is not checked."""
    maps = [m for ax in _get(fig, "axes", ()) or () for c in _get(ax, "collections", ()) or ()
            if (m := _get(c, "map")) is not None]
    if not maps:
        return
    problems = []
    for m in maps:
        extent = np.asarray(_get(m, "extent"), dtype=np.float64)
        x0, x1, y0, y1 = (float(v) for v in extent)
        outside = int(np.sum((xy[:, 0] < x0) | (xy[:, 0] > x1) | (xy[:, 1] < y0) | (xy[:, 1] > y1)))
        lo, hi = (np.asarray(_get(m, key), dtype=np.float64) for key in ("lo", "hi"))
        k = np.asarray(classify(_cell_centres(extent, len(lo))), dtype=np.float64)
        lo, hi, k = lo.reshape(-1), hi.reshape(-1), k.reshape(-1)
        agreement = max(float(np.mean((lo <= k) & (k <= hi))), _score_agreement(lo, hi, k))
        if not outside and agreement >= min_agreement:
            return
        problems.append(f"a filled map over x in [{x0:.3g}, {x1:.3g}], y in [{y0:.3g}, {y1:.3g}]"
                        + (f" leaves {outside} of the {len(xy)} points outside it" if outside
                           else "") + f" and shows the model's class in {agreement:.0%} of it")
    raise CheckFailed(f"{name}: {'; '.join(problems)}. The map must cover the data and show, "
                      "at each place, the class the model predicts there (the largest output)")


def _monotone(y: np.ndarray, direction: str) -> int | None:
    """Index of the first step against ``direction`` (None when monotone), with a small
    relative slack for round-off."""
    y = y[np.isfinite(y)]
    if y.size < 2:
        return None
    steps = np.diff(y)
    slack = 1e-9 * max(1.0, float(np.max(np.abs(y))))
    wrong = steps < -slack if direction == "increasing" else steps > slack
    return int(np.argmax(wrong)) + 1 if wrong.any() else None


def assert_figure(
    fig: Any,
    *,
    n_lines: int | None = None,
    line_length: int | None = None,
    yscale: str | None = None,
    xscale: str | None = None,
    monotone: Literal["increasing", "decreasing"] | None = None,
    has_contour: bool | None = None,
    min_points: int | None = None,
    name: str = "your figure",
) -> None:
    """Raise CheckFailed unless the figure shows what the question asks.

    - ``n_lines``: at least this many plotted lines (of ``line_length`` points when given;
      decorations such as axhline do not count against the student).
    - ``line_length``: at least one line (or ``n_lines`` lines) with exactly this many points.
    - ``yscale``/``xscale``: the axes holding those lines use this scale ("log", "linear").
    - ``monotone``: every such line's finite y values never go the other way (slack 1e-9
      relative to the line's largest value).
    - ``has_contour``: True asks for a filled map (contour set, image or mesh: a decision
      boundary may be drawn any of these ways); False forbids one.
    - ``min_points``: at least this many data points drawn (scatter offsets plus line points).
    """
    if fig is None:
        raise CheckFailed(
            f"{name}: your function returned None instead of a figure "
            "(did you forget `return fig`?)"
        )
    axes = list(_get(fig, "axes", None) or [])
    if not axes:
        raise CheckFailed(
            f"{name} has no axes: plot something on it (e.g. fig, ax = "
            "plt.subplots(); ax.plot(...))"
        )
    lines = [
        (ax, line)
        for ax in axes
        for line in (_get(ax, "lines", ()) or ())
        if _xy(line)[1].size >= 2
    ]
    wanted = lines
    if line_length is not None:
        wanted = [(ax, line) for ax, line in lines if _xy(line)[1].size == line_length]
        if len(wanted) < max(1, n_lines or 1):
            found = ", ".join(str(_xy(line)[1].size) for _, line in lines[:6]) or "none"
            raise CheckFailed(
                f"{name} should have {max(1, n_lines or 1)} line(s) of "
                f"{line_length} points; the lines it has have {found} points"
            )
    elif n_lines is not None and len(lines) < n_lines:
        raise CheckFailed(f"{name} should show {n_lines} line(s); it shows {len(lines)}")
    for label, want in (("y", yscale), ("x", xscale)):
        if want is None:
            continue
        holders = {id(ax): ax for ax, _ in wanted} or {id(ax): ax for ax in axes}
        for ax in holders.values():
            got = _get(ax, f"{label}scale", "linear")
            if got != want:
                raise CheckFailed(
                    f"{name} uses a {got} {label} axis; this plot needs a {want} "
                    f"{label} axis (ax.set_{label}scale({want!r}))"
                )
    if monotone is not None:
        if not wanted:
            raise CheckFailed(f"{name} has no line to check")
        for _, line in wanted:
            step = _monotone(_xy(line)[1], monotone)
            if step is not None:
                label = _get(line, "label", "") or ""
                which = f" {label!r}" if label and not label.startswith("_") else ""
                raise CheckFailed(
                    f"the line{which} in {name} should be {monotone}, but it goes "
                    f"the other way at point {step}"
                )
    if has_contour is not None:
        present = any(_has_filled_map(ax) for ax in axes)
        if has_contour and not present:
            raise CheckFailed(
                f"{name} has no contour (or filled map) of the decision regions; "
                "draw one, e.g. with ax.contourf(xx, yy, zz)"
            )
        if not has_contour and present:
            raise CheckFailed(f"{name} should not have a contour or image")
    if min_points is not None:
        total = sum(_points(ax) for ax in axes)
        if total < min_points:
            raise CheckFailed(
                f"{name} shows {total} data points; expected at least {min_points} "
                "(plot all the data, e.g. ax.scatter(X[:, 0], X[:, 1]))"
            )
