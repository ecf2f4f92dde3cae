"""Question 4: mini-batch SGD on MNIST 0 vs 1, judged by the grader's own test accuracy.

The data is the committed offline subset (mlhw_ref.datasets.mnist): 2,111 training and 423
test images of 0s and 1s, pixels scaled to [0, 1], sent as float64 arrays. The step size is
chosen so that both readings of "learning rate" work: lr = 0.1 on the batch-MEAN gradient
(the assignment's convention) reaches at least 99.5% here, and so does lr = 0.1 on the
batch SUM (measured over 8 seeds each); a trainer that does not learn stays near 50%.

Question 4 grades the training loop, not the functions it calls: a trainer that falls short
(or raises) is graded again with the functions of other questions that the notebook gets
wrong (`backward`, q2; `init_params`, q3; `forward` and `loss`, q1) lent from the reference
(`autograder.lending`), so a mistake there costs its own question only. A lent function is
a stand-in that calls back to the grader and only answers during the call it came with, so
a notebook cannot keep it for later questions.
"""

from functools import lru_cache
from weakref import WeakKeyDictionary

import numpy as np
import pytest

from autograder.checks import assert_close, describe_call
from autograder.errors import CheckFailed, StudentError
from autograder.lending import LendingView, graded_with_lent, stubs_as_failures
from autograder.suites.sigmoid_mlp.calls import backpropagation_once
from autograder.suites.sigmoid_mlp.inputs import network, problem

REFERENCE = "mlhw_ref.sigmoid_mlp"

MIN_ACCURACY = 0.99
TRAIN_TIMEOUT = 60
RUNS = 3
# The functions of other questions that `train` may call, and the question grading each.
HELPERS = {"backward": "q2", "init_params": "q3", "forward": "q1", "loss": "q1"}


@lru_cache(maxsize=1)
def _mnist01():
    """MNIST's 0s and 1s, read-only: the worker keeps the training set after the first
    call of train instead of receiving its 13 MB again for each training."""
    from mlhw_ref.datasets.mnist import as_float, binary_subset, load_mnist

    m = binary_subset(load_mnist(), (0, 1))
    arrays = as_float(m.X_train), m.y_train.astype(float), as_float(m.X_test), m.y_test.astype(float)
    for a in arrays:
        a.flags.writeable = False
    return arrays


# The probes' verdicts, once per grading (they are the notebook's: train's three tests
# share them), by student proxy.
_PROBED: WeakKeyDictionary = WeakKeyDictionary()


def _probed(student, what, probe):
    """``probe()``, computed for this grading's ``student`` the first time ``what`` is asked."""
    try:
        verdicts = _PROBED.setdefault(student, {})
    except TypeError:  # a stand-in student (the engine's tests): not weakly referenceable
        return probe()
    if what not in verdicts:
        verdicts[what] = probe()
    return verdicts[what]


def _wrong_helpers(student, ref, rng):
    """The helpers of `HELPERS` to lend to train: those the notebook gets wrong."""
    return {name: q for name, q in HELPERS.items()
            if _probed(student, name, lambda name=name: _helper_is_wrong(student, ref, rng, name))}


def _helper_is_wrong(student, ref, rng, name):
    """Whether the notebook's `name` fails a quick comparison with the reference (only such
    helpers are lent: lending a right one would change nothing but the message, which must
    name the question where the mistake is)."""
    try:
        if name == "init_params":
            return not _init_params_plausible(student, rng)
        for depth in (1, 2):
            p = problem(rng, depth)
            args = (p["params"], p["X"]) if name == "forward" else (p["params"], p["X"], p["y"])
            got, expected = student[name](*args), getattr(ref, name)(*args)
            if name == "backward":
                if not isinstance(got, dict) or any(
                        not np.allclose(np.asarray(got.get(k, np.nan), dtype=float), v, rtol=1e-6, atol=1e-9)
                        for k, v in expected.items()):
                    return True
            elif not np.allclose(np.asarray(got, dtype=float), expected, rtol=1e-6, atol=1e-9):
                return True
    except (StudentError, TypeError, ValueError):
        return True
    return False


