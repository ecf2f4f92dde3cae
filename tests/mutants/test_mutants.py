"""Mutation testing in CI (issue #14): the operators on small code, and a
FIXED sample of known-killed mutants, one per question that has mutants, graded with the
hidden suites.
Each must lose points in its own question: a suite that gets weaker fails the build.

The ids are stable (``generation._mutant_id``); they were seen killed in a full or bounded
run of ``mlhw mutants`` (benchmarks/RESULTS_mutation.md). The baseline is each question's
full marks (the worked solution takes them: tests/solutions), so the solution is not graded
again here.
"""

from __future__ import annotations

import ast

import pytest

from autograder.mutants.generation import generate, mutant_notebook, region_code, spread
from autograder.mutants.grading import classify, full_marks, run
from autograder.mutants.operators import apply, sites
from autograder.release.source import load_source

SAMPLE = {  # one per question that has mutants
    "deep_chain": ["chain_forward.binop.71b97a", "chain_backward.binop.6a6140",
                   "chain_gradients.binop.e1564a", "train_chain.binop.b443f1",
                   "two_layer_grads.sign.48d8d2", "plot_trace.binop.beb831"],
    "plsa_em": ["log_likelihood.binop.873adb", "e_step.binop.56685b", "m_step.binop.defd5e",
                "fit_plsa.binop.8853ac", "top_words.sign.7272eb"],
    "sigmoid_mlp": ["forward.sibling.cc82cc", "backward.binop.467dac", "he_std.binop.faa455",
                    "train.index.5c8012"],
    "gd_mnist": ["grad_quadratic.binop.4ec809", "gd_quadratic.binop.9d02f4",
                 "converges.binop.0bcc15", "steps_to_tolerance.sign.f9ed54",
                 "init_weights.binop.2a5679", "feed_forward_sample.sign.4bde53",
                 "gradients_one_sample.binop.412429"],
    "mlp_multiclass": ["sigmoid.constant.53a452", "softmax.binop.3a5700", "n_params.binop.862525",
                       "fprop.binop.8bd7b3", "grad_check.binop.734061", "train.binop.a5b18b",
                       "train.index.e9014b", "plot_decision_boundary.sibling.0e9af5"],
}
SEED = 1


# --------------------------------------------------------------------------- operators

def mutated(code: str, operator: str, names=frozenset(), functions=frozenset()) -> list[str]:
    return [apply(code, s) for s in sites(code, names, functions) if s.operator == operator]


def test_sign_drops_a_unary_minus_but_not_in_an_index_or_an_axis() -> None:
    assert mutated("g = -y / m", "sign") == ["g = y / m"]
    assert mutated("a = h[-1]", "sign") == []
    assert mutated("s = x.sum(axis=-1)", "sign") == []


def test_binop_swaps_plus_minus_and_star_matmul() -> None:
    got = mutated("z = a * b + c", "binop")
    assert "z = a * b - c" in got and "z = a @ b + c" in got
    assert mutated("w -= lr * g", "binop")[0] == "w += lr * g"


def test_index_shifts_literals_and_names_by_one() -> None:
    assert set(mutated("y = h[-1] + g[k]", "index")) == {"y = h[-2] + g[k]", "y = h[-1] + g[k - 1]"}
    assert "for k in range(1, n)" in mutated("for k in range(0, n): pass", "index")[0]
    assert mutated("u = h[:-1]", "index") == ["u = h[:-2]"]


def test_axis_changes_the_reduction_axis() -> None:
    assert mutated("s = x.sum(axis=0)", "axis") == ["s = x.sum(axis=1)"]
    assert mutated("s = x.sum(axis=-1)", "axis") == ["s = x.sum(axis=0)"]


def test_transpose_is_dropped_or_added_on_the_right_of_matmul() -> None:
    assert set(mutated("d = X.T @ G", "transpose")) == {"d = X @ G", "d = X.T @ G.T"}


def test_factor_drops_a_division_or_a_constant_and_adds_a_half() -> None:
    got = mutated("g = 2 * e / m", "factor")
    assert {"g = 2 * e", "g = 2 * e / (2 * m)", "g = e / m"} == set(got)


def test_reduce_turns_sum_into_mean() -> None:
    assert mutated("c = np.sum(r ** 2)", "reduce") == ["c = np.mean(r ** 2)"]
    assert mutated("c = r.mean()", "reduce") == ["c = r.sum()"]


def test_sibling_swaps_functions_for_their_siblings_and_derivatives() -> None:
    names = frozenset({"sigmoid", "dsigmoid", "phi", "dphi", "w", "dw"})
    functions = frozenset({"sigmoid", "dsigmoid", "dphi"})
    assert mutated("h = np.tanh(u)", "sibling", names, functions) == ["h = sigmoid(u)"]
    assert mutated("h = np.log(p)", "sibling") == ["h = np.log1p(p)"]
    assert mutated("s = sigmoid(u)", "sibling", names, functions) == [
        "s = np.tanh(u)", "s = dsigmoid(u)"]
    assert mutated("g = dphi(u)", "sibling", names, functions) == ["g = phi(u)"]
    assert mutated("w = w - dw", "sibling", names, functions) == []  # w is no function


