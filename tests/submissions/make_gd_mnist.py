"""Writes the gd_mnist test submissions as real notebooks (run once; the notebooks are
committed). Each variant is the solution with one part replaced, so a test can check that
exactly the intended question loses points and that every other question is still graded."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent / "gd_mnist"
# The example class (`mlhw demo`) lives beside the assignment; its cases' expected grades
# point there (tests/submissions/gd_mnist/<case>.expected.toml, `notebook = ...`).
EXAMPLES = Path(__file__).parents[2] / "assignments" / "gd_mnist" / "examples"
EXAMPLE_CASES = {
    "solution",
    "partial",
    "mistake_output_error_from_guess",
    "mistake_dsigma_of_activation",
    "hostile_monkeypatch",
}

IMPORTS = """%matplotlib inline
import numpy as np
import sympy as sp
import matplotlib.pyplot as plt

a, b = sp.symbols("a b", positive=True)
eta = sp.Symbol("eta", real=True)"""

GRAD = """
def grad_quadratic(w, a, b):
    w = np.asarray(w, dtype=float)
    return np.array([a * w[0], b * w[1]])


w_star = (0, 0)
"""

GD = """
def gd_quadratic(w0, a, b, eta, steps):
    path = [np.array(w0, dtype=float)]
    for _ in range(steps):
        path.append(path[-1] - eta * grad_quadratic(path[-1], a, b))
    return np.array(path)
"""

CONVERGES = """
def converges(a, b, eta):
    return bool(0 < eta < 2 / max(a, b))
"""

STEPS = """
def steps_to_tolerance(w0, a, b, eta, tol):
    if not converges(a, b, eta):
        return -1
    w = np.array(w0, dtype=float)
    t = 0
    while np.linalg.norm(w) > tol:
        w = w - eta * grad_quadratic(w, a, b)
        t += 1
    return t
"""

ANSWERS = """
rho1 = 1 - eta * a
rho2 = 1 - eta * b
derivation_rho1 = ["w1_next = w1 - eta*dL_dw1", "w1_next = w1 - eta*a*w1", "w1_next = (1 - eta*a)*w1"]
eta_max = sp.Min(2 / a, 2 / b)
derivation_eta_max = ["rho1 = -1", "1 - eta*a = -1", "eta*a = 2", "eta = 2/a"]
eta_opt = 2 / (a + b)
rate_opt = (a - b) / (a + b)
derivation_eta_opt = ["rho2 = -rho1", "1 - eta*b = eta*a - 1", "eta*(a + b) = 2", "eta = 2/(a + b)"]
derivation_rate_opt = ["rate = 1 - eta_opt*b", "rate = 1 - 2*b/(a + b)", "rate = (a - b)/(a + b)"]
"""

SIGMOID = """
def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
"""

INIT = """
def init_weights(rng):
    sizes = [784, 32, 32, 10]
    weights = [rng.normal(0.0, np.sqrt(1.0 / max(i, o)), size=(i, o)) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(o) for o in sizes[1:]]
    return weights, biases
