"""Question 7: the student's own training loop on two circles, and the decision boundary.

The data is drawn from the grading seed (`make_circles`: radius 1 and 0.5, noise 0.1). The
grader calls train(X, y, d_h=16, lr=0.3, epochs=40, batch_size=16, rng) on 600 points and
measures the accuracy of the returned params on 1,000 fresh points: at least 95% is expected.
Measured with the reference over 20 seeds: 97-100% (a plain loop over batches takes well
under a second; about 2 s when bprop is lent, one callback per batch). A network that does
not learn gets about 50%, a linear boundary at most about 65%, so no seed passes one by luck.

`train` calls the functions of question 5 (and, through them, 2 and 3): a run that falls short
or raises is graded again with the wrong ones lent from the reference, so a gradient mistake
costs question 5, not also question 7.
"""

import functools
import importlib
from types import SimpleNamespace

import numpy as np
import pytest

from autograder.checks import (
    assert_class_map,
    assert_figure,
    describe_call,
    describe_value,
    points_not_drawn,
)
from autograder.errors import CheckFailed
from autograder.lending import LendingView
from autograder.suites.mlp_multiclass.helpers import FOR_TRAINING, graded

REFERENCE = "autograder.suites.mlp_multiclass.reference"

MIN_ACCURACY = 0.95
SETTINGS = {"d_h": 16, "lr": 0.3, "epochs": 40, "batch_size": 16}
N_TRAIN, N_TEST = 600, 1000
TRAIN_TIMEOUT = 60
RUNS = 3
KEYS = ("train_loss", "valid_loss", "train_acc", "valid_acc")


def _train(s, ref, X, y, d_h, lr, epochs, batch_size, seed):
    called = describe_call("train", {"X": X, "y": y, "d_h": d_h, "lr": lr, "epochs": epochs,
                                     "batch_size": batch_size, "rng": np.random.default_rng(seed)})
    out = s.train.with_timeout(TRAIN_TIMEOUT)(X, y, d_h, lr, epochs, batch_size,
                                                 np.random.default_rng(seed))
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise CheckFailed(f"train must return a tuple (params, history)\n  called: {called}")
    params, history = out
    if not isinstance(params, dict) or any(k not in params for k in ("W1", "b1", "W2", "b2")):
        raise CheckFailed(f"the params train returned must be a dict with keys W1, b1, W2, b2\n"
                          f"  called: {called}")
    try:
        shapes = {k: np.shape(params[k]) for k in ("W1", "b1", "W2", "b2")}
        if shapes != {"W1": (d_h, 2), "b1": (d_h,), "W2": (2, d_h), "b2": (2,)}:
            raise ValueError(f"shapes {shapes}")
        finite = all(np.isfinite(np.asarray(params[k], dtype=float)).all() for k in shapes)
    except (TypeError, ValueError) as exc:
        raise CheckFailed(f"the params train returned do not fit a 2-{d_h}-2 network ({exc}): "
                          f"W1 ({d_h}, 2), b1 ({d_h},), W2 (2, {d_h}), b2 (2,)\n  called: {called}") from None
    if not finite:
        raise CheckFailed(f"the params train returned contain nan or inf\n  called: {called}")
    return params, history, called


