"""Public tests of gd_mnist: run in your notebook by check("q1") ... check("q8").

Each test calls your function on a small case worked out by hand or on a fixed network
(its weights are built below from sines and cosines, so they are the same everywhere). The
grader runs many more tests, on random inputs and on real MNIST images.
"""

import numpy as np
from mlhw_check import question
from mlhw_check.checks import (
    CheckFailed,
    assert_close,
    assert_derivation,
    numerical_gradient,
    parse_answer,
)

SYMBOLS_A = ("a", "b", "eta")


def _number(answer, values, name):
    """A symbolic answer evaluated at ``values`` (a dict of symbol name -> number)."""
    import sympy

    symbols = {s: sympy.Symbol(s, positive=s in ("a", "b"), real=True) for s in SYMBOLS_A}
    expr = parse_answer(answer, symbols)
    value = expr.subs({symbols[k]: v for k, v in values.items()}).evalf()
    try:
        return float(value)
    except TypeError:
        raise CheckFailed(f"{name} = {answer!r} is not a number at {values}") from None


def _derivation(steps, start, last_must_be, symbols, facts, unknowns, name):
    """Each step follows from the one before, from ``start`` to the step ``last_must_be``
    describes (checked against your own answer, so nothing here gives the result away)."""
    import sympy

    table = {s: sympy.Symbol(s, real=True) for s in symbols}
    if not isinstance(steps, list | tuple) or len(steps) < 3:
        raise CheckFailed(f"{name} must be a list of at least three steps (strings)")
    assert_derivation(
        list(steps),
        start=start,
        target=last_must_be,
        symbols=table,
        facts=facts,
        unknowns=unknowns,
        name=name,
        min_steps=3,
    )


# ---------------------------------------------------------------------------- part A
@question("q1")
def q1_gradient_by_hand(student):
    """grad_quadratic at w = (1, -2) with a = 3, b = 0.5 is (3, -1)"""
    g = student.grad_quadratic(np.array([1.0, -2.0]), 3.0, 0.5)
    assert_close(
        g, np.array([3.0, -1.0]), name="gradient", called="grad_quadratic(w=[1, -2], a=3, b=0.5)"
    )


@question("q1")
def q1_w_star(student):
    """w_star is a 2-tuple at which the gradient vanishes"""
    answer = student.w_star
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise CheckFailed(f"w_star must be a 2-tuple, got {answer!r}")
    values = [_number(v, {"a": 3.0, "b": 0.5}, "w_star") for v in answer]
    g = student.grad_quadratic(np.array(values), 3.0, 0.5)
    if np.max(np.abs(np.asarray(g, dtype=float))) > 1e-12:
        raise CheckFailed(f"the gradient at w_star = {answer!r} is {g}, not 0")


@question("q2")
def q2_two_steps_by_hand(student):
    """gd_quadratic from (1, 1) with a = 1, b = 2, eta = 0.25, two steps"""
    path = student.gd_quadratic(np.array([1.0, 1.0]), 1.0, 2.0, 0.25, 2)
    assert_close(
        path,
        np.array([[1.0, 1.0], [0.75, 0.5], [0.5625, 0.25]]),
        name="trajectory",
        called="gd_quadratic(w0=[1, 1], a=1, b=2, eta=0.25, steps=2)",
    )


@question("q2")
def q2_factors_match_the_trajectory(student):
    """rho1 and rho2 at a = 1, b = 2, eta = 0.25 are 0.75 and 0.5 (the ratios above)"""
    point = {"a": 1.0, "b": 2.0, "eta": 0.25}
    for name, expected in (("rho1", 0.75), ("rho2", 0.5)):
        value = _number(student[name], point, name)
        if abs(value - expected) > 1e-12:
            raise CheckFailed(
                f"{name} = {value} at a = 1, b = 2, eta = 0.25; one step from (1, 1) "
                f"gives the ratio {expected}"
            )


