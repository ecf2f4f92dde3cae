"""Question 3: He initialisation — the standard deviation, its variance as a formula, the
initialiser's statistics and the variance of deep ReLU stacks built from it.

False failures of the statistical checks (a correct initialiser failing by bad luck):
- per-layer standard deviations: ``assert_std_close`` at 1e-6 per check (it refuses samples
  too small for that), pooled over several calls of ``init_params`` with fresh Generators;
- the 30-layer ReLU stack: a single stack's log-variance drifts like a random walk (its
  standard deviation after 30 layers is about 0.95 at width 128 and 0.7 at width 256), so a
  correct He init leaves [0.7, 1.4] in most single draws. The check averages the variance of
  z over ``N_STACKS`` = 40 independent stacks of width 128 before taking ratios, which
  estimates E[Var z_l] (exactly constant in l under He: z is symmetric, so
  E[relu(z)^2] = Var(z)/2). Measured on simulated correct stacks, one such average still
  leaves [0.7, 1.4] with probability p of about 0.13 (22 of 200 and 22 of 150 draws in two
  runs; 11.5% by resampling 200 stacks), and never left [0.35, 2.8] (0 of 150). So the check
  draws a fresh, independent average when one misses by less than a factor of 2
  (``RETRY_BAND``), ``ATTEMPTS`` = 6 times at most: a correct init fails with probability
  about p^6 = 5e-6, and costs one more average (about 1.5 s) in 13% of gradings. Every
  realistic mistake changes the variance by a factor of at least 2 per layer (N(0, 1)
  weights: x64; variance 1/n: x0.5; sqrt(2/n) used as the variance: x8), i.e. by 2^29 or
  more over the stack, far outside the retry band, so it fails at once. (Width 256 would
  need 4x the data for p = 0.009 per average; shipping weights out of the worker is the cost.)
  The running average is looked at after every stack, and passes as soon as it lies in
  [0.7, 1.4]: a correct init passes after 9.9 stacks on average instead of 40 (50 simulated
  groups of 40; 18.4 when looked at after 10, 20, 30 and 40 only), which only adds chances
  to pass for a correct init; a mistake (2^29 off) is never in the band, however few stacks.
"""

import numpy as np
import pytest
import sympy as sp

from autograder.checks import (
    Mistake,
    assert_close_or_diagnose,
    assert_derivation,
    assert_equivalent,
    assert_mean_close,
    assert_std_close,
    assert_variance_ratio_in,
    describe_call,
)
from autograder.errors import CheckFailed
from autograder.suites.sigmoid_mlp.inputs import equivalent

REFERENCE = "mlhw_ref.sigmoid_mlp"

N_SYMBOL = sp.Symbol("n", positive=True)
# The derivation's symbols: expectations are named symbols (E_h2 = E[h^2], ...), as the
# notebook declares them; variances, second moments, n and s are positive.
_POSITIVE = ("n", "s", "Var_a", "Var_z", "E_h2", "E_w2", "E_z2")
_REAL = ("E_z", "E_w", "E_h", "E_hh")
DERIVATION_SYMBOLS = {**{k: sp.Symbol(k, positive=True) for k in _POSITIVE},
                      **{k: sp.Symbol(k, real=True) for k in _REAL}}
DERIVATION_ASSUMPTIONS = {**{k: "positive" for k in _POSITIVE}, **{k: "real" for k in _REAL}}
# The rules the notebook states, as substitutions (each resolved all the way down):
# z = sum_j w_j h_j expanded by linearity, w_j independent of h_j and of w_k, E[w] = 0 and
# so E[w^2] = Var(w) = s^2.
VAR_Z_RULES = {"E_z": "0", "E_z2": "n*s**2*E_h2", "E_w": "0", "E_w2": "s**2"}
# For sigma^2: the result of the first derivation and the named intermediate E[h^2] = Var(a)/2.
SIGMA_SQ_FACTS = {"Var_z": "n*s**2*Var_a/2", "E_h2": "Var_a/2"}
STACK_LAYERS = 30
STACK_WIDTH = 128
N_STACKS = 40
STACK_SAMPLES = 32
ATTEMPTS = 6
RETRY_BAND = (0.35, 2.8)  # a factor of 2 beyond the bounds: only chance lands here


