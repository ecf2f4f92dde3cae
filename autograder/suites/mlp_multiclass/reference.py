"""The reference the suite's `ref` fixture returns: every contract function of the
assignment under its notebook name, so that any of them can be lent (autograder.lending).

The activations live in `mlhw_ref.activations`, the network in `mlhw_ref.multiclass`; the
notebook defines them all in one namespace, and so does this module.
"""

from mlhw_ref.activations import (
    dabs,
    drelu,
    dsigmoid,
    dtanh,
    grad_l1,
    grad_sq_norm,
    log_softmax,
    relu,
    sigmoid,
    sign,
    softmax,
    softplus,
    tanh,
)
from mlhw_ref.datasets.circles import make_circles
from mlhw_ref.multiclass import (
    accuracy,
    bprop,
    fprop,
    grad_check,
    grad_input,
    init_params,
    loss,
    n_params,
    penalized_loss,
    penalty,
    plot_decision_boundary,
    predict,
    train,
)

__all__ = [
    "accuracy", "bprop", "dabs", "drelu", "dsigmoid", "dtanh", "fprop", "grad_check",
    "grad_input", "grad_l1", "grad_sq_norm", "init_params", "log_softmax", "loss",
    "make_circles", "n_params", "penalized_loss", "penalty", "plot_decision_boundary",
    "predict", "relu", "sigmoid", "sign", "softmax", "softplus", "tanh", "train",
]
