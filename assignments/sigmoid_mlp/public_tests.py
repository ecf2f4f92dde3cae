"""Public tests of sigmoid_mlp: run in your notebook by check("q1") ... check("q7").

Each test calls your function on a tiny case whose expected values are written below (a
network with D = 2 inputs, two hidden layers of 2 units and N = 3 examples). The grader runs
many more tests: random networks of 1 to 10 hidden layers, finite differences of your own
loss, and training on real MNIST images.
"""

import numpy as np
import sympy as sp
from mlhw_check import question
from mlhw_check.checks import (
    CheckFailed,
    assert_close,
    assert_equivalent,
    assert_figure,
    parse_answer,
)

PARAMS = {
    "W1": np.array([[0.5, -1.0], [1.5, 0.25]]),
    "b1": np.array([0.1, -0.2]),
    "W2": np.array([[1.0, -0.5], [0.75, 2.0]]),
    "b2": np.array([0.0, 0.3]),
    "w3": np.array([1.2, -0.8]),
    "b3": -0.1,
}
X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 2.0]])
Y = np.array([1.0, 0.0, 1.0])
F = np.array([0.5612570372612453, 0.5635247126485953, 0.5602435450801208])
L = 1.9859835100866607
GRADS = {
    "W1": np.array([[-0.02835303172025969, 0.0059272605447522],
                    [0.00953451726453356, -0.00594785279277033]]),
    "b1": np.array([-1.8818514455726125e-02, -2.0592248018135376e-05]),
    "W2": np.array([[-0.04529517552408194, 0.02898027753008667],
                    [-0.02582415178230385, 0.0157645086390253]]),
    "b2": np.array([-0.07024986488787692, 0.04695690703131548]),
    "w3": np.array([-0.23065644867959031, -0.21840605009775726]),
    "b3": -0.31497470501003866,
}
CALL = "(PARAMS: 2-2-2-1 network, X (3, 2), y = [1, 0, 1])"


def _params():
    return {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in PARAMS.items()}


@question("q1")
def q1_forward_tiny_network(student):
    """forward on a 2-2-2-1 network"""
    assert_close(student.forward(_params(), X.copy()), F, name="f", called="forward" + CALL)


@question("q1")
def q1_loss_is_a_sum(student):
    """loss is the summed cross-entropy"""
    assert_close(student.loss(_params(), X.copy(), Y.copy()), L, name="L", called="loss" + CALL)


@question("q1")
def q1_loss_stable_for_huge_weights(student):
    """loss stays finite (399.9) when the weights are multiplied by 1000"""
    big = {k: v * 1000 if k[0] in "Ww" else v for k, v in _params().items()}
    assert_close(student.loss(big, X.copy(), Y.copy()), 399.9, name="L", rtol=1e-9,
                 called="loss(PARAMS with weights x 1000, X, y)")


@question("q2")
def q2_backward_tiny_network(student):
    """backward on the 2-2-2-1 network, every key"""
    grads = student.backward(_params(), X.copy(), Y.copy())
    if not isinstance(grads, dict):
        raise CheckFailed(f"backward must return a dict, got {type(grads).__name__}")
    for key, expected in GRADS.items():
        if key not in grads:
            raise CheckFailed(f"the dict backward returned has no key {key!r}")
        assert_close(grads[key], expected, name=f"grads[{key!r}]", rtol=1e-6, called="backward" + CALL)


@question("q3")
def q3_he_std(student):
    """he_std(2) = 1 and he_std(8) = 0.5"""
    assert_close(student.he_std(2), 1.0, name="he_std(2)")
    assert_close(student.he_std(8), 0.5, name="he_std(8)")


@question("q3")
def q3_sigma_sq(student):
    """sigma_sq is the He variance, a formula in n"""
    assert_equivalent(student.sigma_sq, "2/n", {"n": sp.Symbol("n", positive=True)}, name="sigma_sq")


@question("q3")
def q3_init_params_shapes_and_scale(student):
    """init_params([400, 300, 1]): shapes, zero biases, std of W1 close to sqrt(2/400)"""
    params = student.init_params([400, 300, 1], np.random.default_rng(0), "he")
    for key, shape in [("W1", (400, 300)), ("b1", (300,)), ("w2", (300,))]:
        if key not in params:
            raise CheckFailed(f"init_params([400, 300, 1], rng) returned no {key!r}")
        if np.shape(params[key]) != shape:
            raise CheckFailed(f"{key} has shape {np.shape(params[key])}; expected {shape}")
    if np.any(np.asarray(params["b1"]) != 0) or float(params["b2"]) != 0.0:
        raise CheckFailed("the biases must start at zero")
    std = float(np.std(params["W1"]))
    if abs(std - np.sqrt(2 / 400)) > 0.03 * np.sqrt(2 / 400):
        raise CheckFailed(f"the standard deviation of W1 is {std:.4g}; expected sqrt(2/400) = 0.0707")


@question("q4")
def q4_train_separates_a_toy_problem(student):
    """train separates 120 points of the plane by the line x1 + x2 = 0"""
    gen = np.random.default_rng(0)
    Xt = gen.normal(size=(120, 2))
    yt = (Xt[:, 0] + Xt[:, 1] > 0).astype(float)
    params = student.train(Xt.copy(), yt.copy(), [2, 4, 1], 0.5, 10, 30, np.random.default_rng(1))
    z = student.forward(params, Xt)
    accuracy = float(np.mean((np.asarray(z) >= 0.5) == yt))
    if accuracy < 0.95:
        raise CheckFailed(f"training accuracy {accuracy:.0%} on the toy problem; expected at least 95% "
                          "(sizes [2, 4, 1], lr 0.5, batch 10, 30 epochs)")


@question("q5")
def q5_grad_w1_norm_tiny_network(student):
    """grad_w1_norm on the 2-2-2-1 network"""
    assert_close(student.grad_w1_norm(_params(), X.copy(), Y.copy()), 0.031069451195790094,
                 name="||dL/dW1||", rtol=1e-6, called="grad_w1_norm" + CALL)


@question("q5")
def q5_plot_has_a_log_axis(student):
    """plot_grad_norms draws one line of 4 points on a log y-axis"""
    fig = student.plot_grad_norms(np.arange(1, 5), np.array([1.0, 0.1, 0.02, 0.001]))
    assert_figure(fig, line_length=4, yscale="log", name="plot_grad_norms([1..4], [1, 0.1, 0.02, 0.001])")


@question("q6")
def q6_answers_are_readable(student):
    """max_dsigmoid and contraction are exact expressions (their values are checked by the grader)"""
    eps = sp.Symbol("eps", positive=True)
    value = parse_answer(student.max_dsigmoid, {})
    if value.free_symbols:
        raise CheckFailed("max_dsigmoid must be a number, without symbols")
    if not 0 < float(value) < 1:
        raise CheckFailed(f"max_dsigmoid = {value}: sigma' takes values between 0 and 1")
    parse_answer(student.contraction, {"eps": eps})


@question("q7")
def q7_answers_are_options(student):
    """each multiple-choice answer is "yes" or "no" (the values are checked by the grader)"""
    for name in ["mc_same_sign_single", "mc_same_sign_batch", "mc_tanh_vanishes", "mc_relu_vanishes"]:
        value = getattr(student, name)
        if not isinstance(value, str) or value.strip().lower() not in ("yes", "no"):
            raise CheckFailed(f"{name} must be the string \"yes\" or \"no\", got {value!r}")
