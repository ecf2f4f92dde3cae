"""Figure checks on plain figure data: dicts, simple objects and real matplotlib figures."""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.checks import assert_class_map, assert_figure, points_not_drawn
from autograder.errors import CheckFailed
from autograder.sandboxed.protocol import MAP_CELLS, map_centres

matplotlib.use("Agg")


def _axes(lines=(), yscale="linear", xscale="linear", collections=(), n_contour_sets=0, n_images=0):
    return {
        "xscale": xscale,
        "yscale": yscale,
        "title": "",
        "xlabel": "",
        "ylabel": "",
        "lines": [
            {"x": np.arange(len(y)), "y": np.asarray(y, float), "label": lbl} for y, lbl in lines
        ],
        "collections": list(collections),
        "n_contour_sets": n_contour_sets,
        "n_images": n_images,
        "legend_texts": [],
    }


@given(st.integers(2, 300), st.floats(0.01, 10))
def test_a_monotone_log_likelihood_curve_of_the_right_length_passes(n: int, step: float) -> None:
    ll = -1000 + step * np.log1p(np.arange(n))
    fig = {"axes": [_axes([(ll, "ll"), ([0, 0], "_axhline")])]}
    assert_figure(fig, line_length=n, monotone="increasing", n_lines=1)


def test_wrong_length_scale_and_direction_are_explained() -> None:
    costs = np.geomspace(1.0, 1e-20, 1001)
    fig = {"axes": [_axes([(costs, "w=1")])]}
    with pytest.raises(
        CheckFailed,
        match="should have 1 line\\(s\\) of 1002 points; the lines it has have 1001 points",
    ):
        assert_figure(fig, line_length=1002)
    with pytest.raises(CheckFailed, match="uses a linear y axis; this plot needs a log y axis"):
        assert_figure(fig, line_length=1001, yscale="log")
    assert_figure(
        {"axes": [_axes([(costs, "w=1")], yscale="log")]},
        line_length=1001,
        yscale="log",
        monotone="decreasing",
    )
    with pytest.raises(
        CheckFailed,
        match="the line 'w=1' in your figure should be increasing, but "
        "it goes the other way at point 1",
    ):
        assert_figure(fig, monotone="increasing")


def test_several_lines_are_counted() -> None:
    fig = {"axes": [_axes([(np.ones(11), "a"), (np.ones(11), "b")], yscale="log")]}
    assert_figure(fig, n_lines=2, line_length=11, yscale="log")
    with pytest.raises(CheckFailed, match="should show 3 line\\(s\\); it shows 2"):
        assert_figure(fig, n_lines=3)


def test_objects_work_like_dicts_and_none_or_empty_figures_fail() -> None:
    line = SimpleNamespace(x=np.arange(3), y=np.array([3.0, 2.0, 1.0]), label="")
    ax = SimpleNamespace(
        xscale="linear", yscale="log", lines=(line,), collections=(), n_contour_sets=0, n_images=0
    )
    assert_figure(SimpleNamespace(axes=(ax,)), line_length=3, yscale="log", monotone="decreasing")
    with pytest.raises(CheckFailed, match="returned None instead of a figure"):
        assert_figure(None)
    with pytest.raises(CheckFailed, match="has no axes"):
        assert_figure({"axes": []})


def test_decision_boundary_needs_points_and_a_filled_map() -> None:
    scatter = {"kind": "PathCollection", "n_offsets": 400, "offsets": np.zeros((400, 2))}
    contour = {"kind": "QuadContourSet", "n_offsets": 1, "offsets": np.zeros((1, 2))}
    assert_figure(
        {"axes": [_axes(collections=[contour, scatter], n_contour_sets=1)]},
        has_contour=True,
        min_points=400,
    )
    assert_figure({"axes": [_axes(collections=[scatter], n_images=1)]}, has_contour=True)
    with pytest.raises(CheckFailed, match="has no contour"):
        assert_figure({"axes": [_axes(collections=[scatter])]}, has_contour=True)
    with pytest.raises(CheckFailed, match="shows 0 data points; expected at least 400"):
        assert_figure({"axes": [_axes(collections=[contour], n_contour_sets=1)]}, min_points=400)