"""

FORWARD = """
def log_softmax(z):
    z = z - np.max(z, axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def feed_forward_sample(x, label, weights, biases):
    h = x
    for W, v in zip(weights[:-1], biases[:-1]):
        h = sigmoid(h @ W + v)
    z = h @ weights[-1] + biases[-1]
    guess = np.zeros(len(z))
    guess[np.argmax(z)] = 1.0
    return float(-log_softmax(z)[label]), guess


def feed_forward_dataset(X, labels, weights, biases):
    H = X
    for W, v in zip(weights[:-1], biases[:-1]):
        H = sigmoid(H @ W + v)
    Z = H @ weights[-1] + biases[-1]
    log_p = log_softmax(Z)
    n = len(labels)
    return float(-np.mean(log_p[np.arange(n), labels])), float(np.mean(np.argmax(Z, axis=1) == labels))
"""

GRADIENTS = """
def gradients_one_sample(x, label, weights, biases):
    hs = [x]
    for W, v in zip(weights[:-1], biases[:-1]):
        hs.append(sigmoid(hs[-1] @ W + v))
    z = hs[-1] @ weights[-1] + biases[-1]
    y_hat = np.exp(log_softmax(z))
    y = np.zeros(len(z))
    y[label] = 1.0
    delta = y_hat - y
    dW, db = [None] * 3, [None] * 3
    for l in (2, 1, 0):
        dW[l] = np.outer(hs[l], delta)
        db[l] = delta
        if l > 0:
            delta = (weights[l] @ delta) * hs[l] * (1 - hs[l])
    return dW, db
"""

STEP = """
def train_one_sample(x, label, weights, biases, learning_rate=0.003):
    dW, db = gradients_one_sample(x, label, weights, biases)
    return ([W - learning_rate * g for W, g in zip(weights, dW)],
            [v - learning_rate * g for v, g in zip(biases, db)])
"""

TRAIN = """
def train_epochs(X, labels, weights, biases, epochs=3, learning_rate=0.003):
    for _ in range(epochs):
        for i in range(len(X)):
            weights, biases = train_one_sample(X[i], labels[i], weights, biases, learning_rate)
    return weights, biases
"""

EXPERIMENT = """
data = np.load("mnist_subset.npz")
X_train, y_train = data["x_train"] / 255.0, data["y_train"].astype(int)
params = train_epochs(X_train, y_train, *init_weights(np.random.default_rng(0)), 3, 0.03)
"""

PARTS = {
    "grad": GRAD,
    "gd": GD,
    "converges": CONVERGES,
    "steps": STEPS,
    "answers": ANSWERS,
    "sigmoid": SIGMOID,
    "init": INIT,
    "forward": FORWARD,
    "gradients": GRADIENTS,
    "step": STEP,
    "train": TRAIN,
}


def notebook(replace=None, extra_first=None):
    parts = dict(PARTS, **(replace or {}))
    cells = [new_markdown_cell("# Gradient descent and an MNIST MLP")]
    if extra_first:
        cells.append(new_code_cell(extra_first))
    cells.append(new_code_cell(IMPORTS))
    cells += [new_code_cell(src.strip()) for src in parts.values() if src.strip()]
    cells.append(new_code_cell(EXPERIMENT.strip(), metadata={"tags": ["experiment"]}))
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # stable ids: regenerating changes only what changed
    return new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


STUB = 'def {name}(*args, **kwargs):\n    raise NotImplementedError("{name}")\n'


def stubs(*names):
    return "\n\n".join(STUB.format(name=n) for n in names)


# The homework's own mistake: the output error taken from the network's one-hot guess instead
# of the label (its training loop calls the step with a keyword argument, as it did).
GUESS_GRADIENTS = GRADIENTS.replace(
    """    y = np.zeros(len(z))
    y[label] = 1.0
    delta = y_hat - y""",
    """    _, one_hot_guess = feed_forward_sample(x, label, weights, biases)
    delta = y_hat - one_hot_guess""",
)
KEYWORD_TRAIN = TRAIN.replace(
    "train_one_sample(X[i], labels[i], weights, biases, learning_rate)",
    "train_one_sample(X[i], labels[i], weights, biases, learning_rate=learning_rate)",
)

VARIANTS = {
    "solution": {},
    # Correct in other styles: the closed form, |rho| < 1 tests, strings for every answer and
    # other valid derivation steps; Part B in float32 with loops over the examples and the
    # layers, weights drawn as standard normals times a scale, a keyword call of the step.
    "loops_float32": {
        "gd": """
def gd_quadratic(w0, a, b, eta, steps):
    rho = np.array([1 - eta * a, 1 - eta * b])
    return np.array([rho ** t * np.asarray(w0, dtype=float) for t in range(steps + 1)])
""",
        "converges": """
def converges(a, b, eta):
    return abs(1 - eta * a) < 1 and abs(1 - eta * b) < 1
""",
        "steps": """
def steps_to_tolerance(w0, a, b, eta, tol):
    if not converges(a, b, eta):
        return -1
    t = 0
    while True:
        w_t = np.array([(1 - eta * a) ** t * w0[0], (1 - eta * b) ** t * w0[1]])
        if np.sqrt(w_t[0] ** 2 + w_t[1] ** 2) <= tol:
            return t
        t += 1
""",
        "answers": """
w_star = ("0", "0")
rho1 = "1 - a*eta"
rho2 = "-eta*b + 1"
derivation_rho1 = ["w1_next = w1 - eta*dL_dw1", "w1_next - w1 = -eta*a*w1", "w1_next = w1*(1 - a*eta)"]
eta_max = "2/Max(a, b)"
derivation_eta_max = ["rho1 = -1", "1 - a*eta + 1 = 0", "2 - a*eta = 0", "eta = 2/a"]
eta_opt = "2/(b + a)"
rate_opt = "1 - 2*b/(a + b)"
derivation_eta_opt = ["rho2 = -rho1", "1 - eta*b + 1 - eta*a = 0", "2 = eta*a + eta*b", "eta = 2/(a + b)"]
derivation_rate_opt = ["rate = 1 - eta_opt*b", "rate = (a + b)/(a + b) - 2*b/(a + b)", "rate = (a - b)/(a + b)"]
""",
        "init": """
import math

def init_weights(rng):
    sizes = (784, 32, 32, 10)
    weights, biases = [], []
    for i in range(3):
        n_in, n_out = sizes[i], sizes[i + 1]
        weights.append(rng.standard_normal((n_in, n_out)) / math.sqrt(max(n_in, n_out)))
        biases.append(np.zeros(n_out))
    return weights, biases
""",
        "forward": """
def feed_forward_sample(x, label, weights, biases):
    h = np.asarray(x, dtype=np.float32)
    for W, v in zip(weights[:-1], biases[:-1]):
        h = sigmoid(h @ W.astype(np.float32) + v.astype(np.float32))
    z = h @ weights[-1].astype(np.float32) + biases[-1].astype(np.float32)
    top = max(z)
    log_sum = top + math.log(sum(math.exp(float(zc) - top) for zc in z))
    guess = np.zeros(10, dtype=np.float32)
    guess[int(np.argmax(z))] = 1
    return log_sum - float(z[label]), guess


def feed_forward_dataset(X, labels, weights, biases):
    total, right = 0.0, 0
    for i in range(len(X)):
        loss, guess = feed_forward_sample(X[i], labels[i], weights, biases)
        total += loss
        right += int(np.argmax(guess) == labels[i])
    return total / len(X), right / len(X)
""",
        "gradients": """
def gradients_one_sample(x, label, weights, biases):
    Ws = [W.astype(np.float32) for W in weights]
    vs = [v.astype(np.float32) for v in biases]
    hs = [np.asarray(x, dtype=np.float32)]
    for l in range(2):
        hs.append(sigmoid(hs[l] @ Ws[l] + vs[l]))
    z = hs[2] @ Ws[2] + vs[2]
    p = np.exp(z - z.max())
    p = p / p.sum()
    delta = p.copy()
    delta[label] -= 1
    dW, db = [], []
    for l in range(2, -1, -1):
        dW.insert(0, np.outer(hs[l], delta))
        db.insert(0, delta.copy())
        if l > 0:
            delta = (Ws[l] @ delta) * hs[l] * (1 - hs[l])
    return dW, db
""",
        "step": """
def train_one_sample(x, label, weights, biases, learning_rate=0.003):
    dW, db = gradients_one_sample(x, label, weights, biases)
    new_weights = [weights[l] - learning_rate * dW[l] for l in range(3)]
    new_biases = [biases[l] - learning_rate * db[l] for l in range(3)]
    return new_weights, new_biases
""",
        "train": KEYWORD_TRAIN,
    },
    "partial": {
        "steps": stubs("steps_to_tolerance"),
        "answers": """
rho1 = 1 - eta * a
rho2 = 1 - eta * b
derivation_rho1 = ...
eta_max = sp.Min(2 / a, 2 / b)
derivation_eta_max = ...
eta_opt = ...
rate_opt = ...
derivation_eta_opt = ...
derivation_rate_opt = ...
""",
        "gradients": stubs("gradients_one_sample"),
        "step": stubs("train_one_sample"),
        "train": stubs("train_epochs"),
    },
    # The homework's own mistake (see above): q7 only; q8 is graded again with the
    # reference's step lent, through the keyword call.
    "mistake_output_error_from_guess": {"gradients": GUESS_GRADIENTS, "train": KEYWORD_TRAIN},
    # The same mistake written inline in train_epochs, whose helpers are right: the loop
    # itself is wrong, so q8 loses its points and q7 keeps its own.
    "mistake_output_error_from_guess_inline": {
        "train": """
def train_epochs(X, labels, weights, biases, epochs=3, learning_rate=0.003):
    for _ in range(epochs):
        for x, label in zip(X, labels):
            hs = [x]
            for W, v in zip(weights[:-1], biases[:-1]):
                hs.append(sigmoid(hs[-1] @ W + v))
            y_hat = np.exp(log_softmax(hs[-1] @ weights[-1] + biases[-1]))
            _, guess = feed_forward_sample(x, label, weights, biases)
            delta = y_hat - guess
            new_w, new_b = list(weights), list(biases)
            for l in (2, 1, 0):
                new_w[l] = weights[l] - learning_rate * np.outer(hs[l], delta)
                new_b[l] = biases[l] - learning_rate * delta
                if l > 0:
                    delta = (weights[l] @ delta) * hs[l] * (1 - hs[l])
            weights, biases = new_w, new_b
    return weights, biases
"""
    },
    "mistake_softmax_times_label": {
        "gradients": GRADIENTS.replace("delta = y_hat - y", "delta = y_hat * y")
    },
    "mistake_dsigma_of_activation": {
        "gradients": GRADIENTS.replace(
            "delta = (weights[l] @ delta) * hs[l] * (1 - hs[l])",
            "delta = (weights[l] @ delta) * sigmoid(hs[l]) * (1 - sigmoid(hs[l]))",
        )
    },
    "mistake_step_uphill": {
        "step": STEP.replace("W - learning_rate * g", "W + learning_rate * g").replace(
            "v - learning_rate * g", "v + learning_rate * g"
        )
    },
    "mistake_init_std_as_variance": {
        "init": INIT.replace("np.sqrt(1.0 / max(i, o))", "1.0 / max(i, o)")
    },
    "mistake_softmax_unstable": {
        "forward": FORWARD.replace("    z = z - np.max(z, axis=-1, keepdims=True)\n", "")
    },
    "mistake_grad_swapped": {"grad": GRAD.replace("[a * w[0], b * w[1]]", "[b * w[0], a * w[1]]")},
    # train_epochs drops its learning_rate: every step at the step's default 0.003, 53-58%
    # on the grader's 5,000 images: q8 only (the step itself is right)
    "mistake_train_ignores_rate": {"train": TRAIN.replace(
        "train_one_sample(X[i], labels[i], weights, biases, learning_rate)",
        "train_one_sample(X[i], labels[i], weights, biases)")},
    "mistake_gd_uphill": {"gd": GD.replace("path[-1] - eta", "path[-1] + eta")},
    "mistake_converges_2_over_min": {"converges": CONVERGES.replace("max(a, b)", "min(a, b)")},
    "mistake_eta_max_one_coordinate": {"answers": ANSWERS.replace("sp.Min(2 / a, 2 / b)", "2 / a")},
    "mistake_derivation_rho1_uphill": {
        "answers": ANSWERS.replace("rho1 = 1 - eta * a", "rho1 = 1 + eta * a").replace(
            '"w1_next = w1 - eta*a*w1", "w1_next = (1 - eta*a)*w1"]',
            '"w1_next = w1 + eta*a*w1", "w1_next = (1 + eta*a)*w1"]',
        )
    },
    "mistake_rate_opt_sign": {
        "answers": ANSWERS.replace("rate_opt = (a - b) / (a + b)", "rate_opt = (b - a) / (a + b)")
    },
    # train_epochs written over stubs of the step and the gradient: q7 is not attempted,
    # train_epochs is graded with the reference's step lent.
    "partial_train_over_stub_step": {
        "gradients": stubs("gradients_one_sample"),
        "step": stubs("train_one_sample"),
    },
    # Hostile: numpy patched in the worker, feed_forward_dataset claims a perfect score and
    # train_epochs returns its start: q6's data set tests and q8 lose their points, nothing else.
    "hostile_monkeypatch": {
        "forward": FORWARD.split("def feed_forward_dataset")[0]
        + """
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None


def feed_forward_dataset(X, labels, weights, biases):
    return 0.0, 1.0
""",
        "train": """
def train_epochs(X, labels, weights, biases, epochs=3, learning_rate=0.003):
    return weights, biases
""",
    },
    "hostile_infinite_loop": {
        "converges": """
import signal

def converges(a, b, eta):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
"""
    },
    "hostile_exit_at_import": {},
}

EXTRA_FIRST = {"hostile_exit_at_import": "import sys\nsys.exit(0)"}


def main():
    HERE.mkdir(parents=True, exist_ok=True)
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for name, replace in VARIANTS.items():
        nb = notebook(replace, EXTRA_FIRST.get(name))
        nbformat.validate(nb)
        nbformat.write(nb, (EXAMPLES if name in EXAMPLE_CASES else HERE) / f"{name}.ipynb")


if __name__ == "__main__":
    main()