def test_constant_changes_numbers_but_not_indices_or_keywords() -> None:
    assert mutated("c = 0.5 * r ** 2", "constant") == ["c = 1.0 * r ** 2", "c = 0.5 * r ** 3"]
    assert mutated("f = Figure(figsize=(6, 4)); a = h[0]", "constant") == []


def test_parentheses_are_added_where_precedence_needs_them() -> None:
    assert "y = a * (b - c)" in mutated("y = a * (b + c)", "binop")
    assert set(mutated("y = (a + b) / (2 * c)", "factor")) >= {"y = a + b", "y = (a + b) / (c)"}
    for site in sites("y = x / (a - b) ** 2 - c * -d"):
        ast.parse(apply("y = x / (a - b) ** 2 - c * -d", site))


def test_comments_and_other_lines_stay_as_written() -> None:
    code = "a = 1  # one\nb = a + 2  # two\n"
    assert mutated(code, "binop") == ["a = 1  # one\nb = a - 2  # two\n"]


@pytest.mark.parametrize("name", ["deep_chain", "plsa_em", "sigmoid_mlp", "gd_mnist",
                                  "mlp_multiclass"])
def test_every_assignment_has_mutants_with_unique_stable_ids(name: str) -> None:
    source = load_source(name)
    mutants = generate(source)
    assert len(mutants) > 30
    assert len({m.id for m in mutants}) == len(mutants)
    assert [m.id for m in generate(source)] == [m.id for m in mutants]
    assert {m.question for m in mutants} <= set(source.questions)


def test_a_mutant_notebook_differs_from_the_solution_in_its_line_only() -> None:
    source = load_source("deep_chain")
    mutant = next(m for m in generate(source) if m.id.startswith("chain_backward.sign")
                  or m.function == "chain_backward")
    solution = mutant_notebook(source, None)
    changed = mutant_notebook(source, mutant)
    diff = [(a.source, b.source) for a, b in zip(solution.cells, changed.cells, strict=True)
            if a.source != b.source]
    assert len(diff) == 1
    removed = set(diff[0][0].split("\n")) - set(diff[0][1].split("\n"))
    assert {ln.strip() for ln in removed} == {mutant.before}


def test_spread_takes_every_question_first() -> None:
    source = load_source("deep_chain")
    mutants = generate(source)
    questions = {m.question for m in mutants}
    assert {m.question for m in spread(mutants, len(questions))} == questions
    assert spread(mutants, None) == mutants


def test_region_code_is_dedented() -> None:
    source = load_source("deep_chain")
    cell = next(c for c in source.cells if c.regions)
    assert not region_code(cell.source, cell.regions[0]).startswith(" ")


# --------------------------------------------------------------------------- the sample


@pytest.mark.parametrize("name", sorted(SAMPLE))
def test_sample_ids_still_name_mutants(name: str) -> None:
    """A renamed or rewritten solution line changes ids: pick new ones from a run."""
    ids = {m.id for m in generate(load_source(name))}
    assert set(SAMPLE[name]) <= ids, f"{name}: no mutant {sorted(set(SAMPLE[name]) - ids)}"


@pytest.mark.slow
def test_known_killed_mutants_are_killed_by_their_own_question() -> None:
    survivors = []
    for name, ids in SAMPLE.items():
        source = load_source(name)
        mutants = [m for m in generate(source) if m.id in ids]
        _, outcomes = run(source, mutants, jobs=2, seed=SEED, baseline=full_marks(source),
                          equivalent={})
        assert len(outcomes) == len(ids)
        survivors += [f"{name} {o.mutant.id} [{o.mutant.question}]: {o.status}, lost "
                      f"{o.lost or 'nothing'} {o.note}: {o.mutant.describe()}"
                      for o in outcomes if o.status != "killed"]
    assert not survivors, "the suite no longer kills:\n" + "\n".join(survivors)


def test_a_mutant_is_killed_only_by_points_lost_in_its_own_question() -> None:
    mutant = next(m for m in generate(load_source("deep_chain")) if m.question == "q2")
    base = {"q1": (10.0, 10.0), "q2": (20.0, 20.0)}
    assert classify(mutant, {"q1": (10.0, 10), "q2": (4.0, 20)}, base, {}).status == "killed"
    knock_on = classify(mutant, {"q1": (5.0, 10), "q2": (20.0, 20)}, base, {})
    assert (knock_on.status, knock_on.lost) == ("knock-on", {"q1": 5.0})
    assert classify(mutant, base, base, {}).status == "survived"
    marked = classify(mutant, base, base, {mutant.id: "same maths"})
    assert (marked.status, marked.note) == ("equivalent", "same maths")
    assert classify(mutant, {"q1": (10.0, 10), "q2": (0.0, 20)}, base,
                    {mutant.id: "wrong mark"}).note == "marked equivalent, yet killed"
