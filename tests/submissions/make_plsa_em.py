"""Writes the plsa_em test submissions as real notebooks (run once; the notebooks are
committed). Each variant is the solution with one part replaced, so a test can check that
exactly the intended question loses points and that every other question is still graded."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent / "plsa_em"
# The example class graded by `mlhw demo` lives with the assignment (not duplicated here); its
# expected scores are tests/submissions/plsa_em/<case>.expected.toml all the same.
EXAMPLES = Path(__file__).parents[2] / "assignments" / "plsa_em" / "examples"
EXAMPLE_CASES = {"solution", "partial", "mistake_no_log_M", "mistake_m_step_no_counts",
                 "hostile_memory_bomb"}

IMPORTS = "%matplotlib inline\nimport numpy as np\nimport scipy.sparse as sparse\nimport sympy as sp\nfrom matplotlib.figure import Figure"

LOGLIK = '''
def log_likelihood(counts, alpha, beta):
    counts = np.asarray(counts)
    i, j = np.nonzero(counts)  # a zero count contributes nothing
    n = counts[i, j].astype(float)
    p = np.einsum("tk,tk->t", alpha[i], beta.T[j])  # sum_k alpha_ik beta_kj on the non-zeros
    return float(n @ np.log(p) - n.sum() * np.log(counts.shape[0]))
'''

ESTEP = '''
def e_step(alpha, beta):
    joint = alpha[:, None, :] * beta.T[None, :, :]  # (M, N, K)
    total = joint.sum(axis=2, keepdims=True)
    uniform = np.full_like(joint, 1.0 / alpha.shape[1])  # posterior where the pair has probability 0
    return np.divide(joint, total, out=uniform, where=total > 0)
'''

MSTEP = '''
def m_step(counts, gamma):
    weighted = np.asarray(counts, dtype=float)[:, :, None] * gamma  # n_ij gamma_ijk
    alpha = weighted.sum(axis=1)
    beta = weighted.sum(axis=0).T
    return alpha / alpha.sum(axis=1, keepdims=True), beta / beta.sum(axis=1, keepdims=True)
'''

FIT = '''
def fit_plsa(counts, alpha0, beta0, n_iter):
    counts = np.asarray(counts)
    M, N = counts.shape
    i, j = np.nonzero(counts)
    n = counts[i, j].astype(float)
    alpha, beta = np.array(alpha0, dtype=float), np.array(beta0, dtype=float)
    ll = []
    for t in range(n_iter + 1):
        p = np.einsum("tk,tk->t", alpha[i], beta.T[j])
        ll.append(n @ np.log(p) - n.sum() * np.log(M))
        if t == n_iter:
            break
        R = sparse.csr_array((n / p, (i, j)), shape=(M, N))  # r_ij = n_ij / sum_k alpha_ik beta_kj
        alpha_new = alpha * (R @ beta.T)  # sum_j n_ij gamma_ijk
        beta_new = beta * (R.T @ alpha).T  # sum_i n_ij gamma_ijk, with the old alpha
        alpha = alpha_new / alpha_new.sum(axis=1, keepdims=True)
        beta = beta_new / beta_new.sum(axis=1, keepdims=True)
    return alpha, beta, np.array(ll)
'''

TOP = '''
def top_words(beta, vocab, n=10):
    order = np.argsort(-np.asarray(beta), axis=1, kind="stable")[:, :n]
    return [[vocab[j] for j in row] for row in order]
'''

SYMBOLIC = '''
s1, s2, s3 = sp.symbols("s1 s2 s3", positive=True)
alpha1, lam = sp.symbols("alpha1 lam", positive=True)
t1, t2, t3 = sp.symbols("t1 t2 t3", positive=True)
beta1, mu = sp.symbols("beta1 mu", positive=True)
stationarity = "s1/alpha1 - lam = 0"
lagrange_multiplier = s1 + s2 + s3
derivation_alpha = ["s1/alpha1 - lam = 0", "s1 = lam*alpha1", "alpha1 = s1/lam", "alpha1 = s1/(s1 + s2 + s3)"]
alpha_1 = s1 / (s1 + s2 + s3)
multiplier_beta = t1 + t2 + t3
derivation_beta = ["t1/beta1 - mu = 0", "beta1 = t1/mu", "beta1 = t1/(t1 + t2 + t3)"]
'''

PLOT = '''
def plot_log_likelihood(ll):
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot(np.arange(len(ll)), ll)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("log-likelihood")
    return fig
'''

EXPERIMENT = '''
import lda.datasets
X = lda.datasets.load_reuters()
vocab = list(lda.datasets.load_reuters_vocab())
rng = np.random.default_rng(0)
alpha0 = rng.dirichlet(np.ones(10), size=X.shape[0])
beta0 = rng.dirichlet(np.ones(X.shape[1]), size=10)
alpha, beta, ll = fit_plsa(X, alpha0, beta0, 200)
print(top_words(beta, vocab, 10))
plot_log_likelihood(ll)
'''

WRITTEN = ("The log-likelihood has the log of a sum over topics, which does not separate, so "
           "setting its gradient to zero gives no closed form. Jensen's inequality gives a lower "
           "bound that is tight at the posterior (E-step) and separates, so it can be maximised "
           "in closed form (M-step); the log-likelihood never decreases.")

PARTS = {"loglik": LOGLIK, "estep": ESTEP, "mstep": MSTEP, "fit": FIT, "top": TOP,
         "symbolic": SYMBOLIC, "plot": PLOT}


def notebook(replace=None, written=True):
    parts = dict(PARTS, **(replace or {}))
    cells = [new_markdown_cell("# PLSA homework"), new_code_cell(IMPORTS)]
    cells += [new_code_cell(src.strip()) for src in parts.values() if src.strip()]
    cells.append(new_code_cell(EXPERIMENT.strip(), metadata={"tags": ["experiment"]}))
    if written:
        cells.append(new_markdown_cell(WRITTEN, metadata={"mlhw": {"written": "q8"}}))
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


STUB = 'def {name}(*args, **kwargs):\n    raise NotImplementedError("{name}")\n'

# Correct in another style: loops over documents and topics, (M, N) arrays at most in
# fit_plsa (a loop over topics instead of gamma), no scipy.
LOOPS = {
    "loglik": '''
import math

def log_likelihood(counts, alpha, beta):
    M, N = counts.shape
    total = 0.0
    for i in range(M):
        p = alpha[i] @ beta  # (N,)
        for j in range(N):
            if counts[i, j] > 0:
                total += counts[i, j] * math.log(p[j] / M)
    return total
''',
    "estep": '''
def e_step(alpha, beta):
    M, K = alpha.shape
    N = beta.shape[1]
    gamma = np.empty((M, N, K))
    for i in range(M):
        for j in range(N):
            w = alpha[i] * beta[:, j]
            s = w.sum()
            gamma[i, j] = w / s if s > 0 else np.full(K, 1.0 / K)
    return gamma
''',
    "mstep": '''
def m_step(counts, gamma):
    M, N, K = gamma.shape
    alpha = np.zeros((M, K))
    beta = np.zeros((K, N))
    for k in range(K):
        w = counts * gamma[:, :, k]
        alpha[:, k] = w.sum(axis=1)
        beta[k] = w.sum(axis=0)
    for i in range(M):
        alpha[i] /= alpha[i].sum()
    for k in range(K):
        beta[k] /= beta[k].sum()
    return alpha, beta
''',
    "fit": '''
def fit_plsa(counts, alpha0, beta0, n_iter):
    M, N = counts.shape
    K = alpha0.shape[1]
    alpha, beta = alpha0.copy(), beta0.copy()
    lls = [log_likelihood_fast(counts, alpha @ beta)]
    for _ in range(n_iter):
        p = alpha @ beta  # (M, N): never (M, N, K)
        ratio = np.divide(counts, p, out=np.zeros(p.shape), where=counts > 0)
        new_alpha = np.empty_like(alpha)
        new_beta = np.empty_like(beta)
        for k in range(K):
            new_alpha[:, k] = alpha[:, k] * (ratio @ beta[k])
            new_beta[k] = beta[k] * (alpha[:, k] @ ratio)
        alpha = new_alpha / new_alpha.sum(axis=1, keepdims=True)
        beta = new_beta / new_beta.sum(axis=1, keepdims=True)
        lls.append(log_likelihood_fast(counts, p=alpha @ beta))
    return alpha, beta, lls


def log_likelihood_fast(counts, p):
    nz = counts > 0
    return float(np.sum(counts[nz] * np.log(p[nz] / counts.shape[0])))
''',
    "top": '''
def top_words(beta, vocab, n=10):
    out = []
    for row in beta:
        ranked = sorted(range(len(row)), key=lambda j: -row[j])
        out.append(np.array([vocab[j] for j in ranked[:n]]))
    return np.array(out)
''',
    # strings for the results, sympy equations for the steps
    "symbolic": '''
s1, s2, s3, alpha1, lam = sp.symbols("s1 s2 s3 alpha1 lam", positive=True)
t1, t2, t3, beta1, mu = sp.symbols("t1 t2 t3 beta1 mu", positive=True)
stationarity = sp.Eq(s1 / alpha1, lam)
lagrange_multiplier = "s3 + s2 + s1"
derivation_alpha = [sp.Eq(s1 / alpha1, lam), sp.Eq(alpha1 * lam, s1), sp.Eq(alpha1, s1 / (s1 + s2 + s3))]
alpha_1 = "s1/(s1 + s2 + s3)"
multiplier_beta = "t1 + t2 + t3"
derivation_beta = [sp.Eq(t1 / beta1 - mu, 0), sp.Eq(beta1, t1 / (t1 + t2 + t3))]
''',
    "plot": '''
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

def plot_log_likelihood(ll):
    fig, ax = plt.subplots()
    ax.plot(range(len(ll)), list(ll), "o-")
    ax.set_xlabel("iteration")
    plt.close(fig)
    return fig
''',
}

# EM through the dense (M, N, K) gamma: right on small inputs and on Reuters (slow there:
# 16.8M entries per iteration), out of memory at scale (question 5 only).
DENSE_FIT = '''
def fit_plsa(counts, alpha0, beta0, n_iter):
    counts = np.asarray(counts, dtype=float)
    alpha, beta = alpha0, beta0
    ll = [log_likelihood(counts, alpha, beta)]
    for _ in range(n_iter):
        gamma = alpha[:, None, :] * beta.T[None, :, :]  # (M, N, K), updated in place
        gamma /= gamma.sum(axis=2, keepdims=True)
        gamma *= counts[:, :, None]
        alpha = gamma.sum(axis=1)
        beta = gamma.sum(axis=0).T
        alpha /= alpha.sum(axis=1, keepdims=True)
        beta /= beta.sum(axis=1, keepdims=True)
        ll.append(log_likelihood(counts, alpha, beta))
    return alpha, beta, np.array(ll)
'''

# float32 everywhere except the log-likelihood of question 1 (which asks for 1e-10): the
# grader accepts float32 results within float32's precision.
FLOAT32 = {
    "estep": ESTEP.replace("joint = alpha[:, None, :]", "alpha, beta = alpha.astype(np.float32), beta.astype(np.float32)\n    joint = alpha[:, None, :]"),
    "mstep": MSTEP.replace("dtype=float)[:, :, None] * gamma", "dtype=np.float32)[:, :, None] * gamma.astype(np.float32)"),
    "fit": FIT.replace("astype(float)", "astype(np.float32)").replace("dtype=float", "dtype=np.float32")
              .replace("return alpha, beta, np.array(ll)", "return alpha, beta, np.array(ll, dtype=np.float32)"),
}

# fit_plsa written with the notebook's own functions: one E-step and one M-step per iteration
# through the dense gamma (right, but out of memory at question 5's scale), ll from
# log_likelihood. A mistake in e_step or m_step is then graded in question 2 or 3 only.
TEXTBOOK_FIT = '''
def fit_plsa(counts, alpha0, beta0, n_iter):
    alpha, beta = alpha0, beta0
    ll = [log_likelihood(counts, alpha, beta)]
    for _ in range(n_iter):
        alpha, beta = m_step(counts, e_step(alpha, beta))
        ll.append(log_likelihood(counts, alpha, beta))
    return alpha, beta, np.array(ll)
'''

# the scalable fit, its log-likelihoods from the notebook's log_likelihood
REUSING_FIT = FIT.replace("    ll = []\n", "    ll = [log_likelihood(counts, alpha, beta)]\n").replace(
    "        ll.append(n @ np.log(p) - n.sum() * np.log(M))\n        if t == n_iter:\n            break\n", "        if t == n_iter:\n            break\n").replace(
    "        beta = beta_new / beta_new.sum(axis=1, keepdims=True)\n", "        beta = beta_new / beta_new.sum(axis=1, keepdims=True)\n        ll.append(log_likelihood(counts, alpha, beta))\n")

# question 7 as the student version has it: the symbols declared, every answer still `...`
SYMBOLIC_STUB = "\n".join(SYMBOLIC.strip().splitlines()[:4]) + "\n" + "\n".join(
    f"{name} = ...  # YOUR ANSWER" for name in ("stationarity", "lagrange_multiplier", "derivation_alpha",
                                               "alpha_1", "multiplier_beta", "derivation_beta")) + "\n"

VARIANTS = {
    "solution": {},
    "loops": LOOPS,
    "float32": FLOAT32,
    "partial": {"mstep": STUB.format(name="m_step"), "fit": STUB.format(name="fit_plsa"),
                "symbolic": SYMBOLIC_STUB, "plot": ""},
    # mistakes to diagnose (ASSIGNMENTS.md section 1)
    "mistake_no_log_M": {"loglik": LOGLIK.replace(" - n.sum() * np.log(counts.shape[0])", "")},
    "mistake_log_outside": {"loglik": '''
def log_likelihood(counts, alpha, beta):
    M = counts.shape[0]
    return float(np.log(np.sum(counts * (alpha @ beta) / M)))
'''},
    "mistake_gamma_over_documents": {"estep": ESTEP.replace("total = joint.sum(axis=2", "total = joint.sum(axis=0")},
    "mistake_gamma_over_words": {"estep": ESTEP.replace("total = joint.sum(axis=2", "total = joint.sum(axis=1")},
    # the E-step's joint alpha_ik beta_kj returned without dividing by its sum over topics
    "mistake_gamma_not_normalised": {"estep": ESTEP.replace(
        "    return np.divide(joint, total, out=uniform, where=total > 0)", "    return joint")},
    "mistake_m_step_no_counts": {"mstep": MSTEP.replace("np.asarray(counts, dtype=float)[:, :, None] * gamma", "gamma")},
    "mistake_alpha_over_documents": {"mstep": MSTEP.replace("alpha / alpha.sum(axis=1, keepdims=True)", "alpha / alpha.sum(axis=0, keepdims=True)")},
    "mistake_nan_with_zeros": {"estep": '''
def e_step(alpha, beta):
    joint = alpha[:, None, :] * beta.T[None, :, :]
    return joint / joint.sum(axis=2, keepdims=True)
'''},
    "dense_fit": {"fit": DENSE_FIT},
    # the dense gamma in float32, to halve its memory: 2.4 GB at question 5, still over 2 GiB
    "mistake_dense_fit_float32": {"fit": DENSE_FIT.replace(
        "counts = np.asarray(counts, dtype=float)\n    alpha, beta = alpha0, beta0",
        "counts = np.asarray(counts, dtype=np.float32)\n"
        "    alpha, beta = alpha0.astype(np.float32), beta0.astype(np.float32)")},
    # a correct fit with a guard in a denominator: n / (p + 1e-10) moves alpha and beta by
    # up to 6e-5 relative and ll by 1e-7 at question 5's scale, not more
    "guard_1e10": {"fit": FIT.replace("(n / p, (i, j))", "(n / (p + 1e-10), (i, j))")},
    # a correct top_words whose ties come out in reverse vocabulary order
    "top_words_argsort": {"top": '''
def top_words(beta, vocab, n=10):
    order = np.argsort(beta, axis=1)[:, ::-1][:, :n]
    return [[vocab[j] for j in row] for row in order]
'''},
    # a mistake in a helper is charged in its own question only, whatever calls it
    "mistake_no_log_M_reused": {"loglik": LOGLIK.replace(" - n.sum() * np.log(counts.shape[0])", ""),
                                "fit": REUSING_FIT},
    "textbook_fit": {"fit": TEXTBOOK_FIT},
    "mistake_gamma_over_documents_textbook": {
        "estep": ESTEP.replace("total = joint.sum(axis=2", "total = joint.sum(axis=0"), "fit": TEXTBOOK_FIT},
    "mistake_m_step_no_counts_textbook": {
        "mstep": MSTEP.replace("np.asarray(counts, dtype=float)[:, :, None] * gamma", "gamma"), "fit": TEXTBOOK_FIT},
    # mistakes in fit_plsa itself: questions 4-6 grade it
    "mistake_fit_beta_new_alpha": {"fit": FIT.replace(
        "        alpha = alpha_new / alpha_new.sum(axis=1, keepdims=True)\n", "").replace(
        "        beta_new = beta * (R.T @ alpha).T  # sum_i n_ij gamma_ijk, with the old alpha\n",
        "        alpha = alpha_new / alpha_new.sum(axis=1, keepdims=True)\n"
        "        beta_new = beta * (R.T @ alpha).T  # with the new alpha: not EM\n")},
    # the fit's ll takes P(d) = 1/N (words) for 1/M: alpha and beta are right, ll is not
    "mistake_fit_ll_log_N": {"fit": FIT.replace("n.sum() * np.log(M)", "n.sum() * np.log(N)")},
    "mistake_fit_binary_counts": {"fit": FIT.replace("n = counts[i, j].astype(float)", "n = np.ones(i.size)  # presence, not counts")},
    "mistake_fit_stops_early": {"fit": FIT.replace(
        "        if t == n_iter:\n            break\n",
        "        if t == n_iter:\n            break\n"
        "        if t > 0 and ll[-1] - ll[-2] < 1e-5 * abs(ll[-1]):  # converged: stop early\n"
        "            ll += [ll[-1]] * (n_iter - t)\n            break\n")},
    # the ratios n_ij / p_ij computed once from the start (hoisted out of the loop): the first
    # iteration is right, every later one is not (question 5 grades two)
    "mistake_fit_stale_ratios": {"fit": FIT.replace(
        "    ll = []\n", "    ll = []\n    p_start = np.einsum(\"tk,tk->t\", alpha[i], beta.T[j])\n").replace(
        "(n / p, (i, j))", "(n / p_start, (i, j))")},
    # fit_plsa draws a start of its own instead of starting from alpha0, beta0: a correct EM
    # from the wrong place (q4's first entry and reference run, q5, q6's two Reuters runs)
    "mistake_fit_own_start": {"fit": FIT.replace(
        "    alpha, beta = np.array(alpha0, dtype=float), np.array(beta0, dtype=float)\n",
        "    rng = np.random.default_rng(0)  # a random start\n"
        "    K = np.shape(alpha0)[1]\n"
        "    alpha, beta = rng.dirichlet(np.ones(K), size=M), rng.dirichlet(np.ones(N), size=K)\n")},
    # beta normalised over topics (columns) instead of over words (rows)
    "mistake_fit_beta_over_topics": {"fit": FIT.replace(
        "beta_new / beta_new.sum(axis=1, keepdims=True)", "beta_new / beta_new.sum(axis=0, keepdims=True)")},
    # top_words: the n most probable words, least probable of them first (argsort ascending)
    "mistake_top_words_ascending": {"top": '''
def top_words(beta, vocab, n=10):
    order = np.argsort(np.asarray(beta), axis=1)[:, -n:]
    return [[vocab[j] for j in row] for row in order]
'''},
    # top_words: the right n words, then sorted alphabetically (not most probable first)
    "mistake_top_words_alphabetical": {"top": '''
def top_words(beta, vocab, n=10):
    order = np.argsort(-np.asarray(beta), axis=1)[:, :n]
    return [sorted(vocab[j] for j in row) for row in order]
'''},
    # a derivation step that does not follow (alpha1 = lam/s1): question 7 loses its 2 points
    "mistake_derivation_step": {"symbolic": SYMBOLIC.replace('"alpha1 = s1/lam", "alpha1 = s1/(s1 + s2 + s3)"',
                                                         '"alpha1 = lam/s1", "alpha1 = s1/(s1 + s2 + s3)"')},
    # hostile: each replaces one part and keeps the rest correct
    "hostile_monkeypatch": {"estep": '''
import builtins
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.isfinite = lambda x: np.ones(np.shape(x), dtype=bool)
builtins.isinstance = lambda obj, cls: True

def e_step(alpha, beta):
    return np.full((alpha.shape[0], beta.shape[1], alpha.shape[1]), np.nan)
''', "mstep": '''
def m_step(counts, gamma):
    M, N, K = np.shape(gamma)
    return np.zeros((M, K)), np.zeros((K, N))
'''},
    "hostile_memory_bomb": {"fit": '''
def fit_plsa(counts, alpha0, beta0, n_iter):
    M, N = np.shape(counts)
    K = np.shape(alpha0)[1]
    gamma = np.ones((M, N, K))  # touched: 4.8 GB at question 5's size
    blocks = [gamma]
    for _ in range(40):
        blocks.append(np.ones(2**27))  # and more, 1 GiB at a time
    return alpha0, beta0, np.zeros(n_iter + 1)
'''},
}


def main():
    HERE.mkdir(parents=True, exist_ok=True)
    for name, replace in VARIANTS.items():
        nb = notebook(replace)
        nbformat.validate(nb)
        nbformat.write(nb, (EXAMPLES if name in EXAMPLE_CASES else HERE) / f"{name}.ipynb")


if __name__ == "__main__":
    main()
