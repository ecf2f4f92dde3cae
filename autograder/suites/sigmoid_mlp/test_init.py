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
"""

import numpy as np
import pytest
import sympy as sp

from autograder.checks import (
    Mistake,
    assert_close_or_diagnose,
    assert_equivalent,
    assert_mean_close,
    assert_std_close,
    assert_variance_ratio_in,
    describe_call,
)
from autograder.errors import CheckFailed
from autograder.suites.sigmoid_mlp.inputs import answer, equivalent

REFERENCE = "mlhw_ref.sigmoid_mlp"

N_SYMBOL = sp.Symbol("n", positive=True)
STACK_LAYERS = 30
STACK_WIDTH = 128
N_STACKS = 40
STACK_SAMPLES = 32
ATTEMPTS = 6
RETRY_BAND = (0.35, 2.8)  # a factor of 2 beyond the bounds: only chance lands here


@pytest.mark.question("q3", points=3)
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


@pytest.mark.question("q3", points=3)
def test_q3_sigma_sq(student):
    """sigma_sq, the He weight variance as a formula in n, is 2/n"""
    value = answer(student, "sigma_sq")
    if equivalent(value, "sqrt(2/n)", {"n": N_SYMBOL}):
        raise CheckFailed("sigma_sq: you wrote sqrt(2/n), the standard deviation; sigma_sq is the "
                          "VARIANCE of the weights (the square of he_std)")
    assert_equivalent(value, "2/n", {"n": N_SYMBOL}, name="sigma_sq")


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


@pytest.mark.question("q3", points=4)
def test_q3_init_params_he_statistics(student, rng):
    """init_params(..., "he"): each layer's weights ~ N(0, 2/n_in) (std within 5%), biases 0"""
    sizes = [int(rng.integers(55, 70)), int(rng.integers(40, 50)), int(rng.integers(30, 40)), 1]
    pooled = _standardised_layers(student, sizes, rng, "he", calls=5)
    for l, (key, W) in enumerate(pooled.items(), start=1):
        n_in, n_out = sizes[l - 1], sizes[l]
        std = np.sqrt(2.0 / n_in)
        called = f"init_params({sizes}, rng, 'he'), {key} pooled over 5 calls"
        try:
            assert_mean_close(W, 0.0, std=std, name=f"the entries of {key}", called=called)
            assert_std_close(W, std, rel=0.05 if W.size >= 4787 else 0.4, name=f"the entries of {key}",
                             called=called)
        except CheckFailed as exc:
            hint = _std_hint(W, n_in, n_out)
            raise CheckFailed(f"{hint}\n{exc}" if hint else str(exc)) from None


@pytest.mark.question("q3", points=2)
def test_q3_init_params_normal_statistics(student, rng):
    """init_params(..., "normal"): each weight ~ N(0, 1), biases 0"""
    sizes = [int(rng.integers(55, 70)), int(rng.integers(40, 50)), 1]
    pooled = _standardised_layers(student, sizes, rng, "normal", calls=5)
    for key, W in pooled.items():
        called = f"init_params({sizes}, rng, 'normal'), {key} pooled over 5 calls"
        assert_mean_close(W, 0.0, std=1.0, name=f"the entries of {key}", called=called)
        assert_std_close(W, 1.0, rel=0.05 if W.size >= 4787 else 0.4, name=f"the entries of {key}",
                         called=called)


@pytest.mark.question("q3", points=3)
def test_q3_relu_stack_keeps_its_variance(student, rng):
    """a 30-layer ReLU stack built from your He init keeps Var(z) within [0.7, 1.4] of layer 1
    (averaged over many stacks)"""
    for attempt in range(1, ATTEMPTS + 1):
        ratios = _stack_variances(student, rng)
        try:
            assert_variance_ratio_in(ratios, (0.7, 1.4), name="the variance of z (mean of "
                                     f"{N_STACKS} stacks of width {STACK_WIDTH})")
            return
        except CheckFailed:
            r = ratios / ratios[0]
            if attempt == ATTEMPTS or r.min() < RETRY_BAND[0] or r.max() > RETRY_BAND[1]:
                raise


def _stack_variances(student, rng):
    sizes = [STACK_WIDTH] * (STACK_LAYERS + 1) + [1]
    var_z = np.zeros(STACK_LAYERS)
    for _ in range(N_STACKS):
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
    return var_z / N_STACKS
