"""Writes the deep_chain test submissions as real notebooks (run once; the notebooks are
committed). Each variant is the solution with one part replaced, so a test can check that
exactly the intended question loses points and that every other question is still graded."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent / "deep_chain"
# The example class (`mlhw demo`) lives beside the assignment; its cases' expected grades
# point there (tests/submissions/deep_chain/<case>.expected.toml, `notebook = ...`).
EXAMPLES = Path(__file__).parents[2] / "assignments" / "deep_chain" / "examples"
EXAMPLE_CASES = {"solution", "loops_float32", "partial", "mistake_forgot_1_over_m",
                 "mistake_off_by_one", "hostile_monkeypatch", "hostile_fake_results"}

IMPORTS = "%matplotlib inline\nimport numpy as np\nimport sympy as sp\nfrom matplotlib.figure import Figure"

FORWARD = '''
def chain_forward(x, w, b=None):
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    l, m = w.shape[0], x.shape[0]
    u = np.zeros((l, m))
    h = np.zeros((l + 1, m))
    h[0] = x
    for k in range(l):
        u[k] = h[k] * w[k] + (0.0 if b is None else b[k])
        h[k + 1] = np.tanh(u[k])
    return u, h
'''

BACKWARD = '''
def chain_backward(u, h, y, w):
    l, m = u.shape
    dt = 1.0 - np.tanh(u) ** 2
    g = np.zeros((l, m))
    g[-1] = dt[-1] * (h[-1] - y) / m
    for k in range(l - 1, 0, -1):
        g[k - 1] = dt[k - 1] * g[k] * w[k]
    return g
'''

GRADIENTS = '''
def chain_gradients(h, g):
    dw = np.sum(h[:-1] * g, axis=1)
    db = np.sum(g, axis=1)
    return dw, db
'''

TRAIN = '''
def chain_cost(x, y, w, b=None):
    u, h = chain_forward(x, w, b)
    return float(np.sum((y - h[-1]) ** 2) / (2 * len(x)))


def train_chain(x, y, w0, b0=None, alpha=0.1, max_iter=1000):
    w = np.array(w0, dtype=float)
    b = None if b0 is None else np.array(b0, dtype=float)
    costs = [chain_cost(x, y, w, b)]
    for _ in range(max_iter):
        u, h = chain_forward(x, w, b)
        dw, db = chain_gradients(h, chain_backward(u, h, y, w))
        w = w - alpha * dw
        if b is not None:
            b = b - alpha * db
        costs.append(chain_cost(x, y, w, b))
    return w, b, np.array(costs)
'''

TRACE = '''
def first_iteration_trace(x, y, w0):
    u, h = chain_forward(x, w0)
    return h, chain_backward(u, h, y, w0)


shrink_factor = 5 * sp.sech(5) ** 2
'''

TWO_LAYER = '''
def two_layer_grads(X, W1, b, W2, Y, phi, dphi):
    m = X.shape[0]
    U1 = X @ W1 + b
    G2 = -Y.T / m
    G1 = dphi(U1) * (G2 @ W2.T)
    return G2, G1, X.T @ G1, G1.sum(axis=0)
'''

PLOTS = '''
def plot_costs(costs_by_init):
    fig = Figure()
    ax = fig.add_subplot()
    for name, costs in costs_by_init.items():
        ax.plot(np.arange(len(costs)), costs, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.legend()
    return fig


def plot_trace(h, g):
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot(np.abs(h).max(axis=1), label="|h|")
    ax.plot(np.arange(1, len(g) + 1), np.abs(g).max(axis=1), label="|g|")
    ax.set_yscale("log")
    return fig
'''

DERIVATIONS = '''
dJ_dh = "(h - y)/m"
dh_du = "1 - tanh(u)**2"
derivation_g_l = ["g = dJ_dh*dh_du", "g = (h - y)/m*dh_du", "g = (h - y)*(1 - h**2)/m"]

trace_U2Y = "U11*Y11 + U12*Y21 + U21*Y12 + U22*Y22"
derivation_G2 = [
    "J = -trace_U2Y/m",
    "J = -(U11*Y11 + U12*Y21 + U21*Y12 + U22*Y22)/m",
    "J = U11*(-Y11/m) + U12*(-Y21/m) + U21*(-Y12/m) + U22*(-Y22/m)",
]
G2_entries = ("-Y11/m", "-Y21/m", "-Y12/m", "-Y22/m")
'''

EXPERIMENT = '''
x = np.array([-0.5, 0.5])
runs = {w: train_chain(x, x, np.full(100, w))[2] for w in (1.0, 5.0, 0.9)}
plot_costs(runs)
'''

WRITTEN = ("At w = 5 every unit is saturated, so tanh' is about 1.8e-4 and the signal g shrinks "
           "by 5 sech^2(5) per layer; at w = 0.9 the forward signal itself dies out.")

PARTS = {"forward": FORWARD, "backward": BACKWARD, "gradients": GRADIENTS, "train": TRAIN,
         "trace": TRACE, "two_layer": TWO_LAYER, "plots": PLOTS, "derivations": DERIVATIONS}


def notebook(replace=None, extra_first=None, written=True):
    parts = dict(PARTS, **(replace or {}))
    cells = [new_markdown_cell("# Deep chain homework")]
    if extra_first:
        cells.append(new_code_cell(extra_first))
    cells.append(new_code_cell(IMPORTS))
    cells += [new_code_cell(src.strip()) for src in parts.values()]
    cells.append(new_code_cell(EXPERIMENT.strip(), metadata={"tags": ["experiment"]}))
    if written:
        cells.append(new_markdown_cell(WRITTEN, metadata={"mlhw": {"written": "q7"}}))
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # stable ids: regenerating changes only what changed
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


STUB = 'def {name}(*args, **kwargs):\n    raise NotImplementedError("{name}")\n'

VARIANTS = {
    "solution": {},
    # Correct in another style: pure Python loops over layers and examples, math.tanh,
    # float32 storage for the forward pass, and the shrink factor as a string.
    "loops_float32": {"forward": '''
import math

def chain_forward(x, w, b=None):
    l, m = len(w), len(x)
    h = [[float(v) for v in x]]
    u = []
    for k in range(l):
        bias = 0.0 if b is None else float(b[k])
        u.append([h[k][i] * float(w[k]) + bias for i in range(m)])
        h.append([math.tanh(v) for v in u[k]])
    return np.array(u), np.array(h)
''', "backward": '''
def chain_backward(u, h, y, w):
    l, m = len(u), len(u[0])
    g = [[0.0] * m for _ in range(l)]
    for i in range(m):
        g[l - 1][i] = (1 - math.tanh(u[l - 1][i]) ** 2) * (h[l][i] - y[i]) / m
    for k in range(l - 1, 0, -1):
        for i in range(m):
            g[k - 1][i] = (1 / math.cosh(u[k - 1][i]) ** 2) * g[k][i] * w[k]
    return np.array(g)
''', "gradients": '''
def chain_gradients(h, g):
    l = len(g)
    dw = np.array([np.dot(h[k], g[k]) for k in range(l)])
    db = np.array([sum(g[k]) for k in range(l)])
    return dw, db
''', "trace": TRACE.replace("shrink_factor = 5 * sp.sech(5) ** 2", 'shrink_factor = "20/(exp(5) + exp(-5))**2"')},
    "partial": {"backward": STUB.format(name="chain_backward"), "train": STUB.format(name="train_chain"),
                "trace": STUB.format(name="first_iteration_trace") + "\nshrink_factor = ...\n",
                "two_layer": STUB.format(name="two_layer_grads"), "plots": "",
                "derivations": "\n".join(f"{name} = ..." for name in (
                    "dJ_dh", "dh_du", "derivation_g_l", "trace_U2Y", "derivation_G2", "G2_entries"))},
    "mistake_forgot_1_over_m": {"backward": BACKWARD.replace(" / m\n", "\n")},
    # the output error as (y - h_l) instead of (h_l - y): every g has the wrong sign
    "mistake_backward_sign": {"backward": BACKWARD.replace("(h[-1] - y) / m", "(y - h[-1]) / m")},
    "mistake_dtanh_of_u": {"backward": BACKWARD.replace("np.tanh(u) ** 2", "u ** 2")},
    "mistake_off_by_one": {"backward": BACKWARD.replace("g[k] * w[k]", "g[k] * w[k - 1]")},
    # the gradient averaged twice in the update (dw already carries 1/m): q4 only, and its
    # published runs must catch it (m = 2 there) whether or not their reference is remembered
    "mistake_train_double_mean": {"train": TRAIN.replace("w = w - alpha * dw", "w = w - alpha * dw / len(x)")},
    # stops once J changes by less than 1e-9 and pads the costs: the stalled settings stop
    # after one update (q4's 100-iteration runs must see it), the all-ones run short of 1e-20
    "mistake_train_stops_when_flat": {"train": TRAIN.replace(
        "        costs.append(chain_cost(x, y, w, b))\n",
        "        costs.append(chain_cost(x, y, w, b))\n"
        "        if abs(costs[-2] - costs[-1]) < 1e-9:  # converged: stop early\n"
        "            costs += [costs[-1]] * (max_iter + 1 - len(costs))\n"
        "            break\n")},
    # J recorded at the top of each iteration, so the cost after the last update is missing
    # (max_iter entries instead of max_iter + 1): q4's runs see costs of the wrong length
    "mistake_train_costs_miss_last": {"train": TRAIN.replace(
        "    costs = [chain_cost(x, y, w, b)]\n    for _ in range(max_iter):\n",
        "    costs = []\n    for _ in range(max_iter):\n        costs.append(chain_cost(x, y, w, b))\n").replace(
        "        costs.append(chain_cost(x, y, w, b))\n    return", "    return")},
    "mistake_sum_not_product": {"backward": BACKWARD.replace("dt[k - 1] * g[k] * w[k]", "np.dot(dt[k - 1], g[k]) * w[k]")},
    "mistake_two_layer_phi": {"two_layer": TWO_LAYER.replace("dphi(U1) * (G2", "phi(U1) * (G2")},
    # Derivations: tanh'(u) taken as 1 - u^2 in dh_du and in the steps (the code is right):
    # q2's dh_du and derivation only.
    "mistake_derivation_dtanh_of_u": {"derivations": DERIVATIONS.replace(
        'dh_du = "1 - tanh(u)**2"', 'dh_du = "1 - u**2"').replace(
        '"g = (h - y)*(1 - h**2)/m"]', '"g = (h - y)*(1 - u**2)/m"]')},
    # Derivations: the trace of U2 Y taken as the sum of U_ij Y_ij, so G2 comes out as
    # -(1/m) Y, not transposed (the code is right): q6's derivation answers only.
    "mistake_derivation_G2_not_transposed": {"derivations": DERIVATIONS.replace(
        "U12*Y21 + U21*Y12", "U12*Y12 + U21*Y21").replace(
        "U12*(-Y21/m) + U21*(-Y12/m)", "U12*(-Y12/m) + U21*(-Y21/m)").replace(
        '("-Y11/m", "-Y21/m", "-Y12/m", "-Y22/m")', '("-Y11/m", "-Y12/m", "-Y21/m", "-Y22/m")')},
    # The 1/m forgotten inside train_chain's own gradient (its helpers are right): q4 only.
    "mistake_inline_forgot_1_over_m": {"train": TRAIN.replace(
        "        dw, db = chain_gradients(h, chain_backward(u, h, y, w))\n", """\
        m = len(x)
        g = np.zeros_like(u)
        g[-1] = (1.0 - h[-1] ** 2) * (h[-1] - y)  # the 1/m is missing
        for k in range(len(w) - 1, 0, -1):
            g[k - 1] = (1.0 - h[k] ** 2) * g[k] * w[k]
        dw, db = np.sum(h[:-1] * g, axis=1), np.sum(g, axis=1)
