"""Public tests of mlp_multiclass: run in your notebook by check("q1") ... check("q7").

Each test calls your function on a small case worked out beforehand (the expected values are
written below). The grader runs many more tests, on inputs it draws at grading time.
"""

import numpy as np
import sympy as sp
from mlhw_check import question
from mlhw_check.checks import CheckFailed, assert_close, assert_figure, parse_answer

X_SYM = {"x": sp.Symbol("x", real=True)}

# A network with d = 2 inputs, d_h = 3 hidden units, m = 2 classes, and two examples.
PARAMS = {
    "W1": np.array([[1.0, -1.0], [0.5, 2.0], [-1.0, 0.5]]),
    "b1": np.array([0.1, -0.2, 0.3]),
    "W2": np.array([[1.0, -2.0, 0.5], [-1.0, 1.0, 2.0]]),
    "b2": np.array([0.0, 0.5]),
}
X = np.array([[1.0, 0.5], [-0.5, 1.0]])
Y = np.array([1, 0])


def _params():
    return {k: v.copy() for k, v in PARAMS.items()}


@question("q1")
def q1_answers_are_readable(student):
    """the four identities are expressions in their own symbol (x, x, s, t)"""
    for name, symbol, extra in [
        ("sigmoid_via_tanh", "x", ()),
        ("log_sigmoid", "x", ("softplus",)),
        ("dsigmoid_in_s", "s", ()),
        ("dtanh_in_t", "t", ()),
    ]:
        kind = {"s": {"positive": True}, "x": {"real": True}, "t": {"real": True}}[symbol]
        try:
            parse_answer(student[name], {symbol: sp.Symbol(symbol, **kind)}, extra_functions=extra)
        except CheckFailed as exc:
            raise CheckFailed(f"{name}: {exc}") from None


@question("q2")
def q2_values(student):
    """sigmoid, softplus, dsigmoid and dtanh at a few points, including |x| = 1e4"""
    x = np.array([-1e4, -2.0, 0.5, 1e4])
    assert_close(student.sigmoid(x.copy()), np.array([0.0, 0.11920292202211755, 0.6224593312018546, 1.0]),
                 name="sigmoid([-1e4, -2, 0.5, 1e4])")
    assert_close(student.softplus(x.copy()), np.array([0.0, 0.1269280110429725, 0.9740769841801067, 1e4]),
                 name="softplus([-1e4, -2, 0.5, 1e4])")
    assert_close(student.dsigmoid(np.array([-2.0, 0.5])), np.array([0.1049935854035065, 0.2350037122015945]),
                 name="dsigmoid([-2, 0.5])")
    assert_close(student.dtanh(np.array([-2.0, 0.5])), np.array([0.07065082485316446, 0.7864477329659275]),
                 name="dtanh([-2, 0.5])")


@question("q2")
def q2_penalty_gradients(student):
    """relu, drelu, sign, dabs, grad_sq_norm and grad_l1 on a 2x2 array"""
    x = np.array([[-1.5, 2.0], [0.5, -3.0]])
    expected = {
        "relu": [[0.0, 2.0], [0.5, 0.0]],
        "drelu": [[0.0, 1.0], [1.0, 0.0]],
        "sign": [[-1.0, 1.0], [1.0, -1.0]],
        "dabs": [[-1.0, 1.0], [1.0, -1.0]],
        "grad_sq_norm": [[-3.0, 4.0], [1.0, -6.0]],
        "grad_l1": [[-1.0, 1.0], [1.0, -1.0]],
    }
    for name, value in expected.items():
        assert_close(student[name](x.copy()), np.array(value), name=f"{name}([[-1.5, 2], [0.5, -3]])")


@question("q3")
def q3_two_rows(student):
    """softmax of [[1, 2, 3], [0, 0, 0]], row by row"""
    S = student.softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
    assert_close(S, np.array([[0.09003057317038046, 0.24472847105479764, 0.6652409557748218],
                              [1 / 3, 1 / 3, 1 / 3]]), name="softmax([[1, 2, 3], [0, 0, 0]])")


