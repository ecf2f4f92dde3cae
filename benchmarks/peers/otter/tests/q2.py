OK_FORMAT = True

# deep_chain q2: chain_backward(u, h, y, w) -> g, g_k = dJ/du_k with J = 1/(2m)||y - h_l||^2,
# checked against a reference and against central finite differences. 20 points.
# Each case runs in its own copy of the notebook's globals, so each one defines the reference.
_REFERENCE = r"""
>>> import numpy as _np
>>> def _ref_fwd(x, w):
...     u, h = _np.empty((len(w), len(x))), _np.empty((len(w) + 1, len(x)))
...     h[0] = x
...     for k in range(len(w)):
...         u[k] = h[k] * w[k]
...         h[k + 1] = _np.tanh(u[k])
...     return u, h
>>> def _ref_backward(u, h, y, w):
...     l, m = u.shape
...     g = _np.empty((l, m))
...     g[l - 1] = (1.0 - _np.tanh(u[l - 1]) ** 2) * (h[l] - y) / m
...     for k in range(l - 1, 0, -1):
...         g[k - 1] = (1.0 - _np.tanh(u[k - 1]) ** 2) * g[k] * w[k]
...     return g
"""

test = {
    "name": "q2",
    "points": 20,
    "suites": [
        {
            "cases": [
                {
                    "code": _REFERENCE + r"""
>>> _u, _h = _ref_fwd(_np.array([-0.5, 0.5]), _np.ones(3))
>>> _np.shape(chain_backward(_u, _h, _np.array([-0.5, 0.5]), _np.ones(3)))
(3, 2)
""",
                    "hidden": False,
                    "locked": False,
                },
                {
                    "code": _REFERENCE + r"""
>>> _rng = _np.random.default_rng(3)
>>> _ok = []
>>> for _l, _m in [(1, 4), (7, 5), (50, 3), (200, 8)]:
...     _x, _y, _w = _rng.normal(size=_m), _rng.normal(size=_m), _rng.normal(1.0, 0.5, size=_l)
...     _u, _h = _ref_fwd(_x, _w)
...     _g = chain_backward(_u.copy(), _h.copy(), _y, _w)
...     _ok.append(_np.allclose(_g, _ref_backward(_u, _h, _y, _w), rtol=1e-8, atol=1e-14))
>>> all(_ok)
True
""",
                    "hidden": True,
                    "locked": False,
                },
                {
                    "code": _REFERENCE + r"""
>>> _rng = _np.random.default_rng(4)
>>> _x, _y, _w = _rng.normal(size=5), _rng.normal(size=5), _rng.normal(1.0, 0.3, size=6)
>>> _u, _h = _ref_fwd(_x, _w)
>>> _g = chain_backward(_u, _h, _y, _w)
>>> def _cost_from(k, uk):
...     h = _np.tanh(uk)
...     for j in range(k + 1, len(_w)):
...         h = _np.tanh(h * _w[j])
...     return float(_np.sum((_y - h) ** 2) / (2 * len(_y)))
>>> _fd = _np.empty_like(_u)
>>> for _k in range(len(_w)):
...     for _i in range(len(_x)):
...         _e = _np.zeros(len(_x)); _e[_i] = 1e-6
...         _fd[_k, _i] = (_cost_from(_k, _u[_k] + _e) - _cost_from(_k, _u[_k] - _e)) / 2e-6
>>> bool(_np.allclose(_g, _fd, rtol=1e-5, atol=1e-9))
True
""",
                    "hidden": True,
                    "locked": False,
                },
            ],
            "scored": True,
            "setup": "",
            "teardown": "",
            "type": "doctest",
        }
    ],
}
