"""rnnzoo: recurrent networks for NLP in Keras 3, with layers that are the equations.

``import rnnzoo`` stays light (no TensorFlow until a model is needed); when Keras is already
imported, it registers rnnzoo's serializable classes (:mod:`rnnzoo.keras_objects`) so that
``keras.saving.load_model`` reads rnnzoo's ``.keras`` files."""

import sys

__version__ = "0.1.0"

if "keras" in sys.modules:
    import rnnzoo.keras_objects  # noqa: F401

__all__ = ["__version__", "info", "list_models", "load"]


def __getattr__(name: str):
    """``load``, ``list_models`` and ``info`` are handed on from :mod:`rnnzoo.zoo`, imported
    on first use so that ``import rnnzoo`` stays light (no TensorFlow until a model is needed)."""
    if name in ("load", "list_models", "info"):
        from rnnzoo import zoo

        return getattr(zoo, name)
    raise AttributeError(f"module 'rnnzoo' has no attribute {name!r}")
