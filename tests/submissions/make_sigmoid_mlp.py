"""Writes the sigmoid_mlp test submissions as real notebooks (run once; the notebooks are
committed). Each variant is the solution with one part replaced, so a test can check that
exactly the intended question loses points and that every other question is still graded."""

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent / "sigmoid_mlp"
EXAMPLES = Path(__file__).parents[2] / "assignments" / "sigmoid_mlp" / "examples"
# The example class `mlhw demo` grades: written there, not duplicated here.
EXAMPLE_CASES = {"solution", "partial", "hostile_monkeypatch", "mistake_he_sqrt", "mistake_missing_dsigmoid"}

IMPORTS = ("%matplotlib inline\nimport numpy as np\nimport sympy as sp\nimport matplotlib.pyplot as plt\n\n"
           'n = sp.Symbol("n", positive=True)\neps = sp.Symbol("eps", positive=True)\n'
           's, Var_a, Var_z = sp.symbols("s Var_a Var_z", positive=True)\n'
           'E_z2, E_w2, E_h2 = sp.symbols("E_z2 E_w2 E_h2", positive=True)\n'
           'E_z, E_w, E_h, E_hh = sp.symbols("E_z E_w E_h E_hh", real=True)')

FORWARD = '''
def sigmoid(a):
    e = np.exp(-np.abs(a))  # never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def n_hidden(params):
    return sum(1 for k in params if k.startswith("W"))


def logits(params, X):
    d = n_hidden(params)
    h = np.asarray(X, dtype=float)
    for l in range(1, d + 1):
        h = sigmoid(h @ params[f"W{l}"] + params[f"b{l}"])
    return h @ params[f"w{d + 1}"] + params[f"b{d + 1}"]


def forward(params, X):
    return sigmoid(logits(params, X))


def loss(params, X, y):
    z = logits(params, X)
    # log f = -log(1 + e^-z), log(1 - f) = -log(1 + e^z), both stable with logaddexp
    return float(np.sum(y * np.logaddexp(0.0, -z) + (1 - y) * np.logaddexp(0.0, z)))
'''

BACKWARD = '''
def backward(params, X, y):
    d = n_hidden(params)
    X = np.asarray(X, dtype=float)
    hs = [X]
    for l in range(1, d + 1):
        hs.append(sigmoid(hs[-1] @ params[f"W{l}"] + params[f"b{l}"]))
    f = sigmoid(hs[-1] @ params[f"w{d + 1}"] + params[f"b{d + 1}"])
    delta = f - y
    grads = {f"w{d + 1}": hs[-1].T @ delta, f"b{d + 1}": float(np.sum(delta))}
    back = np.outer(delta, params[f"w{d + 1}"])
    for l in range(d, 0, -1):
        delta = back * hs[l] * (1 - hs[l])
        grads[f"W{l}"] = hs[l - 1].T @ delta
        grads[f"b{l}"] = delta.sum(axis=0)
        back = delta @ params[f"W{l}"].T
    return grads
'''

INIT = '''
def he_std(n_in):
    return float(np.sqrt(2.0 / n_in))


derivation_var_z = [
    "Var_z = E_z2 - E_z**2",
    "Var_z = n*E_w2*E_h2 + n*(n - 1)*E_w**2*E_hh - (n*E_w*E_h)**2",  # z = sum_j w_j h_j, independence
    "Var_z = n*s**2*E_h2",  # E_w = 0, E_w2 = s**2
]
relu_second_moment = Var_a / 2
derivation_sigma_sq = ["Var_z = Var_a", "n*s**2*E_h2 = Var_a", "n*s**2*Var_a/2 = Var_a", "s**2 = 2/n"]
sigma_sq = 2 / n


def init_params(sizes, rng, scheme="he"):
    d = len(sizes) - 2
    params = {}
    for l in range(1, d + 2):
        std = he_std(sizes[l - 1]) if scheme == "he" else 1.0
        if l <= d:
            params[f"W{l}"] = rng.normal(0.0, std, size=(sizes[l - 1], sizes[l]))
            params[f"b{l}"] = np.zeros(sizes[l])
        else:
            params[f"w{l}"] = rng.normal(0.0, std, size=sizes[l - 1])
            params[f"b{l}"] = 0.0
    return params
'''