def test_real_matplotlib_figure_through_the_protocol() -> None:
    protocol = pytest.importorskip("autograder.sandboxed.protocol")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    xx, yy = np.meshgrid(np.linspace(-1, 1, 30), np.linspace(-1, 1, 30))
    ax.contourf(xx, yy, xx**2 + yy**2 - 0.5)
    ax.scatter(np.cos(np.arange(200)), np.sin(np.arange(200)))
    ax2 = fig.add_subplot(2, 1, 2)
    ax2.semilogy(np.geomspace(1, 1e-3, 50))
    data = protocol.decode(*protocol.encode(fig))
    plt.close(fig)
    assert_figure(data, has_contour=True, min_points=200)
    assert_figure(data, line_length=50, yscale="log", monotone="decreasing")


def test_points_not_drawn_counts_the_rows_no_scatter_or_line_shows() -> None:
    xy = np.random.default_rng(0).normal(size=(30, 2))
    scatter = {"kind": "PathCollection", "n_offsets": 20, "offsets": xy[:20]}
    line = {"x": xy[20:25, 0], "y": xy[20:25, 1], "label": ""}
    fig = {"axes": [{**_axes(collections=[scatter]), "lines": [line]}]}
    assert points_not_drawn(fig, xy) == 5
    swapped = {**scatter, "offsets": xy[:, ::-1]}
    assert points_not_drawn({"axes": [_axes(collections=[swapped])]}, xy) == 30
    assert points_not_drawn({"axes": []}, xy) == 30


def _map_figure(extent, classify):
    """Figure data whose one filled map shows classify() exactly, in unit level intervals."""
    k = classify(map_centres(np.asarray(extent, float))).reshape(MAP_CELLS, MAP_CELLS)
    the_map = {"extent": np.asarray(extent, float), "lo": k - 0.5, "hi": k + 0.5}
    return {"axes": [_axes(collections=[{"kind": "QuadContourSet", "map": the_map}])]}


def test_a_class_map_must_cover_the_data_and_show_the_models_classes() -> None:
    xy = np.random.default_rng(1).uniform(-1, 1, size=(50, 2))
    def model(p):
        return (p[:, 0] + p[:, 1] > 0).astype(int)

    assert_class_map(_map_figure([-1.2, 1.2, -1.2, 1.2], model), xy, model)
    with pytest.raises(CheckFailed, match="outside"):
        assert_class_map(_map_figure([-0.8, 1.2, -1.2, 1.2], model), xy, model)
    with pytest.raises(CheckFailed, match="shows the model.s class in"):
        assert_class_map(_map_figure([-1.2, 1.2, -1.2, 1.2], lambda p: 1 - model(p)), xy, model)
    assert_class_map({"axes": [_axes(n_images=1)]}, xy, model)  # an image is not read


def test_a_map_of_class_1_scores_shows_the_classes_but_an_inverted_one_does_not() -> None:
    xy = np.random.default_rng(2).uniform(-1, 1, size=(50, 2))
    def model(p):
        return (p[:, 0] - 0.3 * p[:, 1] > 0.1).astype(int)

    def probability(p):  # P(class 1) in ten level intervals of width 0.1
        return np.round(1 / (1 + np.exp(-8 * (p[:, 0] - 0.3 * p[:, 1] - 0.1))) * 10 - 0.5) / 10 + 0.05

    assert_class_map(_map_figure([-1.2, 1.2, -1.2, 1.2], probability), xy, model)
    with pytest.raises(CheckFailed, match="model's class"):
        assert_class_map(_map_figure([-1.2, 1.2, -1.2, 1.2], lambda p: 1 - probability(p)), xy, model)