@pytest.mark.question("q3", points=2)
def test_q3_he_std(student, ref, rng):
    """he_std(n_in) = sqrt(2 / n_in)"""
    for n_in in [1, 2, 784, *map(int, rng.integers(3, 500, size=3))]:
        expected = np.sqrt(2.0 / n_in)
        mistakes = [
            (Mistake("variance", f"he_std({n_in}) returned the variance 2/n_in; the standard deviation "
                     "is its square root, sqrt(2/n_in)"), 2.0 / n_in),
            (Mistake("lecun", f"he_std({n_in}) returned sqrt(1/n_in); He's factor 2 compensates for "
                     "ReLU zeroing half of its inputs: sqrt(2/n_in)"), np.sqrt(1.0 / n_in)),
        ]
        assert_close_or_diagnose(student.he_std(n_in), expected, mistakes, name=f"he_std({n_in})",
                                 called=f"he_std({n_in})", rtol=1e-9)


@pytest.mark.question("q3", points=2)
def test_q3_sigma_sq(student):
    """sigma_sq, the He weight variance as a formula in n, is 2/n"""
    value = student["sigma_sq"]
    if equivalent(value, "sqrt(2/n)", {"n": N_SYMBOL}):
        raise CheckFailed("sigma_sq: you wrote sqrt(2/n), the standard deviation; sigma_sq is the "
                          "VARIANCE of the weights (the square of he_std)")
    assert_equivalent(value, "2/n", {"n": N_SYMBOL}, name="sigma_sq")


@pytest.mark.question("q3", points=1)
def test_q3_relu_second_moment(student):
    """relu_second_moment, E[h^2] for h = max(0, a) with a symmetric around 0, is Var_a/2"""
    value = student["relu_second_moment"]
    symbols = {"Var_a": DERIVATION_SYMBOLS["Var_a"]}
    if equivalent(value, "Var_a", symbols):
        raise CheckFailed("relu_second_moment: Var_a is E[a^2]; the ReLU sets the negative half of a "
                          "to 0, and a is symmetric around 0, so only half of E[a^2] remains")
    if equivalent(value, "Var_a/2 - Var_a/(2*pi)", symbols):
        raise CheckFailed("relu_second_moment: that is Var(h), not E[h^2]: h = max(0, a) does not have "
                          "mean 0, and the variance of z needs the second moment E[h^2]")
    assert_equivalent(value, "Var_a/2", symbols, name="relu_second_moment")


@pytest.mark.question("q3", points=2)
def test_q3_derivation_var_z(student):
    """derivation_var_z: each step follows from the one before, from Var_z = E_z2 - E_z**2 to
    Var(z) in n, s and E_h2"""
    assert_derivation(student["derivation_var_z"], start="Var_z = E_z2 - E_z**2",
                      target="Var_z = n*s**2*E_h2", symbols=DERIVATION_SYMBOLS,
                      assumptions=DERIVATION_ASSUMPTIONS, facts=VAR_Z_RULES, name="derivation_var_z")


@pytest.mark.question("q3", points=1)
def test_q3_derivation_sigma_sq(student):
    """derivation_sigma_sq: each step follows from the one before, from Var_z = Var_a to the
    weight variance s**2"""
    steps = student["derivation_sigma_sq"]
    assert_derivation(steps, start="Var_z = Var_a", target="s**2 = 2/n", symbols=DERIVATION_SYMBOLS,
                      assumptions=DERIVATION_ASSUMPTIONS, facts=SIGMA_SQ_FACTS, unknowns=["s"],
                      name="derivation_sigma_sq")


