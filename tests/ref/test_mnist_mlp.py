"""The MNIST MLP reference (assignment 4, Part B): gradients, SGD steps, training."""

from __future__ import annotations

import warnings
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlhw_ref import mnist_mlp as M
from mlhw_ref.datasets.mnist import as_float, load_mnist

small_sizes = st.lists(st.integers(1, 6), min_size=1, max_size=3).flatmap(
    lambda hidden: st.tuples(st.integers(2, 7), st.just(hidden), st.integers(2, 5))
).map(lambda t: (t[0], *t[1], t[2]))


def random_net(sizes, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, scale, (a, b)) for a, b in pairwise(sizes)]
    biases = [rng.normal(0, scale, b) for b in sizes[1:]]
    return weights, biases


def copies(params):
    return [p.copy() for p in params]


def central_differences(f, params, eps=1e-6):
    """d f / d p for every entry of every array in params (perturbed in place, restored)."""
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = f()
            p[idx] = old - eps
            down = f()
            p[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def assert_grads_close(analytic, numeric, what):
    for l, (a, n) in enumerate(zip(analytic, numeric)):
        assert a.shape == n.shape, f"{what}[{l}] shape {a.shape}, expected {n.shape}"
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7, err_msg=f"{what}[{l}]")


# --- initialisation -------------------------------------------------------------------------

def test_init_weights_shapes_and_variance():
    Ws = [[] for _ in range(3)]
    for seed in range(20):
        weights, biases = M.init_weights(np.random.default_rng(seed))
        assert [W.shape for W in weights] == [(784, 32), (32, 32), (32, 10)]
        assert [b.shape for b in biases] == [(32,), (32,), (10,)]
        assert all(np.all(b == 0) for b in biases)
        for l, W in enumerate(weights):
            Ws[l].append(W)
    for W, fan in zip(Ws, [784, 32, 32]):
        var = np.concatenate([w.ravel() for w in W]).var()
        assert abs(var * fan - 1) < 0.05, f"variance {var:.4g}, expected 1/{fan}"


def test_init_weights_is_deterministic_given_rng():
    a, _ = M.init_weights(np.random.default_rng(7))
    b, _ = M.init_weights(np.random.default_rng(7))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


# --- forward --------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(sizes=small_sizes, seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6))
def test_dataset_metrics_agree_with_per_sample_ones(sizes, seed, n):
    weights, biases = random_net(sizes, seed)
    rng = np.random.default_rng(seed)
    X, y = rng.random((n, sizes[0])), rng.integers(0, sizes[-1], n)
    per_sample = [M.feed_forward_sample(X[i], y[i], weights, biases) for i in range(n)]
    loss, acc = M.feed_forward_dataset(X, y, weights, biases)
    assert loss == pytest.approx(np.mean([p[0] for p in per_sample]), rel=1e-12)
    assert acc == pytest.approx(np.mean([np.argmax(p[1]) == y[i]
                                         for i, p in enumerate(per_sample)]))
    for _, guess in per_sample:
        assert guess.shape == (sizes[-1],) and guess.sum() == 1 and set(guess) <= {0.0, 1.0}


def test_sample_loss_is_minus_log_softmax_of_label():
    weights, biases = random_net((4, 3, 5), 0)
    x = np.array([0.1, 0.0, 0.7, 1.0])
    z = 1 / (1 + np.exp(-(x @ weights[0] + biases[0]))) @ weights[1] + biases[1]
    p = np.exp(z) / np.exp(z).sum()
    loss, guess = M.feed_forward_sample(x, 2, weights, biases)
    assert loss == pytest.approx(-np.log(p[2]), rel=1e-12)
    assert np.argmax(guess) == np.argmax(p)


