"""rnnzoo: recurrent networks for NLP in Keras 3, with layers that are the equations."""

__version__ = "0.1.0"

__all__ = ["__version__"]
