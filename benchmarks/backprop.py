"""Backprop of the 784-32-32-10 MNIST MLP: mlhw_ref (NumPy) against torch on the CPU.

Measures forward + backward (mean cross-entropy, float64) at batch 1, 128 and 1024 for
``mlhw_ref.mnist_mlp.forward_batch`` + ``backward_batch`` and for torch autograd (when torch
is installed), the ways of computing the weight-gradient product ``h.T @ delta``, and the
per-sample cost of SGD (one sample at a time) against a batch of 128.

Timing: the implementations are timed in alternating rounds (so both see the same load on a
shared machine); each round times a loop of calls, and the table gives the best round per
implementation and the median over rounds of the paired ratio. Both libraries use the same
number of threads: NumPy's BLAS pool (threadpoolctl) and ``torch.set_num_threads``.

    .venv/bin/python benchmarks/backprop.py [--threads N] [--rounds R] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from scipy.linalg.blas import dgemm
from threadpoolctl import threadpool_info, threadpool_limits

from mlhw_ref import mnist_mlp as M

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None

BATCHES = (1, 128, 1024)


def time_loop(f: Callable[[], object], reps: int) -> float:
    """Seconds per call, averaged over ``reps`` back-to-back calls."""
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


def paired(fs: dict[str, Callable[[], object]], reps: int, rounds: int) -> dict[str, list[float]]:
    """Time each function once per round, rotating the order; per-round seconds per call."""
    for f in fs.values():  # warm-up
        f()
    out: dict[str, list[float]] = {k: [] for k in fs}
    names = list(fs)
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            out[k].append(time_loop(fs[k], reps))
    return out


def reps_for(batch: int) -> int:
    return max(3, 4096 // batch)


def numpy_step(X, y, w, b):
    _, cache = M.forward_batch(X, y, w, b)
    return M.backward_batch(X, y, w, b, cache=cache)


def plain_step(X, y, w, b):
    """The same backward pass written the textbook way, ``h.T @ delta``, for comparison."""
    _, cache = M.forward_batch(X, y, w, b)
    h, n = cache.h, X.shape[0]
    delta = np.exp(cache.log_probs)
    delta[np.arange(n), y] -= 1.0
    delta /= n
    dW, db = [None] * 3, [None] * 3
    for l in (2, 1, 0):
        dW[l], db[l] = h[l].T @ delta, delta.sum(axis=0)
        if l > 0:
            delta = (delta @ w[l].T) * (h[l] * (1.0 - h[l]))
    return dW, db


def make_torch_step(w, b):
    tw = [torch.tensor(a, requires_grad=True) for a in w]
    tb = [torch.tensor(a, requires_grad=True) for a in b]

    def step(X, y):
        for p in tw + tb:
            p.grad = None
        h = torch.sigmoid(X @ tw[0] + tb[0])
        h = torch.sigmoid(h @ tw[1] + tb[1])
        loss = torch.nn.functional.cross_entropy(h @ tw[2] + tb[2], y)
        loss.backward()
        return [p.grad for p in tw], [p.grad for p in tb]

    return step


def check_agreement(w, b, rng) -> float:
    """Max abs difference between mlhw_ref's and torch's gradients at batch 128."""
    X, y = rng.random((128, 784)), rng.integers(0, 10, 128)
    dW, db = numpy_step(X, y, w, b)
    tW, tb = make_torch_step(w, b)(torch.from_numpy(X), torch.from_numpy(y))
    return max(float(np.abs(a - t.numpy()).max()) for a, t in zip(dW + db, tW + tb))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None,
                   help="threads for BLAS and torch (default: NumPy's BLAS pool size)")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--out", help="write the Markdown report here as well as to stdout")
    args = p.parse_args(argv)

    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    blas.sort(key=lambda i: "numpy" not in i["filepath"])  # NumPy's own BLAS first
    threads = args.threads or blas[0]["num_threads"]
    threadpool_limits(threads, user_api="blas")
    if torch is not None:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    w, b = M.init_weights(rng)
    lines: list[str] = []
    say = lines.append

    say("# Backprop benchmark: 784-32-32-10 MLP, float64, forward + backward\n")
    say(f"Command: `{' '.join(['.venv/bin/python', 'benchmarks/backprop.py', *sys.argv[1:]])}`  ")
    say(f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs "
        f"(load average {os.getloadavg()[0]:.1f} at start), Python "
        f"{platform.python_version()}, NumPy {np.__version__} "
        f"({blas[0]['internal_api']} {blas[0]['version']}), "
        f"torch {torch.__version__ if torch else 'not installed'}.  ")
    say(f"Threads: {threads} for NumPy's BLAS and {threads} for torch "
        "(`torch.set_num_threads`).  ")
    say(f"Timing: {args.rounds} alternating rounds, each a loop of 4096/batch calls (at least "
        "3); 'best' is the fastest round, 'ratio' the median over rounds of "
        "mlhw_ref time / torch time in the same round (< 1: mlhw_ref faster).\n")

    if torch is not None:
        say(f"Gradients agree with torch autograd: max abs difference "
            f"{check_agreement(w, b, rng):.1e} at batch 128.\n")

    say("## Forward + backward per batch\n")
    say("| batch | mlhw_ref best (µs) | torch best (µs) | ratio mlhw_ref/torch (median) "
        "| textbook `h.T @ delta` best (µs) | ratio textbook/torch (median) |")
    say("|---:|---:|---:|---:|---:|---:|")
    per_sample_batch128 = None
    for n in BATCHES:
        X, y = rng.random((n, 784)), rng.integers(0, 10, n)
        fs = {"numpy": lambda X=X, y=y: numpy_step(X, y, w, b),
              "plain": lambda X=X, y=y: plain_step(X, y, w, b)}
        if torch is not None:
            step, Xt, yt = make_torch_step(w, b), torch.from_numpy(X), torch.from_numpy(y)
            fs["torch"] = lambda step=step, Xt=Xt, yt=yt: step(Xt, yt)
        t = paired(fs, reps_for(n), args.rounds)
        if n == 128:
            per_sample_batch128 = min(t["numpy"]) / n
        if torch is not None:
            ratio = statistics.median(a / c for a, c in zip(t["numpy"], t["torch"]))
            plain = statistics.median(a / c for a, c in zip(t["plain"], t["torch"]))
            say(f"| {n} | {min(t['numpy']) * 1e6:.1f} | {min(t['torch']) * 1e6:.1f} "
                f"| {ratio:.2f} | {min(t['plain']) * 1e6:.1f} | {plain:.2f} |")
        else:
            say(f"| {n} | {min(t['numpy']) * 1e6:.1f} | – | – | {min(t['plain']) * 1e6:.1f} | – |")

    say("\n## The weight-gradient product dW1 = h.T @ delta at batch 1024\n")
    say("h (1024, 784), delta (1024, 32), both C-contiguous; result (784, 32).\n")
    say("| expression | best (µs) | ratio to `h.T @ delta` (median) |")
    say("|---|---:|---:|")
    h, delta = rng.random((1024, 784)), rng.random((1024, 32))
    buf = np.empty((32, 784))
    variants = {
        "`h.T @ delta`": lambda: h.T @ delta,
        "`(delta.T @ h).T` (used by mlhw_ref)": lambda: (delta.T @ h).T,
        "`np.matmul(delta.T, h, out=buf).T` (preallocated)":
            lambda: np.matmul(delta.T, h, out=buf).T,
        "`dgemm(1, h, delta, trans_a=1)`": lambda: dgemm(1.0, h, delta, trans_a=1),
        "`dgemm(1, delta, h, trans_a=1).T`": lambda: dgemm(1.0, delta, h, trans_a=1).T,
    }
    if torch is not None:
        ht, dt = torch.from_numpy(h), torch.from_numpy(delta)
        variants["torch `h.T @ delta`"] = lambda: ht.T @ dt
    t = paired(variants, 10, args.rounds)
    base = t["`h.T @ delta`"]
    for k, v in t.items():
        say(f"| {k} | {min(v) * 1e6:.0f} | {statistics.median(a / c for a, c in zip(v, base)):.2f} |")

    say("\n## Per-sample cost: one sample at a time against a batch of 128\n")
    say("| what | µs per sample | × batch-128 cost per sample |")
    say("|---|---:|---:|")
    Xs = np.asarray(rng.random((2048, 784)) < 0.19, float) * rng.random((2048, 784))  # ~MNIST ink
    ys = rng.integers(0, 10, 2048)
    M.train_epochs(Xs[:4], ys[:4], w, b, epochs=1)  # compile / load the numba kernel
    rows = {
        "`gradients_one_sample` in a Python loop (fwd + bwd)":
            lambda: [M.gradients_one_sample(Xs[i], ys[i], w, b) for i in range(128)],
        "`train_one_sample` in a Python loop (fwd + bwd + update, new lists)":
            lambda: [M.train_one_sample(Xs[i], ys[i], w, b, 0.01) for i in range(128)],
        "`train_epochs` NumPy loop (in place, non-zero pixels only)":
            lambda: M._sgd_numpy(Xs, ys, np.arange(128)[None], [a.copy() for a in w],
                                 [a.copy() for a in b], 0.01),
        "`train_epochs` numba kernel (in place, non-zero pixels only)":
            lambda: M.train_epochs(Xs, ys, w, b, epochs=1, learning_rate=0.01),
    }
    per_call = {k: 128 for k in rows}
    per_call["`train_epochs` numba kernel (in place, non-zero pixels only)"] = 2048
    if torch is not None:
        step = make_torch_step(w, b)
        Xt, yt = torch.from_numpy(Xs), torch.from_numpy(ys)
        rows["torch autograd, batch 1, in a Python loop (fwd + bwd)"] = \
            lambda: [step(Xt[i:i + 1], yt[i:i + 1]) for i in range(128)]
        per_call["torch autograd, batch 1, in a Python loop (fwd + bwd)"] = 128
    t = paired(rows, 1, max(5, args.rounds // 2))
    for k, v in t.items():
        us = min(v) / per_call[k]
        say(f"| {k} | {us * 1e6:.1f} | {us / per_sample_batch128:.1f} |")
    say(f"| mlhw_ref `forward_batch` + `backward_batch`, batch 128 | "
        f"{per_sample_batch128 * 1e6:.2f} | 1.0 |")

    say(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