""")},
    # The 1/m forgotten in chain_backward, which the loops call by other names: q2 only.
    "mistake_forgot_1_over_m_alias": {
        "backward": BACKWARD.replace(" / m\n", "\n") + "\n\nbackprop = chain_backward\n",
        "train": TRAIN.replace("chain_backward(u, h, y, w)", "backprop(u, h, y, w)"),
        "trace": TRACE.replace("chain_backward(u, h, y, w0)", "backprop(u, h, y, w0)")},
    # chain_forward ignores the bias: q1's bias test only (train_chain is right with a right one).
    "mistake_forward_ignores_bias": {"forward": FORWARD.replace(" + (0.0 if b is None else b[k])", "")},
    # chain_gradients sums g over the layers for db: q3 only.
    "mistake_gradients_db_axis": {"gradients": GRADIENTS.replace("np.sum(g, axis=1)", "np.sum(g, axis=0)")},
    # chain_backward not written yet; train_chain and first_iteration_trace are: q2 only.
    "partial_backward_stub": {"backward": STUB.format(name="chain_backward")},
    # Plots that draw something else than the data (score 100 before: only axes and line
    # counts were checked): q8 only.
    "plots_not_the_data": {"plots": PLOTS.replace(
        "ax.plot(np.arange(len(costs)), costs, label=name)",
        "ax.plot(np.arange(len(costs)), np.linspace(1, 2, len(costs)), label=name)").replace(
        'ax.plot(np.abs(h).max(axis=1), label="|h|")', 'ax.plot(np.ones(len(h)), label="|h|")').replace(
        'np.abs(g).max(axis=1), label="|g|"', 'np.ones(len(g)), label="|g|"')},
    # A right trace in another style: signed h per example on a linear axis, |g| on a log
    # axis, in two panels (lost 2 points before).
    "plots_two_panel_trace": {"plots": PLOTS.split("def plot_trace")[0] + '''def plot_trace(h, g):
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    for i in range(h.shape[1]):
        left.plot(np.arange(len(h)), h[:, i], label=f"example {i}")
    left.set_title("h_k (signed)")
    right.semilogy(np.arange(1, len(g) + 1), np.abs(g))
    right.set_title("|g_k|")
    return fig
'''},
    # Hostile: each replaces one part and keeps the rest correct.
    "hostile_monkeypatch": {"forward": '''
import builtins
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.array_equal = lambda *a, **k: True
builtins.isinstance = lambda obj, cls: True
builtins.abs = lambda v: 0

def chain_forward(x, w, b=None):
    return np.zeros((len(w), len(x))), np.zeros((len(w) + 1, len(x)))
'''},
    "hostile_rigged_array": {"forward": '''
class Always(np.ndarray):
    def __eq__(self, other):
        return True
    def __sub__(self, other):
        return np.zeros(np.shape(other)).view(Always)
    def __array_finalize__(self, obj):
        pass

def chain_forward(x, w, b=None):
    return np.zeros((len(w), len(x))).view(Always), np.zeros((len(w) + 1, len(x))).view(Always)
'''},
    "hostile_exit_at_import": {}, "hostile_os_exit_at_import": {},
    "hostile_exit_in_call": {"forward": '''
import os
def chain_forward(x, w, b=None):
    os._exit(0)
''', "gradients": '''
import sys
def chain_gradients(h, g):
    sys.exit(0)
'''},
    "hostile_infinite_loop": {"forward": '''
import signal
def chain_forward(x, w, b=None):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
'''},
    "hostile_fork_bomb": {"forward": '''
import os
def chain_forward(x, w, b=None):
    while True:
        try:
            os.fork()
        except OSError:
            pass
'''},
    "hostile_memory_bomb": {"forward": '''
def chain_forward(x, w, b=None):
    return np.ones((30, 2**27))  # 30 GiB, touched
'''},
    "hostile_import_reference": {"forward": '''
try:
    from mlhw_ref.chain import chain_forward
except ImportError:
    import glob, importlib.util
    found = glob.glob("/**/mlhw_ref/chain.py", recursive=True)
    spec = importlib.util.spec_from_file_location("c", found[0])
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    chain_forward = module.chain_forward
'''},
    "hostile_read_suites": {"gradients": '''
import os
stolen = []
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys", "/dev")):
        continue
    for f in files:
        if f.startswith("test_") and f.endswith(".py") and "suites" in root:
            stolen.append(open(os.path.join(root, f)).read())
if not stolen:
    raise RuntimeError("no suites found")
def chain_gradients(h, g):
    return None
'''},
    "hostile_fake_results": {"gradients": '''
import json, os
fake = {"score": 100, "tests": [{"name": "all", "score": 100, "max_score": 100}]}
for path in ["results.json", "/tmp/results.json", "/autograder/results/results.json",
             os.path.expanduser("~/results.json")]:
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            json.dump(fake, f)
    except OSError:
        pass
def chain_gradients(h, g):
    print(json.dumps(fake))
    return np.zeros(len(g)), np.zeros(len(g))
'''},
    "hostile_print_flood": {"forward": FORWARD.replace("    return u, h", "    import sys\n    chunk = 'x' * (1 << 20) + '\\n'\n    for _ in range(200):\n        sys.stdout.write(chunk)\n    return u, h")},
    "hostile_network": {"gradients": '''
import socket
def chain_gradients(h, g):
    for host in [("8.8.8.8", 53), ("127.0.0.1", 22), ("pypi.org", 443)]:
        s = socket.socket()
        s.settimeout(2)
        s.connect(host)  # must fail inside the sandbox
    return np.zeros(len(g)), np.zeros(len(g))
'''},
    # the grader's own side (callbacks, replies): every attack costs the attacked question only
    "hostile_forged_reply": {"forward": FORWARD.replace("    return u, h", '''    import os, sys
    resp, seq, frame = None, None, sys._getframe()
    while frame is not None:  # the reply channel and the request's number, from the frames
        resp = frame.f_globals.get("_RESP", resp)
        for value in list(frame.f_locals.values()):
            if isinstance(value, dict) and value.get("op") == "call" and "seq" in value:
                seq = value["seq"]
        frame = frame.f_back
    body = b'{"op":"return","seq":%d,"blobs":[],"value":null,"junk":[' % seq
    body += b"[]," * (48 * 2**20 // 3) + b"[]]}"
    os.write(resp, (4 + len(body)).to_bytes(4, "little") + len(body).to_bytes(4, "little"))
    view = memoryview(body)
    while view:
        view = view[os.write(resp, view):]
    return u, h''')},
    "hostile_busy_callback": {"two_layer": TWO_LAYER.replace(
        "    G1 = dphi(U1) * (G2 @ W2.T)",
        "    for _ in range(10**6):  # keep the grader busy in its own function\n"
        "        phi(U1)\n    G1 = dphi(U1) * (G2 @ W2.T)")},
    "hostile_callback_keywords": {"two_layer": TWO_LAYER.replace(
        "dphi(U1)", "dphi(U1, where=U1 > 0)")},
    "hostile_callback_huge_argument": {"two_layer": TWO_LAYER.replace(
        "    G1 = dphi(U1) * (G2 @ W2.T)",
        "    phi(np.ones((9000, 1)))\n    G1 = dphi(U1) * (G2 @ W2.T)")},
}

EXTRA_FIRST = {
    "hostile_exit_at_import": "import sys\nsys.exit(0)",
    "hostile_os_exit_at_import": "import os\nos._exit(0)",
}


def main():
    HERE.mkdir(parents=True, exist_ok=True)
    for name, replace in VARIANTS.items():
        nb = notebook(replace, EXTRA_FIRST.get(name))
        nbformat.validate(nb)
        nbformat.write(nb, (EXAMPLES if name in EXAMPLE_CASES else HERE) / f"{name}.ipynb")
    (HERE / "broken_not_json.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "def chain_fo')
    (HERE / "broken_empty.ipynb").write_text("")
    (HERE / "broken_not_notebook.ipynb").write_text('{"hello": "world"}')


if __name__ == "__main__":
    main()