def _accuracy_runs(s, ref, rng):
    """Up to three trainings on fresh circles; stops when a majority is on one side."""
    results = []
    while len(results) < RUNS:
        X, y = ref.make_circles(N_TRAIN, noise=0.1, factor=0.5, rng=rng)
        X_test, y_test = ref.make_circles(N_TEST, noise=0.1, factor=0.5, rng=rng)
        params, _, called = _train(s, ref, X, y, seed=int(rng.integers(2**32)), **SETTINGS)
        results.append((ref.accuracy(params, X_test, y_test), called))
        passed = sum(a >= MIN_ACCURACY for a, _ in results)
        if max(passed, len(results) - passed) > RUNS // 2:
            break
    accuracy = sorted(a for a, _ in results)[len(results) // 2]
    if accuracy < MIN_ACCURACY:
        hint = (" — the network did not learn (chance is 50%): check the sign of the update, "
                "that every parameter is updated and that the batches cover the training part"
                if accuracy < 0.7 else "")
        raise CheckFailed(
            f"median held-out accuracy {accuracy:.1%} over {len(results)} trainings "
            f"({', '.join(f'{a:.1%}' for a, _ in results)}) on {N_TEST} fresh points of the two "
            f"circles; at least {MIN_ACCURACY:.0%} is expected{hint}\n  called (first run): {results[0][1]}")


@pytest.mark.question("q7", points=10)
def test_q7_train_separates_the_circles(student, ref, rng):
    """train (d_h = 16, lr = 0.3, 40 epochs, batches of 16) reaches >= 95% held-out accuracy on two circles"""
    graded(student, ref, FOR_TRAINING, lambda s: _accuracy_runs(s, ref, rng), "train")


def _recorded_batches(student, ref, X, y, epochs, batch_size, seed):
    """train run with every helper lent from the reference, ``bprop`` recording each batch as
    the indices of its rows in X (-1 for a row not in X); None when train never calls bprop."""
    rows = {row.tobytes(): i for i, row in enumerate(X)}
    batches = []

    @functools.wraps(ref.bprop)
    def bprop(params, X_batch, y_batch, *args, **kwargs):
        batch = np.asarray(X_batch, dtype=float).reshape(-1, X.shape[1])
        batches.append([rows.get(row.tobytes(), -1) for row in batch])
        return ref.bprop(params, X_batch, y_batch, *args, **kwargs)

    helpers = {name: getattr(ref, name) for name in FOR_TRAINING}
    view = LendingView(student, SimpleNamespace(**{**helpers, "bprop": bprop}),
                       {name: q for name, q in FOR_TRAINING.items() if student.defines(name)})
    _train(view, ref, X, y, 8, 0.3, epochs, batch_size, seed)
    return batches if "bprop" in view.used else None


def _batching_problem(batches, epochs, batch_size):
    """What is wrong with the batches of ``epochs`` epochs (None: each epoch visits the
    training part once, in an order of its own, in batches of ``batch_size`` but for a
    smaller last one, which may also be left out)."""
    sizes = [len(b) for b in batches]
    if 0 in sizes:
        return "bprop was given an empty batch"
    if sum(sizes) % epochs:
        return f"bprop was given {sum(sizes)} rows over {epochs} epochs, not the same number each epoch"
    per_epoch, ends, total = sum(sizes) // epochs, [], 0
    for i, size in enumerate(sizes):
        total += size
        if total % per_epoch == 0:
            ends.append(i + 1)
    if len(ends) != epochs or per_epoch == 0:
        return "the batches do not fall into epochs of equal size"
    epoch_rows, start = [], 0
    for end in ends:
        epoch = batches[start:end]
        if any(len(b) != batch_size for b in epoch[:-1]) or not 0 < len(epoch[-1]) <= batch_size:
            return (f"an epoch's batches have {[len(b) for b in epoch]} rows: each has "
                    f"batch_size = {batch_size} rows but the last, which may be smaller")
        flat = [i for b in epoch for i in b]
        if -1 not in flat and len(set(flat)) != len(flat):
            return "an epoch gives bprop some training rows more than once"
        epoch_rows.append((set(flat), len(epoch[-1]) == batch_size))
        start = end
    orders = [[i for b in batches[start:end] for i in b] for start, end in zip([0, *ends], ends)]
    if -1 not in orders[0] and len(orders) > 1 and all(o == orders[0] for o in orders):
        return ("every epoch gives bprop the rows in the same order: shuffle the training part "
                "afresh at the start of each epoch")
    seen = set().union(*(r for r, _ in epoch_rows))
    for rows, last_full in epoch_rows:
        missing = len(seen) - len(rows)
        if -1 not in seen and missing and not (last_full and missing < batch_size):
            return (f"an epoch leaves {missing} of the {len(seen)} training rows out: each epoch "
                    "visits all of them (only a last, smaller batch may be dropped)")
    return None


@pytest.mark.question("q7", points=2)
def test_q7_train_visits_the_training_part_once_per_epoch(student, ref, rng):
    """train gives bprop every training row once per epoch, shuffled afresh, in batches of batch_size"""
    X, y = ref.make_circles(250, noise=0.1, factor=0.5, rng=rng)
    epochs, batch_size = 3, 32
    batches = _recorded_batches(student, ref, X, y, epochs, batch_size, int(rng.integers(2**32)))
    if batches is None:
        return  # train computes its gradients itself: its steps are judged by its accuracy
    problem = _batching_problem(batches, epochs, batch_size)
    if problem:
        called = describe_call("train", {"X": X, "y": y, "d_h": 8, "lr": 0.3, "epochs": epochs,
                                         "batch_size": batch_size, "rng": "a Generator"})
        raise CheckFailed(f"{problem} (bprop was given batches of "
                          f"{[len(b) for b in batches][:12]} rows)\n  called: {called}")


def _history_ok(s, ref, X, y, epochs, seed):
    params, history, called = _train(s, ref, X, y, 8, 0.3, epochs, 32, seed)
    if not isinstance(history, dict):
        raise CheckFailed(f"history must be a dict with keys {', '.join(KEYS)}\n  called: {called}")
    for key in KEYS:
        if key not in history:
            raise CheckFailed(f"history has no key {key!r} (it has {', '.join(map(str, history)) or 'none'})"
                              f"\n  called: {called}")
        try:
            values = np.asarray(history[key], dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"history[{key!r}] must be a list of numbers\n  called: {called}") from None
        if values.shape != (epochs,):
            raise CheckFailed(f"history[{key!r}] has shape {values.shape}; expected {epochs} values, "
                              f"one per epoch\n  called: {called}")
        if not np.all(np.isfinite(values)) or np.any(values < 0) or (
                key.endswith("acc") and np.any(values > 1)):
            raise CheckFailed(f"history[{key!r}] = {np.round(values, 4).tolist()}: "
                              + ("accuracies are fractions in [0, 1]" if key.endswith("acc")
                                 else "a mean NLL is finite and non-negative") + f"\n  called: {called}")
    # measured after the last epoch, the two accuracies count the returned params' right
    # answers in the two parts, which add up to their right answers on all the data
    a_tr, a_va = float(history["train_acc"][-1]), float(history["valid_acc"][-1])
    right = round(float(ref.accuracy(params, X, y)) * len(y))
    if not _some_split_adds_up(right, len(y), a_tr, a_va):
        raise CheckFailed(
            f"after the last epoch history says train_acc {a_tr:.4f} and valid_acc {a_va:.4f}, "
            f"but the params train returned classify {right} of the {len(y)} points right, and "
            "no split of the data into a training and a validation part gives those two "
            "fractions: each is the fraction of its part whose largest output is the label, "
            f"measured after the epoch\n  called: {called}")


def _some_split_adds_up(right: int, n: int, a_tr: float, a_va: float) -> bool:
    """Whether some validation size k makes a_tr (n - k) and a_va k whole counts adding up
    to ``right``."""
    for k in range(1, n):
        c_tr, c_va = a_tr * (n - k), a_va * k
        if (abs(c_tr - round(c_tr)) < 1e-6 and abs(c_va - round(c_va)) < 1e-6
                and round(c_tr) + round(c_va) == right):
            return True
    return False


@pytest.mark.question("q7", points=4)
def test_q7_history(student, ref, rng):
    """history: train_loss, valid_loss, train_acc, valid_acc, one value per epoch"""
    X, y = ref.make_circles(300, noise=0.1, factor=0.5, rng=rng)
    epochs, seed = int(rng.integers(5, 11)), int(rng.integers(2**32))
    graded(student, ref, FOR_TRAINING, lambda s: _history_ok(s, ref, X, y, epochs, seed), "train")


def _classes(s, params, points):
    """The classes the notebook's own fprop gives ``points`` (its mistakes cost q5, not the
    plot: the map must show the model as the notebook computes it)."""
    value = s.fprop(params, points)
    shape = (len(points), len(params["b2"]))
    try:
        probs = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        probs = None
    if probs is None or probs.shape != shape:
        raise CheckFailed(f"fprop gave {describe_value(value)} for {len(points)} points, not "
                          f"an array of shape {shape}, so the map cannot be compared with it")
    return np.argmax(probs, axis=1)


ELLIPSES = np.array([1.5, 0.7])  # a map whose x range is taken from y misses points


@functools.cache
def _trained_on_ellipses() -> dict[str, np.ndarray]:
    ref = importlib.import_module(REFERENCE)
    X, y = ref.make_circles(225, noise=0.1, factor=0.5, rng=np.random.default_rng(7))
    params, _ = ref.train(X * ELLIPSES, y, 16, 0.3, 40, 16, np.random.default_rng(8))
    return params


def _map_params() -> dict[str, np.ndarray]:
    """A model to draw the map of: any trained one will do (the map is compared with the
    notebook's own fprop of it), so it is trained once per grading process, not per student."""
    return {k: v.copy() for k, v in _trained_on_ellipses().items()}


@pytest.mark.question("q7", points=4)
def test_q7_plot_decision_boundary(student, ref, rng):
    """plot_decision_boundary draws every data point over a filled map of the model's classes"""
    X, y = ref.make_circles(int(rng.integers(150, 300)), noise=0.1, factor=0.5, rng=rng)
    X = X * ELLIPSES
    params = _map_params()
    called = describe_call("plot_decision_boundary", {"params": params, "X": X, "y": y})

    def check(s):
        fig = s.plot_decision_boundary(params, X, y)
        assert_figure(fig, has_contour=True, min_points=len(y),
                      name=f"the figure of {called}")
        missing = points_not_drawn(fig, X)
        if missing:
            raise CheckFailed(f"the figure of {called} does not show {missing} of the {len(X)} "
                              "points of X where they are: scatter x = X[:, 0] against y = X[:, 1]")
        assert_class_map(fig, X, lambda points: _classes(s, params, points),
                         name=f"the figure of {called}")

    graded(student, ref, FOR_TRAINING, check, "plot_decision_boundary")
