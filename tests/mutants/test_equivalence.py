"""The report's hint for survivors: a mutant whose function returns what the solution's does
on the inputs the hidden suite gave it looks equivalent (issue #14)."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.mutants.equivalence import _same, looks_equivalent, recorded_calls
from autograder.mutants.generation import generate
from autograder.release.source import load_source


def test_same_compares_values_to_rounding_and_generators_by_state() -> None:
    assert _same({"a": np.ones(3), "b": [1.0, (2, "x")]},
                 {"a": np.ones(3) + 1e-13, "b": [1.0, (2, "x")]})
    assert not _same(np.ones(3), np.ones(3) * (1 + 1e-6))
    assert not _same(np.ones(3), np.ones((3, 1)))
    assert _same(np.random.default_rng(1), np.random.default_rng(1))
    assert not _same(np.random.default_rng(1), np.random.default_rng(2))
    assert not _same({"a": 1}, {"b": 1})


@pytest.mark.slow
def test_a_transposed_1d_array_looks_equivalent_and_a_changed_operator_does_not() -> None:
    source = load_source("plsa_em")
    calls = recorded_calls(source, seed=1)
    assert 0 < len(calls["log_likelihood"]) <= 20
    mutants = {m.id: m for m in generate(source)}
    same = looks_equivalent(source, mutants["log_likelihood.transpose.5e2c70"], calls)
    assert same.startswith("looks equivalent: log_likelihood returns what the solution's does")
    assert looks_equivalent(source, mutants["log_likelihood.binop.873adb"], calls) == ""
