"""Benchmark: PLSA by EM in mlhw_ref against scikit-learn's KL-NMF and the PyPI `plsa` package.

    /work/main/.venv/bin/python benchmarks/plsa.py [--quick] [--out benchmarks/RESULTS_plsa.md]

Cases: Reuters (395 x 4258, from the `lda` package) with K = 10 and K = 50, and a synthetic
PLSA corpus of 20,000 x 30,000 with about 2M non-zeros, K = 50 (``--quick``: 4,000 x 6,000,
200k non-zeros, Reuters K = 10 only). Every method starts from the same alpha0, beta0 and runs
the same number of iterations; the final log-likelihood of each is recomputed here with
``mlhw_ref.plsa.log_likelihood`` (one objective for all) and shown per token.

Each method runs in its own subprocess so that its peak memory can be read (VmHWM, reset
before the fit through /proc/self/clear_refs). Seconds per iteration are marginal:
(time of n iterations - time of 1 iteration) / (n - 1), so one-off set-up (format conversion,
tiling, JIT load) is not counted; wall-clock and CPU time are both reported, because the
machine is shared.

Peers:
* scikit-learn ``NMF(beta_loss="kullback-leibler", solver="mu")``: the same objective up to
  normalisation (W = doc length x alpha, H = beta); W and H are mapped back to alpha, beta.
* PyPI ``plsa`` 0.6.0 (dense (K, M, N) arrays). It needs setuptools<81 (pkg_resources) and
  its ``__init__`` downloads NLTK data, so it runs in its own venv (benchmarks/.env-plsa,
  made here on first use) and its algorithm modules are imported under a stub package with
  a stub ``Corpus`` that holds the count matrix (its text pipeline is not used). Its EM
  iterates are the same as PLSA's from the same posterior; only where it fits in memory.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PLSA_ENV = HERE / ".env-plsa"
PLSA_PKG = "plsa==0.6.0"

# ------------------------------------------------------------------------------------------
# worker side (runs in a subprocess; the plsa-package worker runs in .env-plsa, numpy only)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _fit_mlhw(engine, untiled=False):
    from mlhw_ref import plsa_fast
    from mlhw_ref.plsa import fit_plsa

    if untiled:  # one tile holding every word: the plain CSR-order loop
        plsa_fast.TILE_BYTES = 1 << 62

    def fit(X, alpha0, beta0, n):
        alpha, beta, _ = fit_plsa(X, alpha0, beta0, n, engine=engine)
        return alpha, beta

    return fit


def _fit_sklearn(X, alpha0, beta0, n):
    import warnings

    from sklearn.decomposition import NMF

    doclen = np.asarray(X.sum(axis=1)).ravel()
    model = NMF(
        n_components=alpha0.shape[1],
        init="custom",
        solver="mu",
        beta_loss="kullback-leibler",
        max_iter=n,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: we ask for exactly n iterations
        W = model.fit_transform(X, W=alpha0 * doclen[:, None], H=beta0.copy())
    H = model.components_
    s = H.sum(axis=1)
    beta = H / np.where(s > 0, s, 1)[:, None]
    alpha = W * s[None, :]
    alpha /= np.where(alpha.sum(axis=1) > 0, alpha.sum(axis=1), 1)[:, None]
    return alpha, beta


@functools.cache
def _import_plsa_package():
    """The package's algorithm modules, without its __init__ (which fetches NLTK data)."""
    import importlib.util
    import types

    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # not this file
    spec = importlib.util.find_spec("plsa")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the PyPI package plsa is not installed in this interpreter")
    pkg = types.ModuleType("plsa")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["plsa"] = pkg

    class Corpus:  # what BasePLSA and PlsaResult use of the real Corpus
        def __init__(self, counts):
            self.doc_word = np.asarray(counts, dtype=float)
            self.n_docs, self.n_words = self.doc_word.shape
            self.vocabulary = {j: f"w{j}" for j in range(self.n_words)}

        def get_doc_word(self, tf_idf):
            return self.doc_word / self.doc_word.sum()

    stub = types.ModuleType("plsa.corpus")
    stub.Corpus = Corpus
    sys.modules["plsa.corpus"] = stub
    from plsa.algorithms import PLSA

    return PLSA, Corpus