def _init_params_plausible(student, rng):
    """Right keys and shapes, zero biases, every weight layer's std within a factor 1.5 of
    He's (a mistake that small does not stop training), and the same draw from the same seed
    (train's exact-steps test relies on it)."""
    sizes = [200, 40, 400, 1]  # 400 output weights: their std is known to about 4%
    seed = int(rng.integers(2**32))
    params = student.init_params(list(sizes), np.random.default_rng(seed))
    again = student.init_params(list(sizes), np.random.default_rng(seed))
    reference = network(rng, sizes)  # the keys and shapes expected
    if not isinstance(params, dict) or set(params) != set(reference):
        return False
    if not isinstance(again, dict) or any(not np.array_equal(params[k], again.get(k)) for k in params):
        return False
    for key, value in reference.items():
        got = np.asarray(params[key], dtype=float)
        if got.shape != np.shape(value) and not (key == "b3" and got.size == 1):
            return False
        if key[0] == "b" and np.any(got != 0):
            return False
        if key[0] in "Ww":
            ratio = float(np.std(got)) / np.sqrt(2.0 / got.shape[0])
            if not 1 / 1.5 < ratio < 1.5:
                return False
    return True


def _backward_is_numerical(student, rng):
    """Whether the notebook's backward is finite differences instead of backpropagation."""
    try:
        backpropagation_once(student, rng)
    except CheckFailed as exc:
        return "numerical differentiation" in str(exc)
    return False


def _train_and_score(student, ref, rng, sizes, epochs):
    """The median accuracy of up to three trainings must reach the threshold; when it does
    not (or train raises), again with the wrong helpers lent from the reference.

    A `backward` by finite differences (a q2 mistake) would make every training run far
    past its time limit, which is not retried: train is then graded at once with the
    reference's backward lent.
    """
    lend = _wrong_helpers(student, ref, rng)
    numerical = "backward" not in lend and _probed(
        student, "numerical", lambda: _backward_is_numerical(student, rng))
    if numerical:
        lend["backward"] = HELPERS["backward"]

    def check(s):
        if numerical and not isinstance(s, LendingView):
            raise CheckFailed("train was not run with your backward, which computes the gradient "
                              "by finite differences (see question 2): a training with it would "
                              "take far too long")
        _check_accuracy(s, ref, rng, sizes, epochs)

    graded_with_lent(student, ref, lend, stubs_as_failures(check, HELPERS), function="your train")


def _check_accuracy(s, ref, rng, sizes, epochs):
    """Raise CheckFailed unless the median test accuracy of ``s.train`` reaches the threshold.

    One run of a trainer with a flawed gradient can land on either side of the threshold
    by luck; the median of three makes the verdict far less dependent on the run's seed.
    """
    accuracy, runs, called = _median_accuracy(s, ref, rng, sizes, epochs)
    if accuracy < MIN_ACCURACY:
        _, _, _, y_test = _mnist01()
        hint = (" — the network did not learn (about chance level): check the sign of the "
                "update, that every parameter is updated, and that lr multiplies the "
                "batch-mean gradient" if accuracy < 0.6 else "")
        raise CheckFailed(f"median test accuracy {accuracy:.2%} over {runs} "
                          f"on {len(y_test)} MNIST test images of 0s and 1s; at least "
                          f"{MIN_ACCURACY:.0%} is expected{hint}\n  called (first run): {called}")