def test_forward_is_stable_for_huge_pre_activations():
    weights, biases = random_net((6, 4, 4, 3), 1, scale=1e4)
    X = np.random.default_rng(0).random((5, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, _ = M.feed_forward_dataset(X, np.array([0, 1, 2, 0, 1]), weights, biases)
        dW, db = M.backward_batch(X, np.array([0, 1, 2, 0, 1]), weights, biases)
    assert np.isfinite(loss) and loss > 0
    assert all(np.all(np.isfinite(g)) for g in dW + db)


def test_softmax_rows_sum_to_one_and_shift_invariant():
    z = np.random.default_rng(0).normal(0, 1e3, (4, 7))
    s = M.softmax(z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    np.testing.assert_allclose(M.softmax(z + 123.0), s, atol=1e-15)


# --- gradients ------------------------------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(sizes=small_sizes, seed=st.integers(0, 2**32 - 1))
def test_gradients_one_sample_match_finite_differences(sizes, seed):
    weights, biases = random_net(sizes, seed)
    rng = np.random.default_rng(seed + 1)
    x, label = rng.random(sizes[0]), int(rng.integers(sizes[-1]))
    dW, db = M.gradients_one_sample(x, label, weights, biases)

    def loss():
        return M.feed_forward_sample(x, label, weights, biases)[0]

    assert_grads_close(dW, central_differences(loss, weights), "weight_grads")
    assert_grads_close(db, central_differences(loss, biases), "bias_grads")


@settings(max_examples=20, deadline=None)
@given(sizes=small_sizes, seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
def test_backward_batch_matches_finite_differences_of_mean_loss(sizes, seed, n):
    weights, biases = random_net(sizes, seed)
    rng = np.random.default_rng(seed + 2)
    X, y = rng.random((n, sizes[0])), rng.integers(0, sizes[-1], n)
    _, cache = M.forward_batch(X, y, weights, biases)
    dW, db = M.backward_batch(X, y, weights, biases, cache=cache)

    def loss():
        return M.forward_batch(X, y, weights, biases)[0]

    assert_grads_close(dW, central_differences(loss, weights), "weight_grads")
    assert_grads_close(db, central_differences(loss, biases), "bias_grads")
    # The batch gradient is the mean of the per-sample ones.
    per = [M.gradients_one_sample(X[i], y[i], weights, biases) for i in range(n)]
    for l in range(len(weights)):
        np.testing.assert_allclose(dW[l], np.mean([p[0][l] for p in per], axis=0), atol=1e-13)
        np.testing.assert_allclose(db[l], np.mean([p[1][l] for p in per], axis=0), atol=1e-13)


def test_full_size_gradients_match_finite_differences_on_a_slice():
    weights, biases = M.init_weights(np.random.default_rng(3))
    x = as_float(load_mnist().X_train[0])
    label = 5
    dW, _ = M.gradients_one_sample(x, label, weights, biases)
    for l, (i, j) in [(0, (300, 4)), (0, (400, 31)), (1, (7, 9)), (2, (31, 5))]:
        W = weights[l]
        old, eps = W[i, j], 1e-6
        W[i, j] = old + eps
        up = M.feed_forward_sample(x, label, weights, biases)[0]
        W[i, j] = old - eps
        down = M.feed_forward_sample(x, label, weights, biases)[0]
        W[i, j] = old
        assert dW[l][i, j] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-9)


# --- SGD ------------------------------------------------------------------------------------

def test_train_one_sample_is_one_manual_step_and_leaves_inputs_alone():
    weights, biases = random_net((5, 4, 3, 3), 4)
    w0, b0 = copies(weights), copies(biases)
    x, label, lr = np.linspace(0, 1, 5), 1, 0.25
    dW, db = M.gradients_one_sample(x, label, weights, biases)
    new_w, new_b = M.train_one_sample(x, label, weights, biases, learning_rate=lr)
    for new, old, g in zip(new_w + new_b, w0 + b0, dW + db):
        np.testing.assert_array_equal(new, old - lr * g)
    assert all(np.array_equal(a, b) for a, b in zip(weights + biases, w0 + b0)), "mutated"
    assert all(n is not o for n, o in zip(new_w + new_b, weights + biases))
    # One step downhill lowers this sample's loss for a small enough rate.
    small_w, small_b = M.train_one_sample(x, label, weights, biases, learning_rate=1e-3)
    assert (M.feed_forward_sample(x, label, small_w, small_b)[0]
            < M.feed_forward_sample(x, label, weights, biases)[0])


def manual_sgd(X, y, weights, biases, order, lr):
    for i in order:
        weights, biases = M.train_one_sample(X[i], y[i], weights, biases, lr)
    return weights, biases


def sparse_inputs(rng, n, d):
    X = rng.random((n, d))
    X[rng.random((n, d)) < 0.6] = 0.0  # exact zeros, like MNIST's background
    return X


@pytest.mark.slow  # the first call compiles the numba kernel (seconds, then cached on disk)
@pytest.mark.parametrize("sizes", [(9, 5, 4, 3), (9, 3), (9, 4, 3, 4, 3)])
def test_train_epochs_equals_repeated_train_one_sample(sizes):
    rng = np.random.default_rng(5)
    weights, biases = random_net(sizes, 6, scale=0.5)
    w0, b0 = copies(weights), copies(biases)
    X, y = sparse_inputs(rng, 25, sizes[0]), rng.integers(0, sizes[-1], 25)
    got_w, got_b = M.train_epochs(X, y, weights, biases, epochs=2, learning_rate=0.2,
                                  rng=np.random.default_rng(11))
    perm = np.random.default_rng(11)
    order = np.concatenate([perm.permutation(25), perm.permutation(25)])
    exp_w, exp_b = manual_sgd(X, y, weights, biases, order, 0.2)
    for g, e in zip(got_w + got_b, exp_w + exp_b):
        np.testing.assert_allclose(g, e, rtol=1e-11, atol=1e-13)
    assert all(np.array_equal(a, b) for a, b in zip(weights + biases, w0 + b0)), "mutated"
    # Without rng the samples are visited in the given order.
    got_w, _ = M.train_epochs(X, y, weights, biases, epochs=1, learning_rate=0.2)
    exp_w, _ = manual_sgd(X, y, weights, biases, range(25), 0.2)
    np.testing.assert_allclose(got_w[0], exp_w[0], rtol=1e-11, atol=1e-13)


@pytest.mark.slow
def test_numba_kernel_agrees_with_numpy_loop():
    kernel = M._compiled_sgd()
    assert kernel is not None, "numba is a dependency; the compiled kernel should load"
    rng = np.random.default_rng(8)
    weights, biases = random_net((30, 8, 6, 10), 9, scale=0.5)
    X, y = sparse_inputs(rng, 40, 30), rng.integers(0, 10, 40)
    order = np.stack([rng.permutation(40) for _ in range(3)])
    a_w, a_b = copies(weights), copies(biases)
    b_w, b_b = copies(weights), copies(biases)
    kernel(X, y.astype(np.intp), order, *a_w, *a_b, 0.1)
    M._sgd_numpy(X, y.astype(np.intp), order, b_w, b_b, 0.1)
    for a, b in zip(a_w + a_b, b_w + b_b):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    assert not np.allclose(a_w[0], weights[0]), "the kernel did not train"


def test_train_epochs_rejects_raw_pixels_and_bad_labels():
    weights, biases = random_net((4, 3, 2), 0)
    with pytest.raises(TypeError, match="as_float"):
        M.train_epochs(np.zeros((3, 4), np.uint8), np.zeros(3, int), weights, biases)
    with pytest.raises(ValueError, match=r"labels must be in 0..1; got 0..2"):
        M.train_epochs(np.zeros((3, 4)), np.array([0, 1, 2]), weights, biases)
    with pytest.raises(ValueError, match=r"X must be \(n, 4\)"):
        M.train_epochs(np.zeros((3, 5)), np.zeros(3, int), weights, biases)


@pytest.mark.slow
def test_mnist_mlp_reaches_85_percent_on_the_subset_in_three_epochs():
    m = load_mnist()
    weights, biases = M.init_weights(np.random.default_rng(0))
    start = M.feed_forward_dataset(as_float(m.X_test), m.y_test, weights, biases)
    weights, biases = M.train_epochs(as_float(m.X_train), m.y_train, weights, biases,
                                     epochs=3, learning_rate=0.03,
                                     rng=np.random.default_rng(1))
    loss, acc = M.feed_forward_dataset(as_float(m.X_test), m.y_test, weights, biases)
    assert acc >= 0.85, f"test accuracy {acc:.3f} after 3 epochs (lr 0.03)"
    assert loss < start[0] / 4, f"test loss {loss:.3f}, was {start[0]:.3f} before training"
