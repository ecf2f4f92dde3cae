"""Part B, questions 5-7: initialisation, the forward pass, backpropagation and one SGD step
of the 784-32-32-10 network, compared with the reference (mlhw_ref.mnist_mlp) on random
networks and real MNIST images (the committed subset).

Question 7 names the known mistakes of backpropagation by computing, with the reference's
forward pass, the gradients each mistake gives (inputs.mistaken_gradients). The one the
homework's original notebook made — the output error taken from the network's one-hot guess
instead of the label — gets the message "the output error uses your prediction instead of
the label", with why the network then stays near 10%. The test inputs are chosen so that
the guess differs from the label for most examples (otherwise the two agree).

Question 5's statistics: the variance of each layer is estimated from 20 draws (W3 has 320
entries per draw: 6,400 values, relative standard error sqrt(2/6400) = 1.8%), so the 10%
tolerance is 5.6 standard errors: a correct initialiser fails with probability below 1e-7.
"""

import numpy as np
import pytest

from autograder.checks import assert_close, describe_call, numerical_gradient
from autograder.checks.arrays import mismatch
from autograder.errors import CheckFailed
from autograder.suites.gd_mnist.inputs import (
    SIZES,
    as_params,
    images,
    mistaken_gradients,
    network,
)

REFERENCE = "mlhw_ref.mnist_mlp"

INIT_DRAWS = 20
# A loss arrives as a Python float whatever precision computed it: 2e-5 accepts a float32
# computation (the known mistakes change it by far more).
LOSS_RTOL = 2e-5
# A step is W - lr * dW in float64 even when dW was computed in float32: the error is then
# relative to the update, not to W. 2e-5 of the largest update accepts that.
STEP_RTOL = 2e-5
LAYERS = ("W1", "W2", "W3")


