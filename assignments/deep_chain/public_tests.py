"""Public tests of deep_chain: run in your notebook by check("q1") ... check("q8").

Each test calls your function on a small case worked out by hand (the expected values are
written below). The grader runs many more tests, on random chains of 1 to 200 layers.
"""

import numpy as np
from mlhw_check import question
from mlhw_check.checks import (
    CheckFailed,
    Mistake,
    assert_close,
    assert_close_or_diagnose,
    assert_figure,
    check_gradient,
    parse_answer,
)

# A 2-layer chain, m = 2 examples: x = (0.5, -1), w = (2, -1), no bias, targets y = (0, 0.5).
X2 = np.array([0.5, -1.0])
W2 = np.array([2.0, -1.0])
Y2 = np.array([0.0, 0.5])
U2 = np.array([[1.0, -2.0], [-0.7615941559557649, 0.9640275800758169]])
H2 = np.array(
    [
        [0.5, -1.0],
        [0.7615941559557649, -0.9640275800758169],
        [-0.6420149920119997, 0.7460679984455996],
    ]
)
G2 = np.array(
    [[0.0792464633032189, -0.00385408213973334], [-0.1886935830381031, 0.05455112729035198]]
)
PUBLISHED_X = np.array([-0.5, 0.5])


@question("q1")
def q1_two_layers_by_hand(student):
    """chain_forward on a 2-layer chain worked by hand"""
    u, h = student.chain_forward(X2.copy(), W2.copy())
    called = "chain_forward(x=[0.5, -1], w=[2, -1])"
    assert_close(u, U2, name="u", called=called)
    assert_close(h, H2, name="h", called=called)


@question("q1")
def q1_bias(student):
    """chain_forward adds the bias: one layer, x = 0, w = 1, b = 0.5"""
    u, h = student.chain_forward(np.array([0.0]), np.array([1.0]), np.array([0.5]))
    called = "chain_forward(x=[0], w=[1], b=[0.5])"
    assert_close(u, np.array([[0.5]]), name="u", called=called)
    assert_close(h, np.array([[0.0], [0.46211715726000974]]), name="h", called=called)


@question("q2")
def q2_two_layers_by_hand(student):
    """chain_backward on the 2-layer chain, y = (0, 0.5)"""
    g = student.chain_backward(U2.copy(), H2.copy(), Y2.copy(), W2.copy())
    forgot_m = Mistake(
        "forgot 1/m",
        "your g is 2 (= m) times too large: did you forget the 1/m "
        "in g_l = (1/m) tanh'(u_l) (h_l - y)?",
    )
    wrong_weight = Mistake(
        "off by one",
        "your recursion multiplies g_k by w_{k-1}; it must use "
        "the weight of the layer above: g_{k-1} = tanh'(u_{k-1}) * g_k * w_k",
    )
    off_by_one = G2.copy()
    off_by_one[0] *= W2[0] / W2[1]
    assert_close_or_diagnose(
        g,
        G2,
        [(forgot_m, 2 * G2), (wrong_weight, off_by_one)],
        name="g",
        called="chain_backward(u (2, 2), h (3, 2), y=[0, 0.5], w=[2, -1])",
    )


@question("q2")
def q2_finite_differences(student):
    """h_{k-1} . g_k from your g agrees with finite differences of J in w_k"""
    g = np.asarray(student.chain_backward(U2.copy(), H2.copy(), Y2.copy(), W2.copy()), dtype=float)

    def cost(w):
        signal = X2
        for wk in w:
            signal = np.tanh(signal * wk)
        return np.sum((Y2 - signal) ** 2) / (2 * len(Y2))

    if g.shape != (2, 2):
        raise CheckFailed(f"g has shape {g.shape}; expected (2, 2): one row per layer")
    check_gradient(cost, np.sum(H2[:-1] * g, axis=1), W2.copy(), name="h_{k-1}^T g_k", m=len(Y2))


@question("q3")
def q3_small_case(student):
    """chain_gradients on h = [[1, 2], [3, 4], [5, 6]], g = [[0.1, 0.2], [0.3, 0.4]]"""
    dw, db = student.chain_gradients(
        np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([[0.1, 0.2], [0.3, 0.4]])
    )
    assert_close(dw, np.array([0.5, 2.5]), name="dw", called="chain_gradients(h (3, 2), g (2, 2))")
    assert_close(db, np.array([0.3, 0.7]), name="db", called="chain_gradients(h (3, 2), g (2, 2))")


@question("q4")
def q4_one_step_by_hand(student):
    """train_chain: one step on a 1-layer chain (x = 1, y = 0.5, w0 = 0, alpha = 1)"""
    w0 = np.array([0.0])
    w, b, costs = student.train_chain(np.array([1.0]), np.array([0.5]), w0, None, 1.0, 1)
    called = "train_chain(x=[1], y=[0.5], w0=[0], b0=None, alpha=1, max_iter=1)"
    if b is not None:
        raise CheckFailed("train_chain returned a bias although b0 was None; return b = None")
    if w0[0] != 0.0:
        raise CheckFailed("train_chain changed w0 in place; copy it before updating")
    assert_close(w, np.array([0.5]), name="w", called=called)
    assert_close(costs, np.array([0.125, 0.00071755488703142]), name="costs", called=called)


