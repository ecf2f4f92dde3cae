"""The reference experiments of all five assignments, on the bundled offline data.

`mlhw experiments` prints a short report and writes each plot as a PNG: the deep chain's
three published runs, PLSA topics on Reuters, the vanishing-gradient table, accuracies on
MNIST and two circles, and gradient descent on the quadratic.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def _save(fig, path: Path) -> str:
    fig.savefig(path, dpi=100)
    return str(path)


def deep_chain(out: Path, quick: bool) -> list[str]:
    """The three 100-layer runs (x = y = (-0.5, 0.5), alpha = 0.1, no bias)."""
    from mlhw_ref import chain

    x = np.array([-0.5, 0.5])
    iters = 300 if quick else 1000
    runs = {f"w0 = {w:g}": chain.train_chain(x, x, np.full(100, w), None, 0.1, iters)[2]
            for w in (1.0, 5.0, 0.9)}
    lines = [f"  {name:9s} J: {c[0]:.4f} -> {c[-1]:.3g} after {iters} updates" for name, c in runs.items()]
    h, g = chain.first_iteration_trace(x, x, np.full(100, 5.0))
    lines.append(f"  at w = 5: |g_1| = {np.abs(g[0]).max():.2g}, |g_100| = {np.abs(g[-1]).max():.2g}"
                 f" (shrink factor 5 sech^2(5) = {chain.SHRINK_FACTOR:.3g} per layer)")
    lines.append("  plots: " + _save(chain.plot_costs(runs), out / "deep_chain_costs.png")
                 + ", " + _save(chain.plot_trace(h, g), out / "deep_chain_trace.png"))
    return lines


def plsa_reuters(out: Path, quick: bool) -> list[str]:
    """PLSA with K = 10 on the 395 Reuters documents."""
    from mlhw_ref import plsa
    from mlhw_ref.datasets import load_reuters

    corpus = load_reuters()
    M, N = corpus.counts.shape
    alpha0, beta0 = plsa.random_start(M, N, 10, np.random.default_rng(0))
    iters = 50 if quick else 200
    start = time.perf_counter()
    alpha, beta, ll = plsa.fit_plsa(corpus.counts, alpha0, beta0, iters)
    seconds = time.perf_counter() - start
    tokens = corpus.counts.sum()
    lines = [f"  {M} documents, {N} words, K = 10, {iters} iterations in {seconds:.2f} s; "
             f"log-likelihood per token {ll[0] / tokens:.3f} -> {ll[-1] / tokens:.3f}"]
    for k, words in enumerate(plsa.top_words(beta, corpus.vocab, n=8)):
        lines.append(f"  topic {k}: {' '.join(words)}")
    lines.append("  plot: " + _save(plsa.plot_log_likelihood(ll), out / "plsa_log_likelihood.png"))
    return lines


def vanishing_gradients(out: Path, quick: bool) -> list[str]:
    """||dL/dW1|| against depth for N(0,1) weights and weights scaled by 0.01."""
    from mlhw_ref import sigmoid_mlp as mlp

    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, size=(100, 784))
    y = rng.integers(0, 2, size=100).astype(float)
    depths = list(range(1, 11))
    seeds = 2 if quick else 5
    table = {scale: mlp.grad_norms_by_depth(depths, X, y, 20, np.random.default_rng(1), scale, seeds)
             for scale in (1.0, 0.01)}
    lines = ["  depth  " + "  ".join(f"{d:>8d}" for d in depths)]
    for scale, norms in table.items():
        lines.append(f"  x{scale:<5g} " + "  ".join(f"{v:8.1e}" for v in norms)
                     + f"   slope {mlp.log10_slope(depths, norms):+.2f} decades/layer")
    fig = mlp.plot_grad_norms(depths, table[1.0])
    lines.append("  plot: " + _save(fig, out / "sigmoid_mlp_grad_norms.png"))
    return lines


def accuracies(out: Path, quick: bool) -> list[str]:
    """Sigmoid MLP on MNIST 0-vs-1, the 784-32-32-10 SGD MLP, the multiclass MLP on circles."""
    from mlhw_ref import mnist_mlp, multiclass
    from mlhw_ref import sigmoid_mlp as mlp
    from mlhw_ref.datasets import load_mnist, make_circles
    from mlhw_ref.datasets.mnist import as_float, binary_subset

    mnist = load_mnist()
    pair = binary_subset(mnist, (0, 1))
    params = mlp.train(as_float(pair.X_train), pair.y_train, rng=np.random.default_rng(0))
    lines = [f"  sigmoid MLP, MNIST 0 vs 1: test accuracy "
             f"{mlp.accuracy(params, as_float(pair.X_test), pair.y_test):.2%}"]
    n = 3000 if quick else len(mnist.y_train)
    weights, biases = mnist_mlp.init_weights(np.random.default_rng(0))
    start = time.perf_counter()
    weights, biases = mnist_mlp.train_epochs(as_float(mnist.X_train[:n]), mnist.y_train[:n],
                                             weights, biases, epochs=3, learning_rate=0.03)
    loss, acc = mnist_mlp.feed_forward_dataset(as_float(mnist.X_test), mnist.y_test, weights, biases)
    lines.append(f"  784-32-32-10 per-sample SGD, {n} images, 3 epochs at 0.03: test accuracy "
                 f"{acc:.2%} (loss {loss:.3f}, {time.perf_counter() - start:.1f} s)")
    rng = np.random.default_rng(0)
    X, y = make_circles(1000, noise=0.1, factor=0.5, rng=rng)
    params, history = multiclass.train(X, y, 16, 0.1, 60, 16, rng)
    X_test, y_test = make_circles(1000, noise=0.1, factor=0.5, rng=rng)
    lines.append(f"  multiclass MLP on two circles: held-out accuracy "
                 f"{multiclass.accuracy(params, X_test, y_test):.2%}")
    fig = multiclass.plot_decision_boundary(params, X_test, y_test)
    lines.append("  plot: " + _save(fig, out / "mlp_multiclass_boundary.png"))
    return lines


def quadratic(out: Path, quick: bool) -> list[str]:
    """Gradient descent on L = (a w1^2 + b w2^2)/2 with a = 10, b = 1."""
    from mlhw_ref import quadratic as quad

    a, b, w0 = 10.0, 1.0, np.array([1.0, 1.0])
    eta_opt, rate = quad.optimal_step(a, b)
    lines = []
    for eta in (0.05, 0.1, eta_opt, 0.199, 0.2):
        steps = quad.steps_to_tolerance(w0, a, b, eta, 1e-6)
        lines.append(f"  eta = {eta:.4f}: " + (f"{steps} steps to |w| <= 1e-6" if steps >= 0 else "diverges"))
    lines.append(f"  optimal eta = 2/(a+b) = {eta_opt:.4f}, rate (a-b)/(a+b) = {rate:.4f}")
    return lines


EXPERIMENTS = {
    "deep_chain: the 100-layer tanh chain": deep_chain,
    "plsa_em: topics on Reuters": plsa_reuters,
    "sigmoid_mlp: vanishing gradients (||dL/dW1||, 20 units, mean over seeds)": vanishing_gradients,
    "accuracies": accuracies,
    "gd_mnist part A: gradient descent on a quadratic": quadratic,
}


def run_all(out: str | Path, quick: bool = False) -> None:
    """Run every experiment, print the report, write the plots under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for title, experiment in EXPERIMENTS.items():
        start = time.perf_counter()
        print(f"{title}", flush=True)
        for line in experiment(out, quick):
            print(line, flush=True)
        print(f"  ({time.perf_counter() - start:.1f} s)\n", flush=True)