def _standardised_layers(student, sizes, rng, scheme, calls):
    """Weights of every layer pooled over ``calls`` calls; checks keys, shapes and zero biases."""
    d = len(sizes) - 2
    pooled: dict[str, list[np.ndarray]] = {}
    for _ in range(calls):
        seed = np.random.default_rng(int(rng.integers(2**32)))
        called = describe_call("init_params", {"sizes": sizes, "rng": seed, "scheme": scheme})
        params = student.init_params(list(sizes), seed, scheme)
        if not isinstance(params, dict):
            raise CheckFailed(f"init_params must return a dict, got {type(params).__name__}\n  called: {called}")
        for l in range(1, d + 2):
            wkey, bkey = (f"W{l}", f"b{l}") if l <= d else (f"w{l}", f"b{l}")
            wshape = (sizes[l - 1], sizes[l]) if l <= d else (sizes[l - 1],)
            for key in (wkey, bkey):
                if key not in params:
                    raise CheckFailed(f"init_params({sizes}) returned no {key!r} (keys: "
                                      f"{', '.join(map(str, params))})\n  called: {called}")
            W = np.asarray(params[wkey], dtype=float)
            if W.shape != wshape:
                raise CheckFailed(f"{wkey} has shape {W.shape}; expected {wshape}\n  called: {called}")
            b = np.asarray(params[bkey], dtype=float)
            if b.shape not in (((sizes[l],),) if l <= d else ((), (1,))) or np.any(b != 0):
                raise CheckFailed(f"{bkey} must be zeros of shape {(sizes[l],) if l <= d else '() (a number)'}; "
                                  f"got shape {b.shape} with {int(np.count_nonzero(b))} non-zero entries"
                                  f"\n  called: {called}")
            pooled.setdefault(wkey, []).append(W.ravel())
    return {k: np.concatenate(v) for k, v in pooled.items()}


def _std_hint(samples, n_in, n_out):
    s = float(np.std(samples))
    guesses = [(np.sqrt(1.0 / n_in), "sqrt(1/n_in): He's variance is 2/n_in"),
               (np.sqrt(2.0 / n_out), "sqrt(2/n_out): use the fan-in n_in, the width of the layer below"),
               (2.0 / n_in, "2/n_in as the standard deviation: 2/n_in is the variance"),
               ((2.0 / n_in) ** 0.25, "sqrt(2/n_in) as the variance"),
               (1.0, "N(0, 1) weights")]
    for value, words in guesses:
        if abs(s - value) < 0.05 * value and abs(value - np.sqrt(2.0 / n_in)) > 0.1 * value:
            return f"your weights look like {words}"
    return None


@pytest.mark.question("q3", points=3)
def test_q3_init_params_he_statistics(student, rng):
    """init_params(..., "he"): every layer's weights, the output unit's too, ~ N(0, 2/n_in)
    (std within 5%), biases 0"""
    # The last hidden layer is wide so that the output unit's weights alone are enough
    # samples for 5% (a 1/n_in variance on the output unit is 29% off: it must fail).
    sizes = [int(rng.integers(55, 70)), int(rng.integers(40, 50)), int(rng.integers(1000, 1100)), 1]
    pooled = _standardised_layers(student, sizes, rng, "he", calls=5)
    for l, (key, W) in enumerate(pooled.items(), start=1):
        n_in, n_out = sizes[l - 1], sizes[l]
        std = np.sqrt(2.0 / n_in)
        called = f"init_params({sizes}, rng, 'he'), {key} pooled over 5 calls"
        try:
            assert_mean_close(W, 0.0, std=std, name=f"the entries of {key}", called=called)
            assert_std_close(W, std, rel=0.05, name=f"the entries of {key}", called=called)
        except CheckFailed as exc:
            hint = _std_hint(W, n_in, n_out)
            raise CheckFailed(f"{hint}\n{exc}" if hint else str(exc)) from None


