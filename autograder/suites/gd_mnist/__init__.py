"""Hidden suite of gd_mnist: gradient descent on a quadratic, then a 784-32-32-10 MLP on MNIST."""