# ------------------------------------------------------------------------------ q5
def _init(student, seed):
    called = f"init_weights(rng=numpy.random.default_rng({seed}))"
    result = student.init_weights(np.random.default_rng(seed))
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise CheckFailed(
            f"init_weights must return (weights, biases), got {type(result).__name__}"
            f"\n  called: {called}"
        )
    like_w = [np.zeros((n_in, n_out)) for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    like_b = [np.zeros(n) for n in SIZES[1:]]
    return (
        as_params(result[0], like_w, "weights", called),
        as_params(result[1], like_b, "biases", called),
        called,
    )


@pytest.mark.question("q5", points=3)
def test_q5_init_weights_shapes_zero_biases_and_rng(student, rng):
    """init_weights: shapes 784-32-32-10, zero biases, the same weights from the same rng state"""
    seed = int(rng.integers(2**31))
    weights, biases, called = _init(student, seed)
    for l, bias in enumerate(biases, start=1):
        if np.any(bias != 0):
            raise CheckFailed(
                f"b{l} must start at zero, got values up to {np.max(np.abs(bias)):.3g}"
                f"\n  called: {called}"
            )
    again, _, _ = _init(student, seed)
    if any(not np.array_equal(w1, w2) for w1, w2 in zip(weights, again)):
        raise CheckFailed(
            "two calls with Generators in the same state gave different weights: draw "
            "every random number from rng (rng.normal(...)), not from np.random"
            f"\n  called twice: {called}"
        )
    other, _, _ = _init(student, seed + 1)
    if all(np.array_equal(w1, w2) for w1, w2 in zip(weights, other)):
        raise CheckFailed(
            "Generators in different states gave the same weights: draw them from rng"
            f"\n  called: {called} and with seed {seed + 1}"
        )


@pytest.mark.question("q5", points=7)
def test_q5_init_weights_variance_per_layer(student, rng):
    """init_weights: each W_l has mean 0 and variance 1/max(n_in, n_out) within 10%"""
    pooled = [[] for _ in LAYERS]
    for _ in range(INIT_DRAWS):
        weights, _, _ = _init(student, int(rng.integers(2**31)))
        for l, W in enumerate(weights):
            pooled[l].append(W.ravel())
    for l, (name, values) in enumerate(zip(LAYERS, pooled)):
        x = np.concatenate(values)
        n_in, n_out = SIZES[l], SIZES[l + 1]
        expected = 1.0 / max(n_in, n_out)
        var, mean = float(np.var(x)), float(np.mean(x))
        if abs(mean) > 6 * np.sqrt(expected / x.size):
            raise CheckFailed(
                f"{name} ({n_in}x{n_out}) has mean {mean:.3g} over {INIT_DRAWS} draws; "
                "the weights must have mean 0"
            )
        ratio = var / expected
        if abs(ratio - 1.0) <= 0.10:
            continue
        hints = [
            (
                expected,
                "the variance 1/max(n_in, n_out) was passed as the standard deviation: "
                "rng.normal takes the standard deviation, sqrt(1/max(n_in, n_out))",
            ),
            (1.0 / expected, "the weights are N(0, 1): scale them to variance 1/max(n_in, n_out)"),
            (max(n_in, n_out) / n_out, "the variance is 1/n_out; it is 1/max(n_in, n_out)"),
            (
                max(n_in, n_out) * 2.0 / n_in,
                "that is He's 2/n_in; this network uses 1/max(n_in, n_out)",
            ),
            (
                max(n_in, n_out) * 2.0 / (n_in + n_out),
                "that is Glorot's 2/(n_in + n_out); this network uses 1/max(n_in, n_out)",
            ),
            (
                max(n_in, n_out) / min(n_in, n_out),
                "the variance is 1/min(n_in, n_out); it is 1/max",
            ),
        ]
        hint = next((words for factor, words in hints if abs(ratio / factor - 1.0) < 0.1), "")
        raise CheckFailed(
            f"{name} ({n_in}x{n_out}) has variance {var:.4g} over {INIT_DRAWS} draws "
            f"({x.size} weights); expected 1/max({n_in}, {n_out}) = {expected:.4g} "
            f"within 10% (ratio {ratio:.3g})" + (f"\n{hint}" if hint else "")
        )


# ------------------------------------------------------------------------------ q6
def _sample_cases(rng, ref, output_scale=1.0, n=3):
    """(x, label, weights, biases): real images, a label that is not the network's guess for
    all but the last (so the loss is not just that of the most likely class)."""
    weights, biases = network(rng, output_scale)
    cases = []
    for i, x in enumerate(images(rng, n)):
        guess = int(np.argmax(ref.feed_forward_sample(x, 0, weights, biases)[1]))
        label = guess if i == n - 1 else int(rng.choice([c for c in range(10) if c != guess]))
        cases.append((x, label, weights, biases))
    return cases


def _check_sample(student, ref, cases, what):
    for x, label, weights, biases in cases:
        called = describe_call(
            "feed_forward_sample", {"x": x, "label": label, "weights": weights, "biases": biases}
        )
        result = student.feed_forward_sample(x.copy(), label, weights, biases)
        if not isinstance(result, tuple | list) or len(result) != 2:
            raise CheckFailed(
                f"feed_forward_sample must return (loss, one_hot_guess), got "
                f"{type(result).__name__}\n  called: {called}"
            )
        loss, guess = result
        exp_loss, exp_guess = ref.feed_forward_sample(x, label, weights, biases)
        if isinstance(loss, float | int) and not np.isfinite(loss):
            raise CheckFailed(
                f"the loss is {loss}{what}: the softmax overflowed. Subtract max_c z_c "
                "from the logits before exp, and take log yhat as "
                "z - max z - log sum exp(z - max z)\n  called: " + called
            )
        problem = mismatch(loss, exp_loss, rtol=LOSS_RTOL, atol=1e-12, name="loss")
        if problem:
            lead = ""
            if np.isscalar(loss) and np.isclose(float(loss), -exp_loss, rtol=1e-9):
                lead = "the loss has the wrong sign: it is -log yhat[label], which is >= 0\n"
            raise CheckFailed(f"{lead}{problem}\n  called: {called}")
        if np.ndim(guess) == 0 and not isinstance(guess, np.ndarray | list | tuple):
            raise CheckFailed(
                f"one_hot_guess must be a one-hot vector of shape (10,), got "
                f"{guess!r} (the class index? return np.eye(10)[index])\n  called: {called}"
            )
        assert_close(guess, exp_guess, name="one_hot_guess", called=called)


@pytest.mark.question("q6", points=3)
def test_q6_feed_forward_sample_matches_reference(student, ref, rng):
    """feed_forward_sample: the loss -log yhat[label] and the one-hot guess on MNIST images"""
    _check_sample(student, ref, _sample_cases(rng, ref), "")


@pytest.mark.question("q6", points=2)
def test_q6_feed_forward_sample_is_stable(student, ref, rng):
    """feed_forward_sample: finite and exact with output logits in the thousands"""
    _check_sample(
        student,
        ref,
        _sample_cases(rng, ref, output_scale=4000.0),
        " with output logits in the thousands",
    )


def _check_dataset(student, ref, rng, output_scale, what):
    weights, biases = network(rng, output_scale)
    X = images(rng, 60)
    _, cache = ref.forward_batch(X, np.zeros(len(X), dtype=int), weights, biases)
    guesses = np.argmax(cache.log_probs, axis=1)
    labels = rng.integers(0, 10, size=len(X))
    right = rng.random(len(X)) < 0.5  # about half guessed right: accuracy far from 0 and 1
    labels[right] = guesses[right]
    called = describe_call(
        "feed_forward_dataset", {"X": X, "labels": labels, "weights": weights, "biases": biases}
    )
    result = student.feed_forward_dataset(X.copy(), labels.copy(), weights, biases)
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise CheckFailed(
            f"feed_forward_dataset must return (mean_loss, accuracy), got "
            f"{type(result).__name__}\n  called: {called}"
        )
    mean_loss, accuracy = result
    exp_loss, exp_acc = ref.feed_forward_dataset(X, labels, weights, biases)
    if isinstance(mean_loss, float | int) and not np.isfinite(mean_loss):
        raise CheckFailed(
            f"the mean loss is {mean_loss}{what}: the softmax overflowed. Subtract "
            "each row's max logit before exp\n  called: " + called
        )
    problem = mismatch(mean_loss, exp_loss, rtol=LOSS_RTOL, atol=1e-12, name="mean_loss")
    if problem:
        lead = ""
        if np.isscalar(mean_loss) and np.isclose(float(mean_loss), exp_loss * len(X), rtol=1e-9):
            lead = f"the loss is summed over the {len(X)} examples; it is their mean\n"
        raise CheckFailed(f"{lead}{problem}\n  called: {called}")
    problem = mismatch(accuracy, exp_acc, rtol=1e-12, atol=1e-12, name="accuracy")
    if problem:
        lead = ""
        if np.isscalar(accuracy) and np.isclose(float(accuracy), 100 * exp_acc):
            lead = "the accuracy is in percent; return the fraction, between 0 and 1\n"
        elif np.isscalar(accuracy) and np.isclose(float(accuracy), exp_acc * len(X)):
            lead = "that is the number of right guesses; return the fraction, between 0 and 1\n"
        raise CheckFailed(f"{lead}{problem}\n  called: {called}")


@pytest.mark.question("q6", points=3)
def test_q6_feed_forward_dataset_matches_reference(student, ref, rng):
    """feed_forward_dataset: the mean loss and the accuracy (a fraction) on 60 MNIST images"""
    _check_dataset(student, ref, rng, 1.0, "")


@pytest.mark.question("q6", points=2)
def test_q6_feed_forward_dataset_is_stable(student, ref, rng):
    """feed_forward_dataset: finite and exact with output logits in the thousands"""
    _check_dataset(student, ref, rng, 4000.0, " with output logits in the thousands")


# ------------------------------------------------------------------------------ q7
def _gradient_cases(rng, ref):
    return _sample_cases(rng, ref, n=3)


def _student_gradients(student, x, label, weights, biases):
    called = describe_call(
        "gradients_one_sample", {"x": x, "label": label, "weights": weights, "biases": biases}
    )
    result = student.gradients_one_sample(x.copy(), label, weights, biases)
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise CheckFailed(
            f"gradients_one_sample must return (weight_grads, bias_grads), got "
            f"{type(result).__name__}\n  called: {called}"
        )
    return (
        as_params(result[0], weights, "weight_grads", called),
        as_params(result[1], biases, "bias_grads", called),
        called,
    )


def _diagnosis(got, mistakes, layers):
    """The message of the first known mistake whose gradients match ``got`` on ``layers``."""
    for message, (m_w, m_b) in mistakes:
        if all(
            np.allclose(got[0][l], m_w[l], rtol=1e-6, atol=1e-10)
            and np.allclose(got[1][l], m_b[l], rtol=1e-6, atol=1e-10)
            for l in layers
        ):
            return message
    return None


def _check_gradients(student, ref, cases, layers):
    for x, label, weights, biases in cases:
        got_w, got_b, called = _student_gradients(student, x, label, weights, biases)
        exp_w, exp_b = ref.gradients_one_sample(x, label, weights, biases)
        for l in layers:
            for name, got, expected in (
                (f"dW{l + 1}", got_w[l], exp_w[l]),
                (f"db{l + 1}", got_b[l], exp_b[l]),
            ):
                problem = mismatch(got, expected, rtol=1e-7, atol=1e-10, name=name)
                if problem is None:
                    continue
                lead = _diagnosis(
                    (got_w, got_b), mistaken_gradients(x, label, weights, biases), layers
                )
                if (
                    lead is None
                    and expected.ndim == 2
                    and got.shape == expected.T.shape
                    and np.allclose(got, expected.T, rtol=1e-7, atol=1e-10)
                ):
                    lead = f"your {name} is transposed: dW_l = outer(h_(l-1), delta_l), of shape (n_in, n_out)"
                raise CheckFailed((f"{lead}\n" if lead else "") + f"{problem}\n  called: {called}")


@pytest.mark.question("q7", points=6)
def test_q7_output_layer_gradients(student, ref, rng):
    """gradients_one_sample: dW3 and db3 (the output error yhat - y) on MNIST images"""
    _check_gradients(student, ref, _gradient_cases(rng, ref), [2])


@pytest.mark.question("q7", points=8)
def test_q7_hidden_layer_gradients(student, ref, rng):
    """gradients_one_sample: dW2, db2, dW1, db1 (backpropagated through sigma')"""
    _check_gradients(student, ref, _gradient_cases(rng, ref), [1, 0])


@pytest.mark.question("q7", points=4)
def test_q7_gradients_match_finite_differences(student, ref, rng):
    """gradients_one_sample agrees with central finite differences of the loss"""
    x, label, weights, biases = _gradient_cases(rng, ref)[0]
    got_w, got_b, called = _student_gradients(student, x, label, weights, biases)
    for kind, params, grads in (("W", weights, got_w), ("b", biases, got_b)):
        for l in (2, 1, 0):
            exact = (ref.gradients_one_sample(x, label, weights, biases)[0 if kind == "W" else 1])[
                l
            ]
            # the largest entries (and a few at random): where a wrong gradient shows
            top = np.argsort(np.abs(exact).ravel())[-4:]
            coords = np.unique(np.concatenate([top, rng.choice(exact.size, size=4, replace=False)]))

            def loss(p, kind=kind, l=l):
                ws, bs = list(weights), list(biases)
                (ws if kind == "W" else bs)[l] = p
                return ref.feed_forward_sample(x, label, ws, bs)[0]

            numeric = numerical_gradient(loss, params[l], coords=coords)
            analytic = grads[l].ravel()[coords]
            scale = max(float(np.max(np.abs(numeric))), 1e-8)
            error = float(np.max(np.abs(analytic - numeric))) / scale
            if error > 1e-4:
                lead = _diagnosis(
                    (got_w, got_b), mistaken_gradients(x, label, weights, biases), [0, 1, 2]
                )
                raise CheckFailed(
                    (f"{lead}\n" if lead else "")
                    + f"d{kind}{l + 1} does not match central finite differences of the loss "
                    f"-log yhat[label] (eps 1e-6) at flat entries {coords.tolist()}: yours "
                    f"{np.array2string(analytic, precision=4)}, finite differences "
                    f"{np.array2string(numeric, precision=4)} (max error {error:.2g} of the largest)"
                    f"\n  called: {called}"
                )


@pytest.mark.question("q7", points=7)
def test_q7_train_one_sample_takes_one_step_downhill(student, ref, rng):
    """train_one_sample: new lists W - learning_rate * dW (given and default learning rate)"""
    x, label, weights, biases = _gradient_cases(rng, ref)[0]
    lr = float(rng.uniform(0.02, 0.2))
    for rate in (lr, None):
        args = {"x": x, "label": label, "weights": weights, "biases": biases}
        if rate is None:
            result = student.train_one_sample(x.copy(), label, weights, biases)
            step, where = 0.003, " (learning_rate left at its default, 0.003)"
        else:
            args["learning_rate"] = rate
            result = student.train_one_sample(x.copy(), label, weights, biases, rate)
            step, where = rate, ""
        called = describe_call("train_one_sample", args)
        if not isinstance(result, tuple | list) or len(result) != 2:
            raise CheckFailed(
                f"train_one_sample must return (weights, biases), got "
                f"{type(result).__name__}\n  called: {called}"
            )
        new_w = as_params(result[0], weights, "weights", called)
        new_b = as_params(result[1], biases, "biases", called)
        exp_w, exp_b = ref.train_one_sample(x, label, weights, biases, step)
        for l in range(len(weights)):
            for name, got, expected, start in (
                (f"W{l + 1}", new_w[l], exp_w[l], weights[l]),
                (f"b{l + 1}", new_b[l], exp_b[l], biases[l]),
            ):
                update = float(np.max(np.abs(expected - start)))
                problem = mismatch(
                    got, expected, rtol=1e-9, atol=1e-12 + STEP_RTOL * update, name=f"new {name}"
                )
                if problem is None:
                    continue
                raise CheckFailed(
                    _step_diagnosis(
                        student,
                        ref,
                        x,
                        label,
                        weights,
                        biases,
                        step,
                        new_w,
                        new_b,
                        name,
                        got,
                        expected,
                        start,
                    )
                    + f"{problem}{where}\n  called: {called}"
                )


def _step_diagnosis(
    student, ref, x, label, weights, biases, step, new_w, new_b, name, got, expected, start
):
    """Why one step went wrong: uphill, the learning rate ignored, or a wrong gradient."""

    def close(a, b):
        return np.allclose(a, b, rtol=1e-9, atol=1e-12)

    if close(got, start):
        return f"{name} did not change: the step must return updated parameters\n"
    uphill_w, uphill_b = ref.train_one_sample(x, label, weights, biases, -step)
    if all(close(a, b) for a, b in zip(new_w, uphill_w)) and all(
        close(a, b) for a, b in zip(new_b, uphill_b)
    ):
        return (
            "the step goes uphill: it adds the gradient. Gradient DEscent subtracts it: "
            "W - learning_rate * dW\n"
        )
    for other in (0.003, 0.01, 0.1, 1.0):
        if other != step and close(got, start + (expected - start) * other / step):
            return (
                f"the step uses learning_rate = {other:g}, not the learning_rate it was given "
                f"({step:g})\n"
            )
    try:
        own_w, own_b, _ = _student_gradients(student, x, label, weights, biases)
    except Exception:  # noqa: BLE001 - the gradient tests report what is wrong with it
        return ""
    own = [W - step * g for W, g in zip(weights, own_w)] + [
        v - step * g for v, g in zip(biases, own_b)
    ]
    if all(close(a, b) for a, b in zip(new_w + new_b, own)):
        lead = _diagnosis((own_w, own_b), mistaken_gradients(x, label, weights, biases), [0, 1, 2])
        return (
            "the step itself is right (parameters minus learning_rate times your gradient), but "
            "your gradient is wrong" + (f": {lead}" if lead else " (see the gradient tests)") + "\n"
        )
    return ""
