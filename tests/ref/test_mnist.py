"""The MNIST loader: the committed subset, IDX and npz parsing, and the missing-data message."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlhw_ref.datasets.mnist import (
    MNIST,
    MNISTNotFoundError,
    as_float,
    binary_subset,
    load_mnist,
    read_idx,
)

# Per-digit frequencies of the official training and test files (LeCun et al.).
OFFICIAL_TRAIN = np.array([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
OFFICIAL_TEST = np.array([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
# Recorded in docs/DATA.md when the subset was built; changes only if the npz is rebuilt.
SUBSET_DIGEST = "bbd14888ef25aa0b452a669b45bf8feae45654ee2af10723d628f1b5af74be42"


@pytest.fixture(scope="module")
def subset() -> MNIST:
    return load_mnist()


# --- the committed subset ------------------------------------------------------------------

def test_subset_has_documented_shapes_and_dtypes(subset):
    assert subset.X_train.shape == (10_000, 784) and subset.X_train.dtype == np.uint8
    assert subset.X_test.shape == (2_000, 784) and subset.X_test.dtype == np.uint8
    assert subset.y_train.shape == (10_000,) and subset.y_test.shape == (2_000,)
    assert np.issubdtype(subset.y_train.dtype, np.integer)
    assert set(np.unique(subset.y_train)) == set(range(10))


def test_subset_is_stratified_like_the_official_files(subset):
    for y, official in [(subset.y_train, OFFICIAL_TRAIN), (subset.y_test, OFFICIAL_TEST)]:
        expected = y.size * official / official.sum()
        assert np.all(np.abs(np.bincount(y, minlength=10) - expected) < 1.0)


def test_subset_looks_like_handwritten_digits(subset):
    X = subset.X_train.reshape(-1, 28, 28).astype(float)
    # Real MNIST: digits centred by mass in a 20x20 box, a blank border, ~19% ink.
    assert X[:, :2, :].max() == 0 or X[:, :2, :].mean() < 0.05
    assert 0.15 < (X > 0).mean() < 0.25
    assert subset.X_train.max() == 255 and subset.X_train.min() == 0
    assert len({row.tobytes() for row in subset.X_train[:500]}) == 500


def test_subset_content_matches_the_recorded_digest():
    ref = Path(__file__).resolve().parents[2] / "mlhw_ref" / "data" / "mnist_subset.npz"
    with np.load(ref, allow_pickle=False) as z:
        h = hashlib.sha256()
        for key in sorted(k for k in z.files if k != "source"):
            a = np.ascontiguousarray(z[key])
            h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.tobytes())
    assert h.hexdigest() == SUBSET_DIGEST, "mnist_subset.npz changed; update docs/DATA.md"


def test_as_float_scales_to_unit_interval(subset):
    F = as_float(subset.X_test[:50])
    assert F.dtype == np.float64 and F.shape == (50, 784)
    assert F.min() == 0.0 and F.max() == 1.0
    np.testing.assert_array_equal(F * 255, subset.X_test[:50])
    with pytest.raises(TypeError, match="uint8"):
        as_float(F)


def test_binary_subset_keeps_two_digits_relabelled(subset):
    b = binary_subset(subset, digits=(3, 8))
    assert set(np.unique(b.y_train)) == {0, 1}
    assert (b.y_train == 1).sum() == (subset.y_train == 8).sum()
    assert (b.y_test == 0).sum() == (subset.y_test == 3).sum()
    np.testing.assert_array_equal(b.X_train, subset.X_train[np.isin(subset.y_train, (3, 8))])
    for bad in [(1, 1), (0, 10), (-1, 2)]:
        with pytest.raises(ValueError, match="distinct digits"):
            binary_subset(subset, digits=bad)


# --- IDX files written here, with the format's own rules -----------------------------------

def _idx_bytes(a: np.ndarray, type_code: int = 0x08) -> bytes:
    dims = b"".join(struct.pack(">I", d) for d in a.shape)
    return bytes([0, 0, type_code, a.ndim]) + dims + a.astype(a.dtype.newbyteorder(">")).tobytes()


def _write_idx_set(folder: Path, rng, n_train=7, n_test=3, gz=False) -> dict[str, np.ndarray]:
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        data = _idx_bytes(a)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_full_set_from_idx_files_round_trips(tmp_path, gz):
    arrays = _write_idx_set(tmp_path, np.random.default_rng(1), gz=gz)
    m = load_mnist(tmp_path)
    np.testing.assert_array_equal(m.X_train, arrays["train-images-idx3-ubyte"].reshape(7, 784))
    np.testing.assert_array_equal(m.y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(m.X_test, arrays["t10k-images-idx3-ubyte"].reshape(3, 784))
    np.testing.assert_array_equal(m.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert m.X_train.dtype == np.uint8


def test_full_set_found_in_mnist_subdirectory_via_env(tmp_path, monkeypatch):
    _write_idx_set(tmp_path / "mnist", np.random.default_rng(2), n_train=4, n_test=2, gz=True)
    monkeypatch.setenv("MLHW_DATA", str(tmp_path))
    assert load_mnist(full=True).X_train.shape == (4, 784)
    assert load_mnist().X_train.shape == (10_000, 784), "the env var alone must not switch"


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=3),
       code=st.sampled_from([(0x08, ">u1"), (0x09, ">i1"), (0x0B, ">i2"), (0x0C, ">i4"),
                             (0x0D, ">f4"), (0x0E, ">f8")]),
       seed=st.integers(0, 2**32 - 1), gz=st.booleans())
def test_read_idx_round_trips_every_type_code(tmp_path_factory, shape, code, seed, gz):
    type_code, dtype = code
    a = (np.random.default_rng(seed).normal(size=shape) * 50).astype(dtype)
    data = _idx_bytes(a, type_code)
    path = tmp_path_factory.mktemp("idx") / "f"
    path.write_bytes(gzip.compress(data) if gz else data)
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(b, a)


def test_bad_magic_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ValueError, match="not an IDX file.*504b0304"):
        read_idx(path)


def test_swapped_files_are_refused(tmp_path):
    _write_idx_set(tmp_path, np.random.default_rng(3))
    imgs, labels = tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte"
    a, b = imgs.read_bytes(), labels.read_bytes()
    imgs.write_bytes(b), labels.write_bytes(a)
    with pytest.raises(ValueError, match=r"magic 0x00000801, expected 0x00000803"):
        load_mnist(tmp_path)


def test_truncated_idx_is_refused(tmp_path):
    _write_idx_set(tmp_path, np.random.default_rng(4))
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_mnist(tmp_path)


def test_label_count_must_match_image_count(tmp_path):
    _write_idx_set(tmp_path, np.random.default_rng(5))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(6, np.uint8)))
    with pytest.raises(ValueError, match=r"train labels have shape \(6,\) for 7 images"):
        load_mnist(tmp_path)


# --- Keras' mnist.npz -----------------------------------------------------------------------

def test_full_set_from_keras_npz(tmp_path):
    rng = np.random.default_rng(6)
    x_tr = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    x_te = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    y_tr, y_te = rng.integers(0, 10, 5, dtype=np.uint8), rng.integers(0, 10, 2, dtype=np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    for where in (tmp_path, tmp_path / "mnist.npz"):
        m = load_mnist(where)
        np.testing.assert_array_equal(m.X_train, x_tr.reshape(5, 784))
        np.testing.assert_array_equal(m.y_test, y_te)


def test_npz_with_object_arrays_is_not_unpickled(tmp_path):
    obj = np.empty(1, dtype=object)
    np.savez(tmp_path / "mnist.npz", x_train=obj, y_train=obj, x_test=obj, y_test=obj)
    with pytest.raises(ValueError, match="allow_pickle"):
        load_mnist(tmp_path)


def test_npz_with_wrong_keys_says_which(tmp_path):
    np.savez(tmp_path / "mnist.npz", images=np.zeros((2, 784), np.uint8))
    with pytest.raises(ValueError, match=r"lacks the keys \['x_train'"):
        load_mnist(tmp_path)


def test_float_images_are_refused_with_advice(tmp_path):
    z = np.zeros((2, 784))
    np.savez(tmp_path / "mnist.npz", x_train=z, y_train=np.zeros(2, np.uint8), x_test=z,
             y_test=np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match=r"dtype float64.*expected uint8"):
        load_mnist(tmp_path)


# --- missing data ---------------------------------------------------------------------------

def test_missing_data_message_lists_paths_and_how_to_get_them(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"")  # a partial set is not enough
    with pytest.raises(MNISTNotFoundError) as err:
        load_mnist(tmp_path)
    msg = str(err.value)
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "mnist.npz"]:
        assert str(tmp_path / name) in msg or str(tmp_path / "mnist" / name) in msg
    assert "make_mnist_subset.py --full-npz" in msg and "MLHW_DATA" in msg
    assert isinstance(err.value, FileNotFoundError)


def test_full_without_any_directory_says_how_to_name_one(monkeypatch):
    monkeypatch.delenv("MLHW_DATA", raising=False)
    with pytest.raises(MNISTNotFoundError, match="pass data_dir=... or set the environment"):
        load_mnist(full=True)