@question("q2")
def q2_derivation_rho1(student):
    """derivation_rho1: every step follows, from the update rule to w1_next = rho1*w1"""
    rho1 = student.rho1
    _derivation(
        student.derivation_rho1,
        "w1_next = w1 - eta*dL_dw1",
        f"w1_next = ({rho1})*w1",
        ("w1", "w1_next", "dL_dw1", "a", "eta"),
        {"dL_dw1": "a*w1"},
        (),
        "derivation_rho1",
    )


@question("q3")
def q3_a_few_steps(student):
    """converges with a = 1, b = 2: eta = 0.5 yes; eta = 1 (the boundary), 1.5, 0 and -0.1 no"""
    for eta, expected in (
        (0.5, True),
        (0.99, True),
        (1.0, False),
        (1.5, False),
        (0.0, False),
        (-0.1, False),
    ):
        got = student.converges(1.0, 2.0, eta)
        if not isinstance(got, bool | np.bool_) or bool(got) != expected:
            raise CheckFailed(
                f"converges(a=1, b=2, eta={eta}) returned {got!r}; expected {expected}"
            )


@question("q3")
def q3_eta_max_matches_converges(student):
    """eta_max at a = 1, b = 4 is the boundary your converges finds"""
    value = _number(student.eta_max, {"a": 1.0, "b": 4.0}, "eta_max")
    below, above = (
        student.converges(1.0, 4.0, 0.999 * value),
        student.converges(1.0, 4.0, 1.001 * value),
    )
    if not (below and not above):
        raise CheckFailed(
            f"eta_max = {value} at a = 1, b = 4, but converges says {bool(below)} just below "
            f"it and {bool(above)} just above it"
        )


@question("q3")
def q3_derivation_eta_max(student):
    """derivation_eta_max: every step follows, from rho1 = -1 to eta = ..."""
    steps = student.derivation_eta_max
    last = steps[-1] if isinstance(steps, list | tuple) and steps else ""
    _derivation(
        steps,
        "rho1 = -1",
        str(last),
        ("rho1", "eta", "a"),
        {"rho1": str(student.rho1)},
        ("eta",),
        "derivation_eta_max",
    )


@question("q4")
def q4_steps_by_hand(student):
    """steps_to_tolerance: w0 = (1, 0), a = b = 1, eta = 0.5 halves w: 4 steps to 0.1"""
    cases = [((1.0, 0.0), 0.5, 0.1, 4), ((0.05, 0.0), 0.5, 0.1, 0), ((1.0, 0.0), 2.5, 0.1, -1)]
    for w0, eta, tol, expected in cases:
        got = student.steps_to_tolerance(np.array(w0), 1.0, 1.0, eta, tol)
        if not isinstance(got, int | np.integer) or int(got) != expected:
            raise CheckFailed(
                f"steps_to_tolerance(w0={list(w0)}, a=1, b=1, eta={eta}, tol={tol}) "
                f"returned {got!r}; expected {expected}"
            )


@question("q4")
def q4_best_step(student):
    """eta_opt and rate_opt at a = 3, b = 1: the two factors are equal and opposite"""
    eta = _number(student.eta_opt, {"a": 3.0, "b": 1.0}, "eta_opt")
    rate = _number(student.rate_opt, {"a": 3.0, "b": 1.0}, "rate_opt")
    rho1, rho2 = 1 - 3.0 * eta, 1 - 1.0 * eta
    if abs(rho1 + rho2) > 1e-12:
        raise CheckFailed(
            f"at eta_opt = {eta} (a = 3, b = 1) rho1 = {rho1} and rho2 = {rho2} are not "
            "equal and opposite"
        )
    if abs(rate - abs(rho2)) > 1e-12:
        raise CheckFailed(
            f"rate_opt = {rate} at a = 3, b = 1, but the factors there are +-{abs(rho2)}"
        )


