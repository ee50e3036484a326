"""Task builders: each takes a plain config dict and returns a Keras model made of rnnzoo layers."""
