"""Writes the mlp_multiclass test submissions as real notebooks (run once; the notebooks are
committed). Each variant is the worked solution (the source notebook's solution code) with
one part replaced, so a test can check that exactly the intended question loses points and
that every other question is still graded."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.release.source import load_source, solution_source

HERE = Path(__file__).parent / "mlp_multiclass"
# The example class (`mlhw demo`) lives beside the assignment; its cases' expected grades
# point there (tests/submissions/mlp_multiclass/<case>.expected.toml, `notebook = ...`).
EXAMPLES = Path(__file__).parents[2] / "assignments" / "mlp_multiclass" / "examples"
EXAMPLE_CASES = {"solution", "partial", "mistake_db1_ones", "mistake_log_sigmoid_softmax",
                 "hostile_monkeypatch"}

IMPORTS = """%matplotlib inline
import numpy as np
import sympy as sp
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

x = sp.Symbol("x", real=True)
t = sp.Symbol("t", real=True)
s = sp.Symbol("s", positive=True)
d, d_h, m = sp.symbols("d d_h m", positive=True, integer=True)"""


def _solution_parts() -> dict[str, str]:
    cells = [solution_source(sc.source) for sc in load_source("mlp_multiclass").cells
             if sc.cell.cell_type == "code" and (sc.regions or sc.answers)]
    names = ["identities", "activations", "softmax", "count", "derivations", "network",
             "gradcheck", "train"]
    return dict(zip(names, cells, strict=True))


PARTS = _solution_parts()

EXPERIMENT = """
X_c = np.random.default_rng(0).normal(size=(200, 2))
y_c = (np.linalg.norm(X_c, axis=1) < 1).astype(int)
params_c, history_c = train(X_c, y_c, 16, 0.3, 20, 16, np.random.default_rng(1))
plot_decision_boundary(params_c, X_c, y_c)
"""

WRITTEN = ("Each ReLU unit bends the boundary along one line, so with 2 units it is a wedge and "
           "cannot enclose the inner circle; with 16 units and enough epochs it is a polygon "
           "close to a circle.")


def notebook(replace=None, extra_first=None):
    parts = dict(PARTS, **(replace or {}))
    cells = [new_markdown_cell("# Multiclass MLP homework")]
    if extra_first:
        cells.append(new_code_cell(extra_first))
    cells.append(new_code_cell(IMPORTS))
    cells += [new_code_cell(src.strip()) for src in parts.values() if src.strip()]
    cells.append(new_code_cell(EXPERIMENT.strip(), metadata={"tags": ["experiment"]}))
    cells.append(new_markdown_cell(WRITTEN, metadata={"mlhw": {"written": "q8"}}))
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # stable ids: regenerating changes only what changed
    return new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})


def stub(*names):
    return "\n\n".join(f'def {name}(*args, **kwargs):\n    raise NotImplementedError("{name}")'
                       for name in names)


def _replace(part, old, new):
    text = PARTS[part]
    assert old in text, (part, old)
    return text.replace(old, new)


LOOPS = '''
import math

def sigmoid(x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for i, v in np.ndenumerate(x):
        out[i] = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    return out

def dsigmoid(x):
    sx = sigmoid(x)
    return sx * (1 - sx)

def tanh(x):
    return np.vectorize(math.tanh, otypes=[float])(np.asarray(x, dtype=float))

def dtanh(x):
    return 1 - tanh(x) ** 2

def relu(x):
    return np.where(np.asarray(x) > 0, x, 0.0).astype(float)

def drelu(x):
    return np.where(np.asarray(x) > 0, 1.0, 0.0)

def softplus(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=float))

def sign(x):
    return np.vectorize(lambda v: float((v > 0) - (v < 0)), otypes=[float])(np.asarray(x, dtype=float))

dabs = sign
grad_l1 = sign

def grad_sq_norm(x):
    return np.asarray(x, dtype=float) + np.asarray(x, dtype=float)
'''

LOOP_SOFTMAX = '''
def softmax(A):
    A = np.asarray(A, dtype=float)
    rows = A.reshape(-1, A.shape[-1])
    out = np.zeros_like(rows)
    for i in range(rows.shape[0]):
        top = max(rows[i])
        e = [math.exp(a - top) for a in rows[i]]
        total = sum(e)
        out[i] = [v / total for v in e]
    return out.reshape(A.shape)
'''

LOOP_NETWORK = '''
def fprop(params, X):
    out = []
    for xi in np.asarray(X, dtype=float):
        ha = params["W1"] @ xi + params["b1"]
        out.append(softmax(params["W2"] @ relu(ha) + params["b2"]))
    return np.array(out, dtype=np.float32)


def loss(params, X, y):
    total = 0.0
    for xi, yi in zip(np.asarray(X, dtype=float), y):
        oa = params["W2"] @ relu(params["W1"] @ xi + params["b1"]) + params["b2"]
        total += np.logaddexp.reduce(oa) - oa[int(yi)]
    return total / len(y)


def bprop(params, X, y, l11=0, l12=0, l21=0, l22=0):
    grads = {k: np.zeros_like(v, dtype=float) for k, v in params.items()}
    n = len(y)
    for xi, yi in zip(np.asarray(X, dtype=float), y):
        ha = params["W1"] @ xi + params["b1"]
        hs = relu(ha)
        g = softmax(params["W2"] @ hs + params["b2"])
        g[int(yi)] -= 1
        ga = (params["W2"].T @ g) * drelu(ha)
        grads["W2"] += np.outer(g, hs) / n
        grads["b2"] += g / n
        grads["W1"] += np.outer(ga, xi) / n
        grads["b1"] += ga / n
    grads["W1"] += l11 * sign(params["W1"]) + 2 * l12 * params["W1"]
    grads["W2"] += l21 * sign(params["W2"]) + 2 * l22 * params["W2"]
    return grads


def grad_input(params, x, y):
    ha = params["W1"] @ x + params["b1"]
    g = softmax(params["W2"] @ relu(ha) + params["b2"])
    g[y] -= 1
    return params["W1"].T @ ((params["W2"].T @ g) * drelu(ha))
'''

LOOP_TRAIN = '''
def init(d_in, hidden, classes, rng):
    return {"W1": rng.standard_normal((hidden, d_in)) * np.sqrt(2 / d_in), "b1": np.zeros(hidden),
            "W2": rng.standard_normal((classes, hidden)) * np.sqrt(2 / hidden), "b2": np.zeros(classes)}


def accuracy(params, X, y):
    return float(np.mean(np.argmax(fprop(params, X), axis=1) == y))


def train(X, y, d_h, lr, epochs, batch_size, rng):
    n = len(y)
    idx = rng.permutation(n)
    cut = int(0.8 * n)
    tr, va = idx[:cut], idx[cut:]
    params = init(X.shape[1], d_h, int(max(y)) + 1, rng)
    history = {"train_loss": [], "valid_loss": [], "train_acc": [], "valid_acc": []}
    for epoch in range(epochs):
        order = tr[rng.permutation(len(tr))]
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        for batch in batches:
            grads = bprop(params, X[batch], y[batch])
            for key in params:
                params[key] = params[key] - lr * grads[key]
        history["train_loss"].append(loss(params, X[tr], y[tr]))
        history["valid_loss"].append(loss(params, X[va], y[va]))
        history["train_acc"].append(accuracy(params, X[tr], y[tr]))
        history["valid_acc"].append(accuracy(params, X[va], y[va]))
    return params, history


def plot_decision_boundary(params, X, y):
    fig, ax = plt.subplots()
    xx, yy = np.meshgrid(np.linspace(-2, 2, 60), np.linspace(-2, 2, 60))
    zz = np.argmax(fprop(params, np.c_[xx.ravel(), yy.ravel()]), axis=1)
    ax.contourf(xx, yy, zz.reshape(xx.shape), alpha=0.4)
    ax.scatter(X[:, 0], X[:, 1], c=y)
    plt.close(fig)
    return fig
'''

VARIANTS = {
    "solution": {},
    # Correct in another style: loops over examples and entries (math.exp), float32
    # probabilities from fprop, a notebook-defined init and accuracy, the identities in
    # other equivalent forms (log sigma as -log(1 + e^-x)), derivations with other steps.
    "loops_float32": {
        "identities": '''
sigmoid_via_tanh = "1/2 + tanh(x/2)/2"
log_sigmoid = "-log(1 + exp(-x))"
dsigmoid_in_s = "s - s**2"
dtanh_in_t = (1 - t) * (1 + t)
''',
        "activations": LOOPS, "softmax": LOOP_SOFTMAX,
        "count": "def n_params(d, d_h, m):\n    return d * d_h + d_h + d_h * m + m\n\nn_params_expr = \"d*d_h + d_h + d_h*m + m\"",
        "derivations": '''
derivation_db1 = ["dL_db11 = dL_dha1*dha1_db11", "dL_db11 = dL_dhs1*dhs1_dha1*1",
                  "dL_db11 = (g1*W11 + g2*W21)*dhs1_dha1", "dL_db11 = g1*W11*r1 + g2*W21*r1"]
db1_entries = ["g1*W11*r1 + g2*W21*r1", "r2*(g1*W12 + g2*W22)"]
derivation_dW2 = ["dL_dW12 = dL_doa1*doa1_dW12", "dL_dW12 = dL_doa1*hs2", "dL_dW12 = g1*hs2"]
dW2_entries = ("hs1*g1", "hs2*g1", "hs1*g2", "hs2*g2")
''',
        "network": LOOP_NETWORK, "train": LOOP_TRAIN},
    "partial": {
        "derivations": "derivation_db1 = ...\ndb1_entries = ...\nderivation_dW2 = ...\ndW2_entries = ...",
        "network": stub("fprop", "loss", "bprop", "grad_input"),
        "gradcheck": stub("grad_check"), "train": stub("train", "plot_decision_boundary")},
    # The published solution's dL/db1: a vector of ones, in the derivation and in bprop;
    # log sigma written as log(1/(1 + e^-x)) (right). q5 loses the derivation of db1 (2),
    # db1_entries (1) and bprop's b1 (3); train is right with a right bprop (lent).
    "mistake_db1_ones": {
        "identities": _replace("identities", 'log_sigmoid = "-softplus(-x)"',
                               'log_sigmoid = "log(1/(1 + exp(-x)))"'),
        "derivations": _replace("derivations", '"dL_db11 = dL_dha1*1", "dL_db11 = dL_dhs1*dhs1_dha1", '
                                '"dL_db11 = (g1*W11 + g2*W21)*r1"]', '"dL_db11 = 1*1", "dL_db11 = 1"]').replace(
            'db1_entries = ("(g1*W11 + g2*W21)*r1", "(g1*W12 + g2*W22)*r2")', 'db1_entries = ("1", "1")'),
        "network": _replace("network", '"b1": Ga.sum(axis=0)', '"b1": np.ones(W1.shape[0])')},
    # The published solution's log sigma(x) = -softmax(-x): q1's log_sigmoid only (3).
    "mistake_log_sigmoid_softmax": {
        "identities": _replace("identities", 'log_sigmoid = "-softplus(-x)"',
                               'log_sigmoid = "-softmax(-x)"')},
    # softmax normalised over axis 0 (the examples): q3 loses all but the 1-D test (where
    # axis 0 is the last axis); fprop, bprop and train are right with a right softmax (lent).
    "mistake_softmax_axis0": {"softmax": _replace("softmax", "axis=-1", "axis=0")},
    # dW2 from the pre-activation h^a instead of h^s: bprop's W2 (3) and the elastic-net
    # test (3, its W2 entry); train keeps its points with bprop lent.
    "mistake_w2_preactivation": {"network": _replace("network", "dW2 = G.T @ hs", "dW2 = G.T @ ha")},
    # The same mistake in the derivation only: derivation_dW2 (2) and dW2_entries (1).
    "mistake_derivation_dW2_preactivation": {"derivations": _replace(
        "derivations", '"dL_dW12 = g1*hs2"]', '"dL_dW12 = g1*ha2"]').replace(
        'dW2_entries = ("g1*hs1", "g1*hs2", "g2*hs1", "g2*hs2")',
        'dW2_entries = ("g1*ha1", "g1*ha2", "g2*ha1", "g2*ha2")')},
    # The L1 gradient written as |W| inside bprop: q5's elastic-net test (3) only.
    "mistake_l1_abs": {"network": _replace("network", "l11 * sign(W1)", "l11 * np.abs(W1)").replace(
        "l21 * sign(W2)", "l21 * np.abs(W2)")},
    # grad_l1 returns |x| and bprop calls it: q2's penalty-gradient test (2); bprop keeps its
    # points with grad_l1 lent (the note names q2).
    "mistake_grad_l1_abs": {
        "activations": _replace("activations", '''def grad_l1(x):
    """Gradient of sum(|x|) with respect to x (x without zeros)."""
    return np.sign(np.asarray(x, dtype=float))''', '''def grad_l1(x):
    """Gradient of sum(|x|) with respect to x (x without zeros)."""
    return np.abs(np.asarray(x, dtype=float))'''),
        "network": _replace("network", "l11 * sign(W1)", "l11 * grad_l1(W1)").replace(
            "l21 * sign(W2)", "l21 * grad_l1(W2)")},
    # The penalty weights of the two layers swapped (l21, l22 on W1): q5's elastic net (3).
    "mistake_penalty_swapped": {"network": _replace(
        "network", "dW1 = Ga.T @ X + l11 * sign(W1) + l12 * grad_sq_norm(W1)",
        "dW1 = Ga.T @ X + l21 * sign(W1) + l22 * grad_sq_norm(W1)").replace(
        "dW2 = G.T @ hs + l21 * sign(W2) + l22 * grad_sq_norm(W2)",
        "dW2 = G.T @ hs + l11 * sign(W2) + l12 * grad_sq_norm(W2)")},
    # bprop sums over the examples (no 1/n): every bprop test of q5 (14).
    "mistake_bprop_sum": {"network": _replace("network", "    G /= n\n", "")},
    # the hidden layer's error without the ReLU derivative (as if the activation were linear)
    "mistake_bprop_no_drelu": {"network": _replace("network", "    Ga = (G @ W2) * drelu(ha)", "    Ga = G @ W2")},
    # The update steps uphill: q7's accuracy (10) only.
    "mistake_train_ascent": {"train": _replace("train", "params[k] - lr * grads[k]", "params[k] + lr * grads[k]")},
    # A batch one row short (an off-by-one in the slice) that still learns: q7's batching (2).
    "mistake_train_batch_one_short": {"train": _replace(
        "train", "batch = perm[start:start + batch_size]", "batch = perm[start:start + batch_size - 1]")},
    # The decision map shows the least likely class: q7's plot (4).
    "mistake_plot_argmin": {"train": _replace(
        "train", "Z = fprop(params, grid).argmax(axis=1)", "Z = fprop(params, grid).argmin(axis=1)")},
    # The map over a fixed square [-1, 1]^2 that leaves part of the data outside: q7's plot (4).
    "mistake_plot_fixed_grid": {"train": _replace(
        "train", "lo, hi = X.min(axis=0) - 0.2, X.max(axis=0) + 0.2",
        "lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])")},
    # The model evaluated at (x2, x1): the map mirrored across the diagonal, the same for a
    # round boundary but not for the grader's ellipses: q7's plot (4).
    "mistake_plot_swapped_features": {"train": _replace(
        "train", "grid = np.column_stack([g0.ravel(), g1.ravel()])",
        "grid = np.column_stack([g1.ravel(), g0.ravel()])")},
    # Each epoch visits the rows in the order drawn once, before the first: q7's batching (2).
    "mistake_train_shuffle_once": {"train": _replace(
        "train", "    for _ in range(epochs):\n        perm = rng.permutation(len(y_tr))",
        "    perm = rng.permutation(len(y_tr))\n    for _ in range(epochs):")},
    # Correct: the map shows P(class 1) rather than the classes; its boundary is the model's.
    "plot_probability_map": {"train": _replace(
        "train", "Z = fprop(params, grid).argmax(axis=1).reshape(g0.shape)",
        "Z = fprop(params, grid)[:, 1].reshape(g0.shape)")},
    # One-sided differences in grad_check: q6 keeps only the flagging of wrong gradients (5).
    "mistake_gradcheck_forward": {"gradcheck": _replace(
        "gradcheck", "(f(theta + step) - f(theta - step)) / (2 * eps)", "(f(theta + step) - f(theta)) / eps")},
    # Hostile: patches NumPy and builtins in the worker and answers softmax with zeros; only
    # softmax (q3) loses points (fprop and bprop get a right softmax lent).
    "hostile_monkeypatch": {"softmax": '''
import builtins
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.isfinite = lambda *a, **k: True
builtins.isinstance = lambda obj, cls: True
builtins.abs = lambda v: 0

def softmax(A):
    return np.zeros(np.shape(A))
'''},
}


def main():
    HERE.mkdir(parents=True, exist_ok=True)
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for name, replace in VARIANTS.items():
        nb = notebook(replace)
        nbformat.validate(nb)
        nbformat.write(nb, (EXAMPLES if name in EXAMPLE_CASES else HERE) / f"{name}.ipynb")


if __name__ == "__main__":
    main()