def _fit_plsa_package(X, alpha0, beta0, n):
    PLSA, Corpus = _import_plsa_package()
    model = PLSA(Corpus(X), alpha0.shape[1], tf_idf=False)
    # start from the posterior of (alpha0, beta0): its first M-step then equals ours
    g = alpha0.T[:, :, None] * beta0[:, None, :]  # (K, M, N)
    s = g.sum(axis=0)
    model._conditional = g / np.where(s > 0, s, 1)
    del g
    model.fit(eps=0.0, max_iter=n, warmup=0)
    # p(t|d) ∝ p(d|t) p(t); p(w|t) as is
    alpha = model._doc_given_topic * model._topic[None, :]
    alpha /= alpha.sum(axis=1, keepdims=True)
    return alpha, model._word_given_topic.T.copy()


def worker(method: str, case: Path, n_iter: int, repeat: int, out: Path) -> None:
    if method == "plsa-package":
        X = np.load(case / "counts_dense.npy")
        fit = _fit_plsa_package
    else:
        import scipy.sparse as sp

        X = sp.load_npz(case / "counts.npz").tocsr()
        makers = {  # built lazily: the untiled maker changes a module-level setting
            "mlhw-numba": lambda: _fit_mlhw("numba"),
            "mlhw-numpy": lambda: _fit_mlhw("numpy"),
            "mlhw-numba-untiled": lambda: _fit_mlhw("numba", untiled=True),
            "sklearn": lambda: _fit_sklearn,
        }
        fit = makers[method]()
    alpha0 = np.load(case / "alpha0.npy")
    beta0 = np.load(case / "beta0.npy")
    # untimed warm-up on a few documents: lazy imports, JIT cache loading, first-call costs
    m = min(X.shape[0], max(50, 2 * alpha0.shape[1]))  # the plsa package wants M > K
    fit(X[:m], alpha0[:m], beta0, 1)
    rss0 = _status_kb("VmRSS")
    peak_reset = _reset_peak()
    times = {1: [], n_iter: []}  # the last fit run is the n_iter one: its result is saved
    for _ in range(repeat):
        for n, ts in times.items():
            w, c = time.perf_counter(), time.process_time()
            alpha, beta = fit(X, alpha0, beta0, n)
            ts.append((time.perf_counter() - w, time.process_time() - c))
    lo = np.min(times[1], axis=0)
    hi = np.min(times[n_iter], axis=0)
    np.savez(out, alpha=alpha, beta=beta)
    print(
        json.dumps(
            {
                "wall_per_iter": float(hi[0] - lo[0]) / (n_iter - 1),
                "cpu_per_iter": float(hi[1] - lo[1]) / (n_iter - 1),
                "wall_first": float(lo[0]),
                "rss_before_mb": rss0 / 1024,
                "peak_mb": _status_kb("VmHWM") / 1024,
                "peak_is_fit_only": peak_reset,
            }
        )
    )


# ------------------------------------------------------------------------------------------
# parent side


def ensure_plsa_env() -> str | None:
    """Python of the plsa-package venv, creating it if needed; None (with a reason) if not."""
    py = PLSA_ENV / "bin" / "python"
    stamp = PLSA_ENV / ".installed-plsa-0.6.0"
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PLSA_ENV)], check=True)
        if not stamp.exists():
            subprocess.run(
                [str(py), "-m", "pip", "install", "-q", PLSA_PKG, "setuptools<81"], check=True
            )
            stamp.touch()
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"plsa package not runnable: could not set up {PLSA_ENV}: {e}", file=sys.stderr)
        return None
    return str(py)


def copy_bandwidth(mib: int) -> float:
    """Best-of-7 np.copyto bandwidth, GB/s counted as bytes read + bytes written."""
    a = np.ones(mib * 2**20 // 8)
    b = np.empty_like(a)
    np.copyto(b, a)
    best = min(_timed(np.copyto, b, a) for _ in range(7))
    return 2 * a.nbytes / best / 1e9


def _timed(f, *args) -> float:
    t = time.perf_counter()
    f(*args)
    return time.perf_counter() - t


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_worker(python: str, method: str, case: Path, n_iter: int, repeat: int) -> dict:
    out = case / f"{method}.npz"
    cmd = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        method,
        "--case",
        str(case),
        "--n-iter",
        str(n_iter),
        "--repeat",
        str(repeat),
        "--result",
        str(out),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    p = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=str(HERE.parent), check=False
    )
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]}
    res = json.loads(p.stdout.strip().splitlines()[-1])
    with np.load(out) as z:
        res["alpha"], res["beta"] = z["alpha"], z["beta"]
    return res


