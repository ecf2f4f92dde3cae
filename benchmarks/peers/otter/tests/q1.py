OK_FORMAT = True

# deep_chain q1: chain_forward(x, w, b=None) -> (u, h), checked against a reference
# on random inputs (l from 1 to 200 layers, with and without bias). 10 points.
# Each case runs in its own copy of the notebook's globals, so each one defines the reference.
_REFERENCE = r"""
>>> import numpy as _np
>>> def _ref_forward(x, w, b=None):
...     l, m = len(w), len(x)
...     u, h = _np.empty((l, m)), _np.empty((l + 1, m))
...     h[0] = x
...     for k in range(l):
...         u[k] = h[k] * w[k] + (0.0 if b is None else b[k])
...         h[k + 1] = _np.tanh(u[k])
...     return u, h
"""

test = {
    "name": "q1",
    "points": 10,
    "suites": [
        {
            "cases": [
                {
                    "code": _REFERENCE + r"""
>>> _x, _w = _np.array([-0.5, 0.5]), _np.ones(3)
>>> _u, _h = chain_forward(_x, _w)
>>> (_np.shape(_u), _np.shape(_h))
((3, 2), (4, 2))
>>> bool(_np.allclose(_h[0], _x))
True
""",
                    "hidden": False,
                    "locked": False,
                },
                {
                    "code": _REFERENCE + r"""
>>> _rng = _np.random.default_rng(1)
>>> _ok = []
>>> for _l, _m in [(1, 4), (7, 5), (50, 3), (200, 8)]:
...     _x, _w = _rng.normal(size=_m), _rng.normal(1.0, 0.5, size=_l)
...     _u, _h = chain_forward(_x, _w)
...     _ru, _rh = _ref_forward(_x, _w)
...     _ok.append(_np.allclose(_u, _ru, rtol=1e-10, atol=1e-12) and _np.allclose(_h, _rh, rtol=1e-10, atol=1e-12))
>>> all(_ok)
True
""",
                    "hidden": True,
                    "locked": False,
                },
                {
                    "code": _REFERENCE + r"""
>>> _rng = _np.random.default_rng(2)
>>> _ok = []
>>> for _l, _m in [(1, 3), (10, 6), (100, 4)]:
...     _x, _w, _b = _rng.normal(size=_m), _rng.normal(1.0, 0.5, size=_l), _rng.normal(size=_l)
...     _u, _h = chain_forward(_x, _w, _b)
...     _ru, _rh = _ref_forward(_x, _w, _b)
...     _ok.append(_np.allclose(_u, _ru, rtol=1e-10, atol=1e-12) and _np.allclose(_h, _rh, rtol=1e-10, atol=1e-12))
>>> all(_ok)
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