@question("q4")
def q4_derivations(student):
    """derivation_eta_opt and derivation_rate_opt: every step follows from the one before"""
    steps = student.derivation_eta_opt
    last = steps[-1] if isinstance(steps, list | tuple) and steps else ""
    _derivation(
        steps,
        "rho2 = -rho1",
        str(last),
        ("rho1", "rho2", "eta", "a", "b"),
        {"rho1": "1 - eta*a", "rho2": "1 - eta*b"},
        ("eta",),
        "derivation_eta_opt",
    )
    steps = student.derivation_rate_opt
    last = steps[-1] if isinstance(steps, list | tuple) and steps else ""
    _derivation(
        steps,
        "rate = 1 - eta_opt*b",
        str(last),
        ("rate", "eta_opt", "a", "b"),
        {"eta_opt": str(student.eta_opt)},
        (),
        "derivation_rate_opt",
    )


# ---------------------------------------------------------------------------- part B
def _network(output_scale=1.0):
    """A fixed 784-32-32-10 network (no random numbers: the same everywhere)."""
    W1 = 0.05 * np.sin(np.arange(784 * 32)).reshape(784, 32)
    W2 = 0.3 * np.cos(np.arange(32 * 32)).reshape(32, 32)
    W3 = output_scale * 0.4 * np.sin(0.7 * np.arange(32 * 10) + 1).reshape(32, 10)
    b1, b2, b3 = (
        0.1 * np.cos(np.arange(32)),
        0.1 * np.sin(np.arange(32)),
        0.2 * np.cos(np.arange(10)),
    )
    return [W1, W2, W3], [b1, b2, b3]


def _image(k=17):
    return (np.arange(784) % k) / (k - 1)


@question("q5")
def q5_shapes_and_scale(student):
    """init_weights: shapes 784-32-32-10, zero biases, W1's standard deviation about 1/28"""
    weights, biases = student.init_weights(np.random.default_rng(0))
    shapes = [np.shape(W) for W in weights], [np.shape(v) for v in biases]
    if shapes != ([(784, 32), (32, 32), (32, 10)], [(32,), (32,), (10,)]):
        raise CheckFailed(
            f"shapes {shapes}; expected [(784, 32), (32, 32), (32, 10)] and [(32,), (32,), (10,)]"
        )
    if any(np.any(np.asarray(v) != 0) for v in biases):
        raise CheckFailed("the biases must start at zero")
    std = float(np.std(weights[0]))
    if not 0.9 / 28 < std < 1.1 / 28:
        raise CheckFailed(
            f"W1 has standard deviation {std:.4g}; N(0, 1/784) has 1/28 = {1 / 28:.4g}"
        )


@question("q6")
def q6_one_example(student):
    """feed_forward_sample on a fixed network: loss 3.15412..., guess 7"""
    weights, biases = _network()
    loss, guess = student.feed_forward_sample(_image(), 3, weights, biases)
    called = "feed_forward_sample(x (784,), label=3, fixed weights)"
    assert_close(loss, 3.1541230376108125, name="loss", called=called, rtol=1e-8)
    assert_close(guess, np.eye(10)[7], name="one_hot_guess", called=called)


@question("q6")
def q6_large_logits(student):
    """feed_forward_sample with output logits near 1000: loss 1016.277..., no inf or nan"""
    weights, biases = _network(1000.0)
    loss, _ = student.feed_forward_sample(_image(), 3, weights, biases)
    assert_close(
        loss,
        1016.277754283435,
        name="loss",
        rtol=1e-8,
        called="feed_forward_sample(x (784,), label=3, W3 scaled by 1000)",
    )


@question("q6")
def q6_data_set(student):
    """feed_forward_dataset on three examples: mean loss 2.31306..., accuracy 1/3"""
    weights, biases = _network()
    X = np.stack([_image(k) for k in (17, 5, 11)])
    mean_loss, accuracy = student.feed_forward_dataset(X, np.array([3, 7, 0]), weights, biases)
    called = "feed_forward_dataset(X (3, 784), labels=[3, 7, 0], fixed weights)"
    assert_close(mean_loss, 2.313068346750716, name="mean_loss", called=called, rtol=1e-8)
    assert_close(accuracy, 1 / 3, name="accuracy", called=called)