def _median_accuracy(s, ref, rng, sizes, epochs):
    """(median test accuracy, how many trainings and their accuracies as text, the first call
    described). Trains until a majority of the `RUNS` is on one side of the threshold, so
    a trainer that passes (or fails) twice is not trained a third time."""
    results = []
    while len(results) < RUNS:
        results.append(_train_once(s, ref, rng, sizes, epochs))
        passed = sum(a >= MIN_ACCURACY for a, _ in results)
        if max(passed, len(results) - passed) > RUNS // 2:
            break
    accuracy = sorted(a for a, _ in results)[len(results) // 2]
    runs = f"{len(results)} trainings ({', '.join(f'{a:.2%}' for a, _ in results)})"
    return accuracy, runs, results[0][1]


def _train_once(s, ref, rng, sizes, epochs):
    """(test accuracy of the params one call of train returns, the call described)."""
    X, y, X_test, y_test = _mnist01()
    seed = np.random.default_rng(int(rng.integers(2**32)))
    kwargs = {"sizes": sizes, "lr": 0.1, "batch_size": 32, "epochs": epochs, "rng": seed}
    called = describe_call("train", {"X": X, "y": y, **kwargs})
    train = s.train.with_timeout(TRAIN_TIMEOUT)
    params = train(X, y, sizes, 0.1, 32, epochs, seed)
    if not isinstance(params, dict):
        raise CheckFailed(f"train must return the params dict, got {type(params).__name__}\n  called: {called}")
    try:
        d = ref.depth(params)
        if d != len(sizes) - 2 or np.shape(params["W1"] if d else params["w1"])[0] != sizes[0]:
            raise ValueError(f"expected {len(sizes) - 2} hidden layer(s) of widths {sizes[1:-1]}")
        accuracy = ref.accuracy(params, X_test, y_test)
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckFailed(f"the params train returned cannot be used for sizes {sizes}: {exc}"
                          f"\n  called: {called}") from None
    if not all(np.isfinite(np.asarray(v, dtype=float)).all() for v in params.values()):
        raise CheckFailed(f"the params train returned contain NaN or inf\n  called: {called}")
    return accuracy, called


def _sgd_steps(ref, params, batches, lr, per_mean):
    """params after one SGD step per batch of (X, y), on the batch mean or the batch sum."""
    for X, y in batches:
        grads = ref.backward(params, X, y)
        scale = lr / len(y) if per_mean else lr
        params = {k: np.asarray(v, dtype=float) - scale * np.asarray(grads[k], dtype=float)
                  for k, v in params.items()}
    return params


def _check_steps(s, ref, X, y, sizes, batch_size, epochs, seed, batches_per_epoch, what):
    """train's result against the exact SGD steps from its own start (the same call with
    lr = 0 draws the same random numbers, so it returns the initial parameters)."""
    start = s.train(X, y, list(sizes), 0.0, batch_size, epochs, np.random.default_rng(seed))
    got = s.train(X, y, list(sizes), LR_STEPS, batch_size, epochs, np.random.default_rng(seed))
    called = describe_call("train", {"X": X, "y": y, "sizes": sizes, "lr": LR_STEPS,
                                     "batch_size": batch_size, "epochs": epochs})
    if not isinstance(start, dict) or not isinstance(got, dict) or set(got) != set(start):
        raise CheckFailed(f"train must return the params dict with the keys of init_params\n  called: {called}")
    start = {k: np.asarray(v, dtype=float) for k, v in start.items()}
    failures = []
    for per_mean in (True, False):  # lr on the batch mean (the convention) or on the batch sum
        want = _sgd_steps(ref, start, batches_per_epoch * epochs, LR_STEPS, per_mean)
        try:
            for key in want:
                assert_close(np.asarray(got[key], dtype=float).reshape(np.shape(want[key])), want[key],
                             rtol=1e-4, atol=1e-6, name=f"params[{key!r}]", called=called)
            return
        except (CheckFailed, ValueError) as exc:
            failures.append(str(exc))
    raise CheckFailed(f"{what}: train's parameters are not those of the SGD steps from its "
                      f"own initial parameters (lr times the batch-mean gradient, one step per "
                      f"batch, every row once per epoch):\n{failures[0]}")


LR_STEPS = 0.5


@pytest.mark.question("q4", points=6)
def test_q4_train_takes_exact_sgd_steps(student, ref, rng):
    """train's updates: one full batch of 6 distinct rows twice, then 2 batches of 4 equal rows"""
    D, H = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    sizes = [D, H, H, 1]
    X = rng.normal(0.0, 1.0, size=(6, D))
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    row, label = rng.normal(0.0, 1.0, size=(1, D)), np.array([1.0])
    equal_X, equal_y = np.repeat(row, 8, axis=0), np.repeat(label, 8)
    lend = _wrong_helpers(student, ref, rng)
    seed = int(rng.integers(2**32))

    def check(s):
        # batch_size = N: each epoch is one step on every row, whatever the order
        _check_steps(s, ref, X, y, sizes, 6, 2, seed, [(X, y)],
                     "2 epochs with batch_size 6 on 6 rows (one full-batch step each)")
        # equal rows: any order gives the same batches; 8 rows in batches of 4 are two steps
        _check_steps(s, ref, equal_X, equal_y, sizes, 4, 1, seed, [(equal_X[:4], equal_y[:4])] * 2,
                     "1 epoch with batch_size 4 on 8 equal rows (two steps)")

    graded_with_lent(student, ref, lend, stubs_as_failures(check, HELPERS), function="your train")


@pytest.mark.question("q4", points=10)
def test_q4_train_two_hidden_layers_on_mnist(student, ref, rng):
    """train with sizes [784, H, H, 1] reaches >= 99% test accuracy on MNIST 0 vs 1"""
    H = int(rng.integers(12, 21))
    _train_and_score(student, ref, rng, [784, H, H, 1], epochs=3)


@pytest.mark.question("q4", points=4)
def test_q4_train_any_number_of_hidden_layers(student, ref, rng):
    """train with one hidden layer, sizes [784, H, 1], also reaches >= 99%"""
    H = int(rng.integers(12, 25))
    _train_and_score(student, ref, rng, [784, H, 1], epochs=2)
