"""A tied input/output embedding for language models."""

from __future__ import annotations

import keras
from keras import ops

from rnnzoo.layers.cells import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class TiedEmbedding(keras.layers.Layer):
    """One matrix E (V, D) for both ends of a language model (Press & Wolf, 2017).

    ``call(ids)`` looks up e_w = E[w] (id 0 is padding and masked);
    ``call(h, reverse=True)`` gives the logits h Eᵀ + b over the vocabulary.

    Args:
        vocab_size: Positive integer, V, the vocabulary's size.
        dim: Positive integer, D, the width of the embeddings.
        embeddings_initializer: Initializer for E. Default: `"uniform"`. (The output bias b
            starts at zeros.)
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: Integer ids of shape `(batch, T)`, or with `reverse=True` states h of shape
            `(batch, T, D)`.
        reverse: Boolean (default `False`), whether to compute the logits h Eᵀ + b instead of
            looking ids up.

    Returns:
        Embeddings `(batch, T, D)` (masked where the id is 0), or logits `(batch, T, V)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.layers import TiedEmbedding

    embedding = TiedEmbedding(100, 16)
    ids = np.array([[5, 7, 0]])
    vectors = embedding(ids)
    tuple(vectors.shape)  # (1, 3, 16)
    embedding.compute_mask(ids).numpy().tolist()  # [[True, True, False]]
    tuple(embedding(vectors, reverse=True).shape)  # (1, 3, 100)
    ```
    """

    def __init__(self, vocab_size: int, dim: int, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        for name, value in (("vocab_size", vocab_size), ("dim", dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"TiedEmbedding: `{name}` must be a positive integer, got {value!r}")
        self.vocab_size = vocab_size
        self.dim = dim
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.supports_masking = True

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            shape=(self.vocab_size, self.dim), name="embeddings",
            initializer=self.embeddings_initializer,
        )
        self.output_bias = self.add_weight(shape=(self.vocab_size,), name="output_bias",
                                           initializer="zeros")

    def call(self, inputs, reverse: bool = False):
        if reverse:
            weights = ops.cast(self.embeddings, inputs.dtype)
            return ops.matmul(inputs, ops.transpose(weights)) + ops.cast(self.output_bias, inputs.dtype)
        return ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)

    def compute_mask(self, inputs, mask=None):
        if "int" not in str(inputs.dtype):
            return mask
        return ops.not_equal(inputs, 0)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "dim": self.dim,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        }
