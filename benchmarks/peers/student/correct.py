import numpy as np


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


def chain_backward(u, h, y, w):
    l, m = u.shape
    g = np.zeros((l, m))
    g[l - 1] = (1.0 - np.tanh(u[l - 1]) ** 2) * (h[l] - y) / m
    for k in range(l - 1, 0, -1):
        g[k - 1] = (1.0 - np.tanh(u[k - 1]) ** 2) * g[k] * w[k]
    return g
