"""Question 8: the plots, graded from the figure's data: the values drawn must be the data
passed in (see plotted.py for the transforms allowed), on the axes the question asks for."""

import numpy as np
import pytest

from autograder.checks import assert_figure
from autograder.suites.deep_chain.inputs import chain_problem, zigzag_chain
from autograder.suites.deep_chain.plotted import assert_shows_costs, assert_shows_trace

REFERENCE = "mlhw_ref.chain"


@pytest.mark.question("q8", points=3)
def test_q8_plot_costs(student, ref, rng):
    """plot_costs draws each run's costs against the iteration, on a log y-axis"""
    costs = {}
    for weight in (1.0, 0.9, 5.0):
        p = chain_problem(rng, l=6)
        costs[f"w0 = {weight}"] = ref.train_chain(
            p["x"], p["y"], np.full(6, weight), None, 0.1, 40
        )[2]
    fig = student.plot_costs(costs)
    assert_figure(fig, name="plot_costs(...)")
    assert_shows_costs(fig, costs)


@pytest.mark.question("q8", points=2)
def test_q8_plot_trace(student, ref, rng):
    """plot_trace draws h (l+1 points) and g (l points) layer by layer, g on a log y-axis"""
    p = zigzag_chain(rng)
    h, g = ref.first_iteration_trace(p["x"], p["y"], p["w"])
    fig = student.plot_trace(h, g)
    assert_figure(fig, name="plot_trace(h, g)")
    assert_shows_trace(fig, h, g)
