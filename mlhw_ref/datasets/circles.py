"""Two concentric circles, a binary problem no linear classifier solves (assignment 5, q7)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["make_circles"]


def make_circles(
    n_samples: int = 400,
    *,
    noise: float = 0.1,
    factor: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Points on two concentric circles with Gaussian noise.

    ``n_samples // 2`` points (rounded down) lie on the outer circle of radius 1 (label 0),
    the rest on the inner circle of radius ``factor`` (label 1), at angles drawn uniformly
    from [0, 2 pi); each coordinate then gets independent N(0, noise^2) noise and the rows
    are shuffled. Same spirit as scikit-learn's ``make_circles``, without depending on it.

    Parameters
    ----------
    n_samples : int, >= 2
        Total number of points.
    noise : float, >= 0
        Standard deviation of the Gaussian noise added to each coordinate.
    factor : float, in (0, 1)
        Radius of the inner circle relative to the outer one.
    rng : numpy.random.Generator, int or None
        Source of randomness; an int seeds a new Generator, None draws fresh entropy.

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
        Coordinates.
    y : ndarray of int64, shape (n_samples,)
        0 for the outer circle, 1 for the inner one.
    """
    if int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(
            f"n_samples must be an integer >= 2 (one point per circle), got {n_samples}."
        )
    if not noise >= 0:
        raise ValueError(f"noise is a standard deviation and must be >= 0, got {noise}.")
    if not 0 < factor < 1:
        raise ValueError(
            f"factor is the inner radius relative to the outer and must be in (0, 1), got {factor}."
        )
    rng = np.random.default_rng(rng)
    n_samples = int(n_samples)
    n_outer = n_samples // 2
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_outer, n_samples - n_outer])
    radius = np.where(y == 0, 1.0, factor)
    angle = rng.uniform(0.0, 2 * np.pi, size=n_samples)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X += rng.normal(0.0, noise, size=X.shape) if noise > 0 else 0.0
    order = rng.permutation(n_samples)
    return X[order], y[order]
