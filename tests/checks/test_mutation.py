"""One walk finds changed arguments for the proxy, assert_not_mutated and check()."""

import numpy as np
import pytest

from autograder.checks import assert_not_mutated
from autograder.checks.mutation import differences, path_text, snapshot
from autograder.errors import CheckFailed
from autograder.proxy import changed_paths


def test_differences_name_every_changed_place() -> None:
    old = {"W1": np.ones(3), "layers": [np.zeros(2), 1.5], "lr": 0.1}
    new = {"W1": np.array([1.0, 2.0, 1.0]), "layers": [np.zeros(2), 2.5], "lr": 0.1}
    found = [(path_text("argument 1", p), what) for p, what in differences(old, new)]
    assert found == [
        ("argument 1['W1']", "1 of 3 entries changed"),
        ("argument 1['layers'][1]", "its value changed"),
    ]


def test_nan_generators_and_functions_are_not_changes() -> None:
    old = (np.array([np.nan, 1.0]), float("nan"), np.random.default_rng(0), np.tanh)
    new = (np.array([np.nan, 1.0]), float("nan"), np.random.default_rng(1), np.exp)
    assert list(differences(old, new)) == []


def test_the_proxy_reports_paths_as_python_indexing() -> None:
    args = ({"W1": np.ones(2)}, [np.zeros(2)])
    after = ({"W1": np.full(2, 2.0)}, [np.zeros(2)])
    assert changed_paths(args, {"lr": 0.1}, after, {"lr": 0.2}) == (
        "argument 1['W1']",
        "keyword `lr`",
    )


def test_assert_not_mutated_names_the_entry_in_words() -> None:
    before = {"params": [{"W": np.ones(2)}]}
    after = {"params": [{"W": np.zeros(2)}]}
    with pytest.raises(CheckFailed, match=r"\(element 0: entry 'W': 2 of 2 entries changed\)"):
        assert_not_mutated(before, after)


def test_snapshot_copies_arrays_inside_containers() -> None:
    w = np.ones(2)
    copy = snapshot(([w], {"w": w}))
    w[0] = 5.0
    assert copy[0][0][0] == 1.0 and copy[1]["w"][0] == 1.0