@pytest.mark.question("q3", points=1)
def test_q3_init_params_normal_statistics(student, rng):
    """init_params(..., "normal"): each weight ~ N(0, 1), biases 0"""
    sizes = [int(rng.integers(55, 70)), int(rng.integers(40, 50)), 1]
    pooled = _standardised_layers(student, sizes, rng, "normal", calls=5)
    for key, W in pooled.items():
        called = f"init_params({sizes}, rng, 'normal'), {key} pooled over 5 calls"
        assert_mean_close(W, 0.0, std=1.0, name=f"the entries of {key}", called=called)
        assert_std_close(W, 1.0, rel=0.05 if W.size >= 4787 else 0.4, name=f"the entries of {key}",
                         called=called)


@pytest.mark.question("q3", points=1)
def test_q3_init_params_draws_only_from_rng(student, rng):
    """init_params draws only from rng: the same Generator state gives the same weights, another
    state other weights"""
    sizes = [int(rng.integers(5, 9)), int(rng.integers(3, 6)), int(rng.integers(3, 6)), 1]
    seed, other = (int(v) for v in rng.integers(2**32, size=2))
    draws = [student.init_params(list(sizes), np.random.default_rng(s), "he") for s in (seed, seed, other)]
    called = f"init_params({sizes}, np.random.default_rng(seed), 'he')"
    for params in draws:
        if not isinstance(params, dict):
            raise CheckFailed(f"init_params must return a dict, got {type(params).__name__}\n  called: {called}")
    same = lambda a, b: set(a) == set(b) and all(
        np.array_equal(np.asarray(a[k], dtype=float), np.asarray(b[k], dtype=float)) for k in a)
    if not same(draws[0], draws[1]):
        raise CheckFailed(
            "two calls of init_params with Generators in the same state returned different weights: "
            "draw every random number from the rng argument (rng.normal(0.0, std, size=shape)), "
            f"not from np.random.* or a new Generator, so that a run can be reproduced\n  called: {called} twice")
    if same(draws[0], draws[2]):
        raise CheckFailed(
            "init_params returned the same weights for Generators in different states: draw the "
            "weights from the rng argument (do not reseed or create your own Generator)"
            f"\n  called: {called} with two different seeds")


@pytest.mark.question("q3", points=2)
def test_q3_relu_stack_keeps_its_variance(student, rng):
    """a 30-layer ReLU stack built from your He init keeps Var(z) within [0.7, 1.4] of layer 1
    (averaged over many stacks)"""
    for attempt in range(1, ATTEMPTS + 1):
        for stacks, ratios in _stack_variances(student, rng):
            try:
                assert_variance_ratio_in(ratios, (0.7, 1.4), name="the variance of z (mean of "
                                         f"{stacks} stacks of width {STACK_WIDTH})")
                return
            except CheckFailed:
                if stacks < N_STACKS:
                    continue
                r = ratios / ratios[0]
                if attempt == ATTEMPTS or r.min() < RETRY_BAND[0] or r.max() > RETRY_BAND[1]:
                    raise


def _stack_variances(student, rng):
    """(stacks so far, the mean variance of z per layer over them) after each stack."""
    sizes = [STACK_WIDTH] * (STACK_LAYERS + 1) + [1]
    var_z = np.zeros(STACK_LAYERS)
    for stacks in range(1, N_STACKS + 1):
        params = student.init_params(sizes, np.random.default_rng(int(rng.integers(2**32))), "he")
        h = rng.standard_normal((STACK_SAMPLES, STACK_WIDTH))
        for l in range(1, STACK_LAYERS + 1):
            W = np.asarray(params.get(f"W{l}") if isinstance(params, dict) else None, dtype=float)
            if W.shape != (STACK_WIDTH, STACK_WIDTH):
                raise CheckFailed(f"init_params({STACK_WIDTH} x {STACK_LAYERS + 1} widths) gave W{l} "
                                  f"of shape {W.shape}; expected {(STACK_WIDTH, STACK_WIDTH)}")
            z = h @ W
            var_z[l - 1] += z.var()
            h = np.maximum(z, 0.0)
        yield stacks, var_z / stacks