@question("q7")
def q7_gradients_match_finite_differences(student):
    """gradients_one_sample matches finite differences of your feed_forward_sample's loss"""
    weights, biases = _network()
    x, label = _image(), 3
    weight_grads, bias_grads = student.gradients_one_sample(x, label, weights, biases)
    for kind, params, grads in (("W", weights, weight_grads), ("b", biases, bias_grads)):
        for layer in (2, 1, 0):
            coords = [0, params[layer].size // 2, params[layer].size - 1]

            def loss(p, kind=kind, layer=layer):
                ws, bs = list(weights), list(biases)
                (ws if kind == "W" else bs)[layer] = p
                return student.feed_forward_sample(x, label, ws, bs)[0]

            expected = numerical_gradient(loss, params[layer], coords=coords)
            got = np.asarray(grads[layer], dtype=float).ravel()[coords]
            if not np.allclose(got, expected, rtol=1e-4, atol=1e-7):
                raise CheckFailed(
                    f"d loss / d {kind}{layer + 1} at flat entries {coords}: your gradient gives "
                    f"{np.round(got, 6)}, finite differences of the loss give {np.round(expected, 6)}"
                    + (
                        " (the output layer is wrong: is the output error yhat - y, with y the "
                        "one-hot vector of the label?)"
                        if layer == 2
                        else ""
                    )
                )


@question("q7")
def q7_one_step(student):
    """train_one_sample takes W - learning_rate * gradient and returns new lists"""
    weights, biases = _network()
    x, label = _image(), 3
    weight_grads, bias_grads = student.gradients_one_sample(x, label, weights, biases)
    new_weights, new_biases = student.train_one_sample(x, label, weights, biases, 0.1)
    for l in range(3):
        assert_close(
            new_weights[l],
            weights[l] - 0.1 * np.asarray(weight_grads[l]),
            name=f"new W{l + 1}",
            called="train_one_sample(..., learning_rate=0.1)",
        )
        assert_close(
            new_biases[l],
            biases[l] - 0.1 * np.asarray(bias_grads[l]),
            name=f"new b{l + 1}",
            called="train_one_sample(..., learning_rate=0.1)",
        )


def _mean_loss(X, labels, weights, biases):
    """The mean cross-entropy of a network, computed here (not with your functions)."""
    H = X
    for W, b in zip(weights[:-1], biases[:-1]):
        H = 1.0 / (1.0 + np.exp(-(H @ W + b)))
    logits = H @ weights[-1] + biases[-1]
    logits -= logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return float(-np.mean(log_probs[np.arange(len(labels)), labels]))


@question("q8")
def q8_a_short_training(student):
    """train_epochs: 2 epochs on 12 images lower the mean loss; new lists of the same shapes"""
    weights, biases = _network()
    X = np.stack([_image(k) for k in range(3, 15)])
    labels = np.arange(12) % 10
    new_weights, new_biases = student.train_epochs(
        X, labels, weights, biases, epochs=2, learning_rate=0.1
    )
    shapes = [np.shape(W) for W in new_weights], [np.shape(v) for v in new_biases]
    if shapes != ([np.shape(W) for W in weights], [np.shape(v) for v in biases]):
        raise CheckFailed(
            f"train_epochs returned parameters of shapes {shapes}; it must return "
            "(weights, biases), lists shaped like its arguments"
        )
    before = _mean_loss(X, labels, weights, biases)
    after = _mean_loss(
        X,
        labels,
        [np.asarray(W, dtype=float) for W in new_weights],
        [np.asarray(v, dtype=float) for v in new_biases],
    )
    if not after < before:
        raise CheckFailed(
            f"the mean loss on the training images went from {before:.4f} to {after:.4f} "
            "after 2 epochs at learning_rate=0.1; it should go down"
        )