@question("q4")
def q4_published_start(student):
    """train_chain from all-ones weights: costs[0] = 0.0727, then J decreases"""
    costs = student.train_chain(PUBLISHED_X, PUBLISHED_X, np.ones(100), None, 0.1, 3)[2]
    called = "train_chain(x=y=[-0.5, 0.5], w0=ones(100), alpha=0.1, max_iter=3)"
    assert_close(
        costs,
        np.array(
            [0.0726891411264804, 0.06543767633432909, 0.05787691997614931, 0.05037503941201105]
        ),
        name="costs",
        called=called,
        rtol=1e-6,
    )


@question("q5")
def q5_trace_at_w5(student):
    """first_iteration_trace at w = 5: shapes, and g at layer 1 is below 1e-250"""
    h, g = student.first_iteration_trace(PUBLISHED_X, PUBLISHED_X, np.full(100, 5.0))
    h, g = np.asarray(h, dtype=float), np.asarray(g, dtype=float)
    if h.shape != (101, 2) or g.shape != (100, 2):
        raise CheckFailed(f"h has shape {h.shape} and g {g.shape}; expected (101, 2) and (100, 2)")
    assert_close(h[1], np.array([-0.9866142981514303, 0.9866142981514303]), name="h[1]")
    if not np.max(np.abs(g[0])) < 1e-250:
        raise CheckFailed(
            f"|g_1| = {np.max(np.abs(g[0])):.3g}; at w = 5 it must be below 1e-250 "
            "(is your tanh' accurate for large |u|?)"
        )


@question("q5")
def q5_shrink_factor_matches_the_trace(student):
    """shrink_factor is an exact expression matching |g_k-1| / |g_k| in your trace at w = 5"""
    answer = student.shrink_factor
    if isinstance(answer, float):
        raise CheckFailed(
            f"shrink_factor = {answer!r} is a float; give the exact expression "
            '(a sympy expression or a string such as "...")'
        )
    value = float(parse_answer(answer, {}).evalf())
    g = student.first_iteration_trace(PUBLISHED_X, PUBLISHED_X, np.full(100, 5.0))[1]
    ratio = np.asarray(g, dtype=float)[50:52, 0]
    observed = float(abs(ratio[0] / ratio[1]))
    if not abs(value - observed) <= 0.01 * observed:
        raise CheckFailed(
            f"shrink_factor evaluates to {value:.4g}, but in your trace g shrinks "
            f"by {observed:.4g} per layer (|g_51| / |g_52|)"
        )


def _cost_two_layer(X, W1, b, W2, Y, phi):
    out = phi(X @ W1 + b) @ W2
    return -np.trace(out @ Y) / X.shape[0]


@question("q6")
def q6_small_network(student):
    """two_layer_grads with tanh on a small network (m = 2, d = 1, n_h = 2, c = 1)"""
    X = np.array([[1.0], [2.0]])
    W1 = np.array([[0.5, -0.5]])
    b = np.array([0.0, 0.1])
    Wout = np.array([[1.0], [2.0]])
    Y = np.array([[1.0, -1.0]])
    out = student.two_layer_grads(X, W1, b, Wout, Y, np.tanh, lambda u: 1.0 / np.cosh(u) ** 2)
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        raise CheckFailed("two_layer_grads must return a tuple (G2, G1, dW1, db)")
    called = "two_layer_grads(X (2, 1), W1 (1, 2), b (2,), W2 (2, 1), Y (1, 2), tanh)"
    no_m = Mistake("no 1/m", "your G2 is missing the factor 1/m (m = 2)")
    assert_close_or_diagnose(
        out[0],
        np.array([[-0.5], [0.5]]),
        [(no_m, np.array([[-1.0], [1.0]]))],
        name="G2",
        called=called,
    )
    assert_close(
        out[1],
        np.array(
            [
                [-0.39322386648296376, -0.8556387860811778],
                [0.20998717080701304, 0.48691736114834155],
            ]
        ),
        name="G1",
        called=called,
    )
    assert_close(
        out[2], np.array([[0.02675047513106232, 0.11819593621550528]]), name="dW1", called=called
    )
    assert_close(
        out[3], np.array([-0.18323669567595072, -0.3687214249328363]), name="db", called=called
    )


@question("q6")
def q6_any_activation(student):
    """two_layer_grads calls the phi and dphi it is given (softplus): dW1 and db agree with finite differences"""
    rng = np.random.default_rng(0)
    X, W1, b = rng.normal(size=(3, 2)), rng.normal(size=(2, 4)), rng.normal(size=4)
    Wout, Y = rng.normal(size=(4, 2)), rng.normal(size=(2, 3))

    def softplus(u):
        return np.logaddexp(0.0, u)

    def dsoftplus(u):
        return 0.5 * (1.0 + np.tanh(0.5 * u))

    _, _, dW1, db = student.two_layer_grads(X, W1, b, Wout, Y, softplus, dsoftplus)
    check_gradient(lambda V: _cost_two_layer(X, V, b, Wout, Y, softplus), dW1, W1, name="dW1")
    check_gradient(lambda c: _cost_two_layer(X, W1, c, Wout, Y, softplus), db, b, name="db")


@question("q8")
def q8_plot_costs(student):
    """plot_costs draws one line per run, J against iteration, on a log y-axis"""
    fig = student.plot_costs({"a": np.array([1.0, 0.1, 0.01]), "b": np.array([0.5, 0.4, 0.3])})
    assert_figure(fig, n_lines=2, line_length=3, yscale="log", name="plot_costs(...)")


@question("q8")
def q8_plot_trace(student):
    """plot_trace draws h and g against the layer on a log y-axis"""
    fig = student.plot_trace(H2, G2)
    assert_figure(fig, yscale="log", min_points=5, name="plot_trace(h (3, 2), g (2, 2))")
