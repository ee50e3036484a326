"""Compiling models whose outputs are per-token logits (language models, seq2seq)."""

from __future__ import annotations

import keras

OPTIMIZERS = ("adam", "sgd")


def optimizer(name: str, learning_rate: float,
              clipnorm: float | None) -> keras.optimizers.Optimizer:
    """Adam with each gradient clipped to ``clipnorm``, or plain SGD with the global gradient
    norm clipped to ``clipnorm`` (as Zaremba et al. 2014 and Merity et al. 2018 train LMs)."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, clipnorm=clipnorm)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, global_clipnorm=clipnorm)
    raise ValueError(f"unknown optimizer {name!r}: one of {list(OPTIMIZERS)}")


def compile_token_model(model: keras.Model, learning_rate: float,
                        clipnorm: float | None, optimizer_name: str = "adam") -> keras.Model:
    """The optimizer on the mean token cross-entropy (padding, id 0, ignored); jit off for TF's
    RNNs."""
    model.compile(
        optimizer=optimizer(optimizer_name, learning_rate, clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        jit_compile=False,
    )
    return model
