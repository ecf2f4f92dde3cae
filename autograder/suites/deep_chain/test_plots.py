"""Question 8: the plots, graded from the figure's data (lines, lengths, log axis)."""

import numpy as np
import pytest

from autograder.checks import assert_figure
from autograder.suites.deep_chain.inputs import chain_problem

REFERENCE = "mlhw_ref.chain"


@pytest.mark.question("q8", points=3)
def test_q8_plot_costs(student, ref, rng):
    """plot_costs draws one line per initialisation, J against iteration, log y-axis"""
    costs = {}
    for weight in (1.0, 0.9, 5.0):
        p = chain_problem(rng, l=6)
        costs[f"w0 = {weight}"] = ref.train_chain(p["x"], p["y"], np.full(6, weight), None, 0.1, 40)[2]
    fig = student.plot_costs(costs)
    assert_figure(fig, n_lines=3, line_length=41, yscale="log")


@pytest.mark.question("q8", points=2)
def test_q8_plot_trace(student, ref, rng):
    """plot_trace draws h (l+1 points) and g (l points) against the layer, log y-axis"""
    p = chain_problem(rng, l=12)
    h, g = ref.first_iteration_trace(p["x"], p["y"], p["w"])
    fig = student.plot_trace(h, g)
    assert_figure(fig, yscale="log", min_points=12)