def tile_traffic(X, K: int) -> dict:
    """Bytes one EM iteration moves, for plain CSR order and for the tiled numba loop."""
    from mlhw_ref import plsa_fast

    M, N = X.shape
    tiles = plsa_fast._build_tiles(
        X.indptr, X.indices, X.data.astype(float), N, plsa_fast.tile_width(K)
    )
    n_seg = int(tiles[0][-1])
    row = K * 8
    stream = X.nnz * (X.indices.itemsize + 8)
    epilogue = (M + N) * row * 6  # zero, scale, normalise the accumulators
    return {
        "n_seg": n_seg,
        "n_tiles": len(tiles[0]) - 1,
        # CSR order: per non-zero a beta^T row read and its accumulator row read + written
        "csr": stream + X.nnz * 3 * row + M * 3 * row + epilogue,
        # tiled: per (doc, tile) segment an alpha row read + accumulator row read/written;
        # beta^T and its accumulator cross the memory bus once per tile (then stay in L2)
        "tiled": stream + n_seg * (16 + 3 * row) + N * 3 * row + epilogue,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    ap.add_argument("--out", type=Path, help="write the Markdown report here")
    ap.add_argument("--no-plsa-package", action="store_true", help="skip the PyPI plsa peer")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--case", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--n-iter", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.case, args.n_iter, args.repeat, args.result)
        return
    report = Benchmark(quick=args.quick, plsa_package=not args.no_plsa_package).run()
    print(report)
    if args.out:
        args.out.write_text(report)
        print(f"written to {args.out}", file=sys.stderr)


