"""The worked derivations: every sympy check of every ``solutions/*/verify_derivations.py``
holds, the symbolic answers are the contract's, and a wrong step is caught."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import sympy as sp

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
ASSIGNMENTS = ("plsa_em", "sigmoid_mlp", "deep_chain", "gd_mnist", "mlp_multiclass")

# The contract of ASSIGNMENTS.md, written out independently of the scripts:
# answer name -> (expected value in the contract's notation, names of its free symbols).
CONTRACT: dict[str, dict[str, tuple[str, set[str]]]] = {
    "plsa_em": {"alpha_1": ("s1/(s1 + s2 + s3)", {"s1", "s2", "s3"})},
    "sigmoid_mlp": {
        "sigma_sq": ("2/n", {"n"}),
        "max_dsigmoid": ("1/4", set()),
        "contraction": ("(4 - eps)/4", {"eps"}),
    },
    "deep_chain": {"shrink_factor": ("5*sech(5)**2", set())},
    "gd_mnist": {
        "w_star": ("(0, 0)", set()),
        "rho1": ("1 - eta*a", {"eta", "a"}),
        "rho2": ("1 - eta*b", {"eta", "b"}),
        "eta_max": ("Min(2/a, 2/b)", {"a", "b"}),
        "eta_opt": ("2/(a + b)", {"a", "b"}),
        "rate_opt": ("(a - b)/(a + b)", {"a", "b"}),
    },
    "mlp_multiclass": {
        "sigmoid_via_tanh": ("(tanh(x/2) + 1)/2", {"x"}),
        "log_sigmoid": ("-log(1 + exp(-x))", {"x"}),
        "dsigmoid_in_s": ("s*(1 - s)", {"s"}),
        "dtanh_in_t": ("1 - t**2", {"t"}),
        "n_params_expr": ("d_h*(d + 1) + m*(d_h + 1)", {"d", "d_h", "m"}),
    },
}

# Assumptions the grader must declare on its symbols for the answers to compare equal.
POSITIVE = {"s1", "s2", "s3", "n", "eps", "a", "b", "s", "d", "d_h", "m"}
REAL = {"x", "t", "eta"}


def _load_fresh(name: str) -> ModuleType:
    path = SOLUTIONS / name / "verify_derivations.py"
    spec = importlib.util.spec_from_file_location(f"verify_derivations_{name}", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_load = functools.cache(_load_fresh)

STEPS = [(name, step) for name in ASSIGNMENTS for step, _ in _load(name).CHECKS]


@pytest.mark.parametrize(("assignment", "step"), STEPS, ids=[f"{a}:{s}" for a, s in STEPS])
def test_derivation_step_holds(assignment: str, step: str) -> None:
    dict(_load(assignment).CHECKS)[step]()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_checks_are_named_uniquely_and_callable(assignment: str) -> None:
    checks = _load(assignment).CHECKS
    names = [name for name, _ in checks]
    assert len(names) == len(set(names)), f"duplicate check names in {assignment}: {names}"
    assert len(checks) >= 5, f"{assignment} verifies only {len(checks)} steps"
    assert all(callable(fn) for _, fn in checks)


ANSWER_CASES = [(a, k) for a, answers in CONTRACT.items() for k in answers]


@pytest.mark.parametrize(
    ("assignment", "answer"), ANSWER_CASES, ids=[f"{a}:{k}" for a, k in ANSWER_CASES]
)
def test_answer_matches_contract(assignment: str, answer: str) -> None:
    module = _load(assignment)
    assert answer in module.ANSWERS, f"{assignment}: ANSWERS has no {answer!r}"
    value = module.ANSWERS[answer]
    expected_text, expected_symbols = CONTRACT[assignment][answer]
    assert {s.name for s in value.free_symbols} == expected_symbols
    for sym in value.free_symbols:
        if sym.name in POSITIVE:
            assert sym.is_positive, f"{sym} in {answer} should be declared positive"
        if sym.name in REAL:
            assert sym.is_real, f"{sym} in {answer} should be declared real"
    names = {s.name: s for s in value.free_symbols}
    expected = sp.parse_expr(expected_text, local_dict=names)
    if isinstance(value, sp.Tuple):
        assert len(value) == len(expected)
        assert all(sp.simplify(v - e) == 0 for v, e in zip(value, expected))
    else:
        assert sp.simplify((value - expected).rewrite(sp.exp)) == 0, f"{value} != {expected}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_answers_have_no_extra_entries(assignment: str) -> None:
    assert set(_load(assignment).ANSWERS) == set(CONTRACT[assignment])


def test_shrink_factor_value() -> None:
    # 5 sech(5)^2 = 20 e^-10 / (1 + e^-10)^2, computed here with the standard library
    import math

    expected = 20 * math.exp(-10) / (1 + math.exp(-10)) ** 2
    value = float(_load("deep_chain").ANSWERS["shrink_factor"])
    assert value == pytest.approx(expected, rel=1e-14)
    assert 9.07e-4 < value < 9.09e-4


# ------------------------------------------------------------------------------------------
# A check must be able to fail: plant the known mistakes of ASSIGNMENTS.md.


def _one_minus_u_sq(u: sp.Expr) -> sp.Expr:
    return 1 - u**2  # the known mistake: tanh' written in u instead of tanh(u)


# assignment -> (verify module -> {mistake: (check function name, wrong keyword arguments)})
_PLANTED = {
    "plsa_em": lambda m: {
        "alpha normalised over two topics": (
            "check_alpha_stationary_point",
            {"alpha_1": m.s1 / (m.s1 + m.s2)},
        ),
    },
    "sigmoid_mlp": lambda m: {
        "He variance 1/n": ("check_he_variance_preserves_variance", {"var_w": 1 / m.n}),
        "He variance sqrt(2/n)": (
            "check_he_variance_preserves_variance",
            {"var_w": sp.sqrt(2 / m.n)},
        ),
        "max sigma' = 1/2": ("check_max_dsigmoid", {"max_dsigmoid": sp.Rational(1, 2)}),
        "contraction (4 - eps)/2": (
            "check_contraction_per_layer",
            {"contraction": (4 - m.eps) / 2},
        ),
        "sigma' at the activation": ("check_hidden_layer_gradients", {"use_activation": True}),
    },
    "deep_chain": lambda m: {
        "shrink factor with 1 - u^2": ("check_shrink_factor", {"dtanh": _one_minus_u_sq}),
        "g_l with 1 - u^2": ("check_output_layer_g", {"dtanh": _one_minus_u_sq}),
        "recurrence with 1 - u^2": ("check_backward_recurrence", {"dtanh": _one_minus_u_sq}),
        "G1 with phi instead of phi'": (
            "check_two_layer_matrix_gradients",
            {"dphi": sp.Function("phi")},
        ),
    },
    "gd_mnist": lambda m: {
        "w* = (1, 0)": ("check_minimiser", {"w_star": sp.Tuple(1, 0)}),
        "rho1 = 1 + eta a": ("check_gd_step_scales_each_coordinate", {"rho1": 1 + m.eta * m.a}),
        "eta_max = Max(2/a, 2/b)": (
            "check_eta_max_is_supremum",
            {"eta_max": sp.Max(2 / m.a, 2 / m.b)},
        ),
        "eta_opt = 1/a": ("check_optimal_step_equalises_rates", {"eta_opt": 1 / m.a}),
        "sigma' at the activation": ("check_mlp_backprop", {"sigma_prime_at_activation": True}),
    },
    "mlp_multiclass": lambda m: {
        "sigma via tanh(x)": ("check_sigmoid_via_tanh", {"answer": (sp.tanh(m.x) + 1) / 2}),
        "log sigma = -log(1 + e^x)": ("check_log_sigmoid", {"answer": -sp.log(1 + sp.exp(m.x))}),
        "tanh' = 1 - x^2": ("check_dtanh_in_t", {"answer": 1 - m.x**2}),
        "n_theta without biases": (
            "check_n_params_counts_entries",
            {"answer": m.d_h * m.d + m.m * m.d_h},
        ),
        "dW2 from the pre-activation": (
            "check_relu_softmax_gradients",
            {"w2_uses_preactivation": True},
        ),
    },
}


def _wrong(assignment: str) -> dict[str, tuple[str, dict]]:
    return _PLANTED[assignment](_load(assignment))


MISTAKES = [(a, label) for a in ASSIGNMENTS for label in _wrong(a)]


@pytest.mark.parametrize(
    ("assignment", "mistake"), MISTAKES, ids=[f"{a}:{label}" for a, label in MISTAKES]
)
def test_planted_mistake_is_caught(assignment: str, mistake: str) -> None:
    check_name, kwargs = _wrong(assignment)[mistake]
    check = getattr(_load(assignment), check_name)
    with pytest.raises(AssertionError) as excinfo:
        check(**kwargs)
    assert str(excinfo.value), "a failing check must say what was wrong"


# ------------------------------------------------------------------------------------------
# The scripts' runner


def test_import_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ASSIGNMENTS:
        _load_fresh(name)
    assert capsys.readouterr().out == ""


def test_main_reports_each_step_and_fails_on_a_failed_step(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _load_fresh("plsa_em")

    def broken() -> None:
        raise AssertionError("planted failure")

    monkeypatch.setattr(module, "CHECKS", [module.CHECKS[0], ("broken_step", broken)])
    assert module.main() == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{module.CHECKS[0][0]}: ok",
        "broken_step: FAILED: AssertionError: planted failure",
    ]
    monkeypatch.setattr(module, "CHECKS", module.CHECKS[:1])
    assert module.main() == 0


def test_script_runs_standalone_and_exits_zero() -> None:
    script = SOLUTIONS / "deep_chain" / "verify_derivations.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(_load("deep_chain").CHECKS)
    assert all(line.endswith(": ok") for line in lines), done.stdout


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_derivations_md_names_every_check(assignment: str) -> None:
    text = (SOLUTIONS / assignment / "derivations.md").read_text(encoding="utf-8")
    missing = [name for name, _ in _load(assignment).CHECKS if f"`{name}`" not in text]
    assert not missing, f"{assignment}/derivations.md never cites the checks {missing}"
