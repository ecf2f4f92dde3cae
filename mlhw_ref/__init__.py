"""Reference NumPy solutions for the five mlhw assignments.

One module per topic: :mod:`plsa`, :mod:`activations`, :mod:`sigmoid_mlp`, :mod:`chain`,
:mod:`quadratic`, :mod:`mnist_mlp`, :mod:`multiclass`, :mod:`gradcheck`, :mod:`datasets`.
"""