class Benchmark:
    def __init__(self, quick: bool, plsa_package: bool):
        self.quick = quick
        self.plsa_python = ensure_plsa_env() if plsa_package else None
        self.lines: list[str] = []

    def cases(self):
        import scipy.sparse as sp

        from mlhw_ref.datasets import load_reuters, sample_plsa_corpus

        X = sp.csr_array(load_reuters().counts, dtype=np.float64)
        yield "Reuters", X, 10, 20
        if not self.quick:
            yield "Reuters", X, 50, 6
        M, N, nnz = (4000, 6000, 200_000) if self.quick else (20_000, 30_000, 2_000_000)
        t = time.perf_counter()
        c = sample_plsa_corpus(M, N, 50, rng=np.random.default_rng(0), nnz=nnz)
        self.sample_seconds = time.perf_counter() - t
        yield (
            f"synthetic {M:,} x {N:,}",
            sp.csr_array(c.counts, dtype=np.float64),
            50,
            (4 if self.quick else 6),
        )

    def methods(self, name: str, X, K: int) -> list[tuple[str, str, int]]:
        """(method, python, repeat) for this case."""
        big = X.nnz > 1_000_000
        out = [
            ("mlhw-numba", sys.executable, 3 if not big else 2),
            ("mlhw-numba-untiled", sys.executable, 3 if not big else 1),
            ("mlhw-numpy", sys.executable, 2 if not big else 1),
            ("sklearn", sys.executable, 1),
        ]
        if self.plsa_python:
            out.append(("plsa-package", self.plsa_python, 1))
        return out

    def run(self) -> str:
        import numba
        import scipy
        import sklearn

        from mlhw_ref.plsa import log_likelihood, random_start

        L = self.lines
        started = time.strftime("%Y-%m-%d %H:%M")
        load0 = _loadavg()
        bw = copy_bandwidth(64 if self.quick else 512)
        cmd = "/work/main/.venv/bin/python benchmarks/plsa.py" + (" --quick" if self.quick else "")
        results = []
        with tempfile.TemporaryDirectory(prefix="plsa-bench-") as tmp:
            for ci, (name, X, K, n_iter) in enumerate(self.cases()):
                case = Path(tmp) / f"case{ci}"
                case.mkdir()
                import scipy.sparse as sp

                sp.save_npz(case / "counts.npz", sp.csr_matrix(X), compressed=False)
                M, N = X.shape
                alpha0, beta0 = random_start(M, N, K, np.random.default_rng(1234))
                np.save(case / "alpha0.npy", alpha0)
                np.save(case / "beta0.npy", beta0)
                dense_gb = 3 * K * M * N * 8 / 1e9  # the package keeps ~3 (K, M, N) arrays
                if dense_gb < 8:
                    np.save(case / "counts_dense.npy", X.toarray())
                tokens = X.data.sum()
                rows = []
                for method, python, repeat in self.methods(name, X, K):
                    if method == "plsa-package" and dense_gb >= 8:
                        rows.append(
                            (
                                method,
                                {
                                    "error": f"not run: needs ~{dense_gb:,.0f} GB "
                                    f"(three dense (K, M, N) float64 arrays)"
                                },
                            )
                        )
                        continue
                    print(f"[{name} K={K}] {method} ...", file=sys.stderr, flush=True)
                    r = run_worker(python, method, case, n_iter, repeat)
                    if "alpha" in r:
                        r["ll_token"] = log_likelihood(X, r.pop("alpha"), r.pop("beta")) / tokens
                    rows.append((method, r))
                ll0 = log_likelihood(X, alpha0, beta0) / tokens
                results.append((name, X, K, n_iter, ll0, rows))
        load1 = _loadavg()

        L += ["# PLSA benchmark: mlhw_ref against scikit-learn and the PyPI `plsa` package", ""]
        L += [f"Command: `{cmd}` (started {started}; total {time.perf_counter() - T0:.0f} s).", ""]
        L += [
            (
                f"Machine: {platform.processor() or platform.machine()}, {_cpu_model()}, "
                f"{os.cpu_count()} cores, {_mem_gb():.0f} GB; Python {platform.python_version()}, "
                f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}, "
                f"scikit-learn {sklearn.__version__}, plsa 0.6.0 (own venv)."
            )
        ]
        L += [
            (
                "**Shared machine**: other engineers' jobs ran on the same 2 cores "
                f"(load average {load0} at the start, {load1} at the end), so wall-clock times "
                "are noisy; CPU seconds are less so. All methods of a case ran back to back in "
                "one run, each in its own process, single-threaded (OMP/BLAS threads = 1)."
            ),
            "",
        ]
        L += [
            (
                f"Copy bandwidth (`np.copyto` of {64 if self.quick else 512} MiB, best of 7, "
                f"read + write bytes): **{bw:.1f} GB/s**."
            ),
            "",
        ]
        if hasattr(self, "sample_seconds"):
            L += [
                (
                    f"Sampling the synthetic corpus (`sample_plsa_corpus(..., nnz=...)`) took "
                    f"{self.sample_seconds:.1f} s."
                ),
                "",
            ]
        for name, X, K, n_iter, ll0, rows in results:
            self._table(name, X, K, n_iter, ll0, rows)
        self._floor(results, bw)
        self._notes()
        return "\n".join(L) + "\n"

    def _table(self, name, X, K, n_iter, ll0, rows) -> None:
        L = self.lines
        M, N = X.shape
        L += [f"## {name}, K = {K}", ""]
        L += [
            (
                f"M = {M:,}, N = {N:,}, non-zeros = {X.nnz:,}, tokens = {int(X.data.sum()):,}; "
                f"{n_iter} iterations from the same random start, timed as (T(n) - T(1)) / (n - 1) (per-token log-likelihood "
                f"there: {ll0:.5f})."
            ),
            "",
        ]
        L += [
            (
                "| method | s / iteration (wall) | s / iteration (CPU) | speed-up vs scikit-learn (CPU) "
                "| peak RSS during fit (MB) | per-token log-likelihood after "
                f"{n_iter} iterations |"
            ),
            "|---|---:|---:|---:|---:|---:|",
        ]
        ref = dict(rows).get("sklearn", {}).get("cpu_per_iter")
        for method, r in rows:
            if "error" in r:
                L.append(f"| {method} | – | – | – | – | {r['error']} |")
                continue
            speed = f"{ref / r['cpu_per_iter']:.1f}x" if ref else "–"
            L.append(
                f"| {method} | {r['wall_per_iter']:.4f} | {r['cpu_per_iter']:.4f} | {speed} "
                f"| {r['peak_mb']:,.0f} (+{r['peak_mb'] - r['rss_before_mb']:,.0f}) "
                f"| {r['ll_token']:.6f} |"
            )
        L += [
            "",
            (
                "Peak RSS: the worker process's VmHWM, reset just before the fits; in brackets "
                "the growth over the RSS with the inputs loaded."
            ),
            "",
        ]
        self.last = (name, X, K, rows)

    def _floor(self, results, bw) -> None:
        """How far the numba engine is from what the machine allows, on the largest case."""
        L = self.lines
        name, X, K, _, _, rows = results[-1]
        r = dict(rows).get("mlhw-numba")
        if not r or "error" in r:
            return
        traffic = tile_traffic(X, K)
        incache = self._in_cache_rate(K)
        t = r["cpu_per_iter"]
        f_csr = traffic["csr"] / (bw * 1e9)
        f_tiled = traffic["tiled"] / (bw * 1e9)
        f_compute = incache * X.nnz
        L += [f"## Distance to the machine's floor ({name}, K = {K}, numba engine)", ""]
        L += [
            (
                "Bytes one EM iteration moves (float64, int32 indices; a row of alpha or beta^T "
                f"is K x 8 = {K * 8} B):"
            ),
            "",
        ]
        L += [
            (
                f"* plain CSR order: every non-zero reads a row of beta^T and reads and writes "
                f"a row of its accumulator, at random word positions: "
                f"**{traffic['csr'] / 1e9:.2f} GB** -> {f_csr:.3f} s at {bw:.1f} GB/s."
            ),
            (
                f"* the tiled loop ({traffic['n_tiles']} column tiles, {traffic['n_seg']:,} "
                f"(document, tile) segments): beta^T and its accumulator cross the bus once "
                f"per tile, alpha rows once per segment: **{traffic['tiled'] / 1e9:.2f} GB** "
                f"-> {f_tiled:.3f} s."
            ),
            (
                f"* arithmetic: the same loop on a corpus whose arrays all fit in L2 runs at "
                f"{incache * 1e9:.1f} ns per non-zero (K = {K}); times {X.nnz:,} non-zeros "
                f"= {f_compute:.3f} s."
            ),
            "",
        ]
        floor = max(f_tiled, f_compute)
        L += [
            (
                f"Measured: **{t:.3f} s** per iteration (CPU). Ratio to the plain-CSR memory "
                f"floor: {t / f_csr:.2f}; to the floor of the tiled loop, max(memory, in-cache "
                f"arithmetic) = {floor:.3f} s: **{t / floor:.2f}**."
            ),
            "",
        ]
        u = dict(rows).get("mlhw-numba-untiled")
        if u and "error" not in u:
            L += [
                (
                    f"The same loop without tiling (plain CSR order) took {u['cpu_per_iter']:.3f} s "
                    f"per iteration: {u['cpu_per_iter'] / f_csr:.2f} x its memory floor "
                    f"({f_csr:.3f} s), and {u['cpu_per_iter'] / t:.1f} x the tiled loop."
                ),
                "",
            ]

    def _in_cache_rate(self, K: int) -> float:
        """CPU seconds per non-zero of the numba engine when everything fits in L2."""
        import scipy.sparse as sp

        from mlhw_ref.datasets import sample_plsa_corpus
        from mlhw_ref.plsa import fit_plsa, random_start

        c = sample_plsa_corpus(1000, 1000, K, rng=np.random.default_rng(2), nnz=100_000)
        X = sp.csr_array(c.counts, dtype=np.float64)
        a0, b0 = random_start(1000, 1000, K, np.random.default_rng(3))
        fit_plsa(X, a0, b0, 1, engine="numba")

        def cpu(n):
            t = time.process_time()
            fit_plsa(X, a0, b0, n, engine="numba")
            return time.process_time() - t

        per_iter = min((cpu(21) - cpu(1)) / 20 for _ in range(3))
        return per_iter / X.nnz

    def _notes(self) -> None:
        self.lines += [
            "## Notes",
            "",
            (
                "* Same start for every method: alpha0, beta0 from `mlhw_ref.plsa.random_start` "
                "(seed 1234). scikit-learn gets W0 = doc length x alpha0, H0 = beta0; the plsa "
                "package gets the posterior of (alpha0, beta0) as its initial p(t|d,w). "
                "scikit-learn's multiplicative updates alternate (W, then H with the new W), so "
                "its iterates differ from EM's while the objective is the same; the plsa package "
                "also zeroes probabilities below 2.2e-16, hence tiny differences in the last digits."
            ),
            (
                "* mlhw-numba-untiled is the same compiled loop with a single column tile (plain "
                "CSR order), to show what the tiling buys; mlhw-numpy is the readable NumPy/SciPy "
                "engine in `mlhw_ref/plsa.py`. All three give the same iterates (tests: 1e-10)."
            ),
            (
                "* The log-likelihoods are all recomputed by `mlhw_ref.plsa.log_likelihood` "
                "(P(d) = 1/M) from each method's alpha, beta, divided by the number of tokens."
            ),
            (
                "* The plsa package allocates (K, M, N) arrays, so it only runs on Reuters; its "
                "`__init__` downloads NLTK data, so its algorithm modules are imported under a stub "
                "package with a stub `Corpus` holding the counts (no network)."
            ),
        ]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def _mem_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError):
        return float("nan")


T0 = time.perf_counter()

if __name__ == "__main__":
    main()
