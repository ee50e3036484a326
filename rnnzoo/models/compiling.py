"""Compiling models whose outputs are per-token logits (language models, seq2seq)."""

from __future__ import annotations

import keras


def compile_token_model(model: keras.Model, learning_rate: float,
                        clipnorm: float | None) -> keras.Model:
    """Adam on the mean token cross-entropy (padding, id 0, ignored); jit off for TF's RNNs."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        jit_compile=False,
    )
    return model