TRAIN = '''
def train(X, y, sizes, lr, batch_size, epochs, rng):
    params = init_params(sizes, rng)
    n = len(X)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            grads = backward(params, X[batch], y[batch])
            params = {k: params[k] - lr * grads[k] / len(batch) for k in params}
    return params
'''

VANISHING = '''
def grad_w1_norm(params, X, y):
    return float(np.linalg.norm(backward(params, X, y)["W1"]))


def plot_grad_norms(depths, norms):
    fig, ax = plt.subplots()
    ax.plot(depths, norms, marker="o")
    ax.set_yscale("log")
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("||dL/dW1||")
    return fig


max_dsigmoid = sp.Rational(1, 4)
contraction = (4 - eps) / 4
'''

CHOICES = '''
mc_same_sign_single = "yes"
mc_same_sign_batch = "no"
mc_tanh_vanishes = "yes"
mc_relu_vanishes = "no"
'''

EXPERIMENT = '''
rng = np.random.default_rng(0)
X = rng.uniform(size=(100, 784))
y = (rng.uniform(size=100) < 0.5).astype(float)
depths = list(range(1, 11))
norms = [np.mean([grad_w1_norm(init_params([784] + [20] * d + [1], rng, "normal"), X, y)
                  for _ in range(5)]) for d in depths]
plot_grad_norms(depths, norms)
'''

WRITTEN = ("If sigma is too small the signal and the gradients shrink at every layer; too large and the "
           "sigmoid units saturate, so sigma' is about 0. Remedies: He/Xavier initialisation, ReLU "
           "activations, batch normalisation, residual connections.")

PARTS = {"forward": FORWARD, "backward": BACKWARD, "init": INIT, "train": TRAIN,
         "vanishing": VANISHING, "choices": CHOICES}


def notebook(replace=None, extra_first=None, written=True):
    parts = dict(PARTS, **(replace or {}))
    cells = [new_markdown_cell("# Sigmoid MLP homework")]
    if extra_first:
        cells.append(new_code_cell(extra_first))
    cells.append(new_code_cell(IMPORTS))
    cells += [new_code_cell(src.strip()) for src in parts.values() if src.strip()]
    cells.append(new_code_cell(EXPERIMENT.strip(), metadata={"tags": ["experiment"]}))
    if written:
        cells.append(new_markdown_cell(WRITTEN, metadata={"mlhw": {"written": "q8"}}))
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # stable ids: regenerating changes only what changed
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


STUB = 'def {name}(*args, **kwargs):\n    raise NotImplementedError("{name}")\n'