@question("q3")
def q3_huge_logits(student):
    """softmax of [[1e4, 0], [0, -1e4]] is finite"""
    S = student.softmax(np.array([[1e4, 0.0], [0.0, -1e4]]))
    assert_close(S, np.array([[1.0, 0.0], [1.0, 0.0]]), name="softmax([[1e4, 0], [0, -1e4]])")


@question("q4")
def q4_count(student):
    """n_params(2, 3, 4) = 25"""
    assert_close(student.n_params(2, 3, 4), 25, name="n_params(2, 3, 4)")
    parse_answer(student.n_params_expr, {k: sp.Symbol(k, positive=True, integer=True) for k in ("d", "d_h", "m")})


@question("q5")
def q5_fprop_and_loss(student):
    """fprop and loss on a 2-3-2 network, two examples"""
    assert_close(student.fprop(_params(), X.copy()),
                 np.array([[0.03916572279676435, 0.9608342772032357],
                           [0.0008244246863982947, 0.9991755753136017]]), name="fprop")
    assert_close(student.loss(_params(), X.copy(), Y.copy()), 3.5703890489368786, name="loss")


@question("q5")
def q5_bprop(student):
    """bprop on the 2-3-2 network, with l11 = 0.1 and l22 = 0.2"""
    grads = student.bprop(_params(), X.copy(), Y.copy(), 0.1, 0.0, 0.0, 0.2)
    expected = {
        "W1": np.array([[0.13916572279676434, -0.08041713860161784],
                        [-0.7081302656803478, 1.5693890708728293],
                        [-0.4746908407426006, 0.8493816814852012]]),
        "b1": np.array([0.03916572279676434, 1.440014778775256, 0.7493816814852012]),
        "W2": np.array([[0.41174971683902933, -1.5489033510501447, -0.4494641239538411],
                        [-0.41174971683902933, 1.1489033510501445, 1.4494641239538413]]),
        "b2": np.array([-0.4800049262584187, 0.4800049262584187]),
    }
    assert_close(grads, expected, name="bprop(...)")


@question("q5")
def q5_grad_input(student):
    """grad_input for the first example (label 1)"""
    assert_close(student.grad_input(_params(), X[0].copy(), 1),
                 np.array([0.01958286139838217, -0.31332578237411474]), name="grad_input")


@question("q6")
def q6_quadratic(student):
    """grad_check is tiny for the right gradient of sum(theta^2) and large for a wrong one"""
    theta = np.array([0.5, -1.0, 2.0])
    right = student.grad_check(lambda v: float(np.sum(v ** 2)), lambda v: 2 * v, theta.copy())
    if not float(right) < 1e-6:
        raise CheckFailed(f"grad_check returned {float(right):.3g} for the right gradient 2*theta; expected < 1e-6")
    wrong = student.grad_check(lambda v: float(np.sum(v ** 2)), lambda v: v, theta.copy())
    if not float(wrong) > 1e-2:
        raise CheckFailed(f"grad_check returned {float(wrong):.3g} for the wrong gradient theta (half the right one); "
                          "expected a relative error far above 1e-6")


@question("q7")
def q7_train_separates_blobs(student):
    """train on two well separated blobs: history of the right length, then a figure"""
    gen = np.random.default_rng(0)
    Xb = np.vstack([gen.normal(-2.0, 0.5, size=(40, 2)), gen.normal(2.0, 0.5, size=(40, 2))])
    yb = np.repeat([0, 1], 40)
    params, history = student.train(Xb, yb, 4, 0.5, 5, 8, np.random.default_rng(1))
    for key in ("train_loss", "valid_loss", "train_acc", "valid_acc"):
        if key not in history or len(history[key]) != 5:
            raise CheckFailed(f"history[{key!r}] should be a list of 5 values (one per epoch)")
    fig = student.plot_decision_boundary(params, Xb, yb)
    assert_figure(fig, has_contour=True, min_points=80, name="plot_decision_boundary(...)")