VARIANTS = {
    "solution": {},
    # Correct in another style: loops over layers and examples, a float32 forward pass, the
    # loss as log1p(exp(-|z|)) + max(-z, 0), answers as strings.
    "loops_float32": {"forward": '''
import math

def sigmoid(a):
    a = np.asarray(a, dtype=float)
    out = np.empty_like(a)
    pos = a >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-a[pos]))
    out[~pos] = np.exp(a[~pos]) / (1.0 + np.exp(a[~pos]))
    return out


def n_hidden(params):
    return len([k for k in params if k[0] == "W"])


def layers(params, X):
    hs = [np.asarray(X, dtype=float)]
    for l in range(1, n_hidden(params) + 1):
        W, b = params["W%d" % l], params["b%d" % l]
        hs.append(sigmoid(np.array([[hs[-1][i] @ W[:, j] + b[j] for j in range(W.shape[1])]
                                    for i in range(len(hs[-1]))]).reshape(len(hs[-1]), W.shape[1])))
    return hs


def output_logit(params, h):
    d = n_hidden(params)
    return h @ params["w%d" % (d + 1)] + params["b%d" % (d + 1)]


def forward(params, X):
    return sigmoid(output_logit(params, layers(params, X)[-1])).astype(np.float32)


def loss(params, X, y):
    z = output_logit(params, layers(params, X)[-1])
    s = 2 * np.asarray(y, dtype=float) - 1  # +1 / -1 labels: L = sum log(1 + exp(-s z))
    m = -s * z
    return float(sum(math.log1p(math.exp(-abs(v))) + max(v, 0.0) for v in m))
''', "backward": '''
def backward(params, X, y):
    d = n_hidden(params)
    grads = {k: np.zeros_like(np.asarray(v, dtype=float)) for k, v in params.items()}
    grads["b%d" % (d + 1)] = 0.0
    for i in range(len(X)):
        hs = [np.asarray(X[i], dtype=float)]
        for l in range(1, d + 1):
            hs.append(sigmoid(hs[-1] @ params["W%d" % l] + params["b%d" % l]))
        f = sigmoid(np.array([hs[-1] @ params["w%d" % (d + 1)] + params["b%d" % (d + 1)]]))[0]
        e = f - y[i]
        grads["w%d" % (d + 1)] += e * hs[-1]
        grads["b%d" % (d + 1)] += e
        back = e * np.asarray(params["w%d" % (d + 1)])
        for l in range(d, 0, -1):
            delta = back * hs[l] * (1 - hs[l])
            grads["W%d" % l] += np.outer(hs[l - 1], delta)
            grads["b%d" % l] += delta
            back = params["W%d" % l] @ delta
    return grads
''', "vanishing": VANISHING.replace("max_dsigmoid = sp.Rational(1, 4)", 'max_dsigmoid = "0.25"')
                              .replace("contraction = (4 - eps) / 4", 'contraction = "1 - eps/4"'),
        "init": INIT.replace("sigma_sq = 2 / n", 'sigma_sq = "4/(2*n)"')},
    "partial": {"backward": STUB.format(name="backward"), "train": STUB.format(name="train"),
                "vanishing": STUB.format(name="grad_w1_norm") + "\n" + STUB.format(name="plot_grad_norms")
                + "\nmax_dsigmoid = ...\ncontraction = ...\n",
                "choices": 'mc_same_sign_single = "yes"\nmc_same_sign_batch = ...\nmc_tanh_vanishes = ...\n'
                           'mc_relu_vanishes = ...\n'},
    # realistic mistakes, one per notebook
    "mistake_mean_not_sum": {"backward": BACKWARD.replace("delta = f - y\n", "delta = (f - y) / len(y)\n")},
    "mistake_missing_dsigmoid": {"backward": BACKWARD.replace("back * hs[l] * (1 - hs[l])", "back")},
    "mistake_transposed_weight_grad": {"backward": BACKWARD.replace("hs[l - 1].T @ delta", "delta.T @ hs[l - 1]")},
    "mistake_w1_from_h1": {"backward": BACKWARD.replace("grads[f\"W{l}\"] = hs[l - 1].T @ delta",
                                                        "grads[f\"W{l}\"] = hs[max(l - 1, 1)].T @ delta")},
    "mistake_he_sqrt": {"init": INIT.replace("sigma_sq = 2 / n", "sigma_sq = sp.sqrt(2 / n)")},
    # a training-loop mistake: the grader's reference `backward` cannot rescue it
    "mistake_train_ascent": {"train": TRAIN.replace("params[k] - lr", "params[k] + lr")},
    # training-loop slips that still learn 0 vs 1 (mutants that once survived q4's accuracy
    # tests): the exact-steps test catches them
    "mistake_train_skips_first_row": {"train": TRAIN.replace("range(0, n, batch_size)",
                                                             "range(1, n, batch_size)")},
    "mistake_train_batch_one_short": {"train": TRAIN.replace("order[start:start + batch_size]",
                                                             "order[start:start + batch_size - 1]")},
    "mistake_train_half_step": {"train": TRAIN.replace("/ len(batch)", "/ (2 * len(batch))")},
    # the hidden layers' bias gradients averaged over the examples, the rest summed (q2 only)
    "mistake_bias_grad_mean": {"backward": BACKWARD.replace('grads[f"b{l}"] = delta.sum(axis=0)',
                                                            'grads[f"b{l}"] = delta.mean(axis=0)')},
    # rows shuffled for X but the labels taken in order: the batches pair X and y wrongly (q4)
    "mistake_train_labels_unshuffled": {"train": TRAIN.replace("backward(params, X[batch], y[batch])",
                                                               "backward(params, X[batch], y[start:start + batch_size])")},
    # biases started at 0.01 instead of 0 (q3's init_params; train still learns)
    "mistake_init_bias_small": {"init": INIT.replace("np.zeros(sizes[l])", "np.full(sizes[l], 0.01)")},
    # backward by central finite differences of loss (no backprop): right values, loses q2;
    # train is graded with the reference's backward (a training with this one takes hours)
    "mistake_finite_differences": {"backward": '''
def backward(params, X, y):
    step = 1e-5
    grads = {}
    for key, value in params.items():
        value = np.asarray(value, dtype=float)
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[index] += step
            down[index] -= step
            grad[index] = (loss({**params, key: up}, X, y) - loss({**params, key: down}, X, y)) / (2 * step)
        grads[key] = grad if value.ndim else float(grad)
    return grads
'''},
    # correct sigmoids that make NumPy warn about an overflow in exp: the results are exact
    "sigmoid_naive_exp": {"forward": FORWARD.replace('''    e = np.exp(-np.abs(a))  # never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))''', '''    return 1.0 / (1.0 + np.exp(-a))  # exp overflows to inf for a < -709: 1/inf = 0, exact''')},
    "sigmoid_where_warns": {"forward": FORWARD.replace('''    e = np.exp(-np.abs(a))  # never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))''', '''    return np.where(a >= 0, 1.0 / (1.0 + np.exp(-a)), np.exp(a) / (1.0 + np.exp(a)))''')},
    # exp(a)/(1 + exp(a)) is inf/inf = NaN for a > 709
    "mistake_sigmoid_nan": {"forward": FORWARD.replace('''    e = np.exp(-np.abs(a))  # never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))''', '''    return np.exp(a) / (1.0 + np.exp(a))''')},
    # the loss as the log of f: -inf when f rounds to 0 or 1
    "mistake_loss_log_of_f": {"forward": FORWARD.replace(
        "    return float(np.sum(y * np.logaddexp(0.0, -z) + (1 - y) * np.logaddexp(0.0, z)))",
        "    f = sigmoid(z)\n    return float(-np.sum(y * np.log(f) + (1 - y) * np.log(1 - f)))")},
    # draws from NumPy's global generator, not from rng: not reproducible
    "mistake_np_random_init": {"init": INIT.replace("rng.normal(0.0, std,", "np.random.normal(0.0, std,")},
    # He's variance from the fan-out, 2/n_out: right for the square ReLU stacks, wrong for
    # any other layer (the output unit: n_out = 1)
    "mistake_he_fan_out": {"init": INIT.replace("std = he_std(sizes[l - 1]) if", "std = he_std(sizes[l]) if")},
    # LeCun's 1/n_in variance on the output unit only
    # Glorot's 2 / (n_in + n_out) instead of He's 2 / n_in: half He's variance on the square
    # ReLU stacks, so Var(z) halves at every layer
    "mistake_he_glorot": {"init": INIT.replace("std = he_std(sizes[l - 1]) if",
                                               "std = np.sqrt(2 / (sizes[l - 1] + sizes[l])) if")},
    "mistake_lecun_output": {"init": INIT.replace(
        "            params[f\"w{l}\"] = rng.normal(0.0, std, size=sizes[l - 1])",
        "            params[f\"w{l}\"] = rng.normal(0.0, np.sqrt(1.0 / sizes[l - 1]) if scheme == \"he\" else 1.0, "
        "size=sizes[l - 1])")},
    # Var(h) where the derivation needs E[h^2]; and E[h^2] without the half
    "mistake_derivation_var_h": {"init": INIT.replace(
        '"Var_z = n*s**2*E_h2",  # E_w = 0, E_w2 = s**2', '"Var_z = n*s**2*(E_h2 - E_h**2)",  # Var(h)')},
    "mistake_relu_moment_no_half": {"init": INIT.replace("relu_second_moment = Var_a / 2",
                                                          "relu_second_moment = Var_a")},
    # guessing: every multiple-choice answer "yes"
    # max_dsigmoid as sigma(0) = 1/2, a sympy value (sent as its text): q6's first 5 points
    "mistake_max_dsigmoid_sigma0": {"vanishing": VANISHING.replace(
        "max_dsigmoid = sp.Rational(1, 4)", "max_dsigmoid = sp.Rational(1, 2)")},
    "mistake_choices_all_yes": {"choices": CHOICES.replace('"no"', '"yes"')},
    # a correct train over a backward that is still the stub: q4 is graded with the reference's
    "train_over_stub_backward": {"backward": STUB.format(name="backward")},
    # grad_w1_norm with its own backprop (not calling backward), divided by n: loses q5 only
    # ||dL/dW1||^2: the Frobenius norm without its square root
    "mistake_grad_norm_squared": {"vanishing": VANISHING.replace(
        'return float(np.linalg.norm(backward(params, X, y)["W1"]))',
        'return float(np.sum(backward(params, X, y)["W1"] ** 2))')},
    "mistake_grad_norm_own_mean": {"vanishing": VANISHING.replace(
        '    return float(np.linalg.norm(backward(params, X, y)["W1"]))',
        '    d = n_hidden(params)\n    hs = [np.asarray(X, dtype=float)]\n'
        '    for l in range(1, d + 1):\n        hs.append(sigmoid(hs[-1] @ params[f"W{l}"] + params[f"b{l}"]))\n'
        '    delta = (sigmoid(hs[-1] @ params[f"w{d + 1}"] + params[f"b{d + 1}"]) - y) / len(y)\n'
        '    back = np.outer(delta, params[f"w{d + 1}"])\n'
        '    for l in range(d, 0, -1):\n        delta = back * hs[l] * (1 - hs[l])\n'
        '        back = delta @ params[f"W{l}"].T\n'
        '    return float(np.linalg.norm(X.T @ delta))')},
    # hostile: each replaces one part and keeps the rest correct
    "hostile_monkeypatch": {"backward": '''
import builtins
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None

def backward(params, X, y):
    # zero gradients and a loss that agrees with them: finite differences of a constant
    # loss are zero too, so only the reference comparison can catch this
    global loss
    loss = lambda params, X, y: 0.0
    return {k: np.zeros_like(np.asarray(v, dtype=float)) for k, v in params.items()}
'''},
    # keeps the reference `backward` the grader lends to `train` for question 4, hoping to
    # answer question 5 with it later (a lent function only works during the call it came with)
    "hostile_keep_reference": {
        "backward": BACKWARD.replace("delta = f - y\n", "delta = (f - y) / len(y)\n"),
        # the notebook's own backward is kept in a list: a list item is no alias the grader rebinds
        "train": TRAIN.replace("    params = init_params(sizes, rng)\n",
                               "    if backward is not _own[0]:\n"
                               "        _kept.append(backward)\n    params = init_params(sizes, rng)\n")
                 + "\n_own = [backward]\n_kept = []\n",
        "vanishing": VANISHING.replace('return float(np.linalg.norm(backward(params, X, y)["W1"]))',
                                       'return float(np.linalg.norm((_kept[-1] if _kept else backward)'
                                       '(params, X, y)["W1"]))'),
    },
    # hostile: scribbles over the memory it shares with the grader (both halves) and tries to
    # resize it, in every call of init_params; its answers are right: full marks, no error
    "hostile_shared_area": {"init": INIT.replace("    return params\n", """    _scribble()
    return params


def _scribble():
    import ctypes, os
    for line in open("/proc/self/maps"):
        if "mlhw-frames" in line:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            half = (end - start) // 2
            for at in (start, start + half - (1 << 20), start + half, end - (1 << 20)):
                ctypes.memset(at, 0x5A, 1 << 20)
    for fd in os.listdir("/proc/self/fd"):
        try:
            if "mlhw-frames" in os.readlink(f"/proc/self/fd/{fd}"):
                os.ftruncate(int(fd), 4096)
        except OSError:
            pass
""")},
    "hostile_infinite_loop": {"forward": FORWARD + '''

import signal

def forward(params, X):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
'''},
}


def main(names: list[str]) -> None:
    """Write the named notebooks (all without names); the example class goes to
    assignments/sigmoid_mlp/examples/."""
    HERE.mkdir(parents=True, exist_ok=True)
    for name, replace in VARIANTS.items():
        if names and name not in names:
            continue
        nb = notebook(replace)
        nbformat.validate(nb)
        nbformat.write(nb, (EXAMPLES if name in EXAMPLE_CASES else HERE) / f"{name}.ipynb")


if __name__ == "__main__":
    main(sys.argv[1:])
