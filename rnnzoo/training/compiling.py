"""The optimizers the recipes train with, and the compiling of models whose outputs are
per-token logits (language models, seq2seq)."""

from __future__ import annotations

import keras

OPTIMIZERS = ("adam", "sgd")


def optimizer(name: str, learning_rate: float, clipnorm: float | None,
              average_momentum: float | None = None) -> keras.optimizers.Optimizer:
    """Adam with each gradient clipped to ``clipnorm``, or plain SGD with the global gradient
    norm clipped to ``clipnorm`` (as Zaremba et al. 2014 and Merity et al. 2018 train LMs);
    with ``average_momentum`` m it also keeps the weights' moving average θ̄ ← m·θ̄ + (1 − m)·θ
    (Keras's ``use_ema``, for :class:`rnnzoo.training.averaging.SwapAveragedWeights`)."""
    averaging = {"use_ema": average_momentum is not None,
                 "ema_momentum": 0.99 if average_momentum is None else average_momentum}
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, clipnorm=clipnorm, **averaging)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, global_clipnorm=clipnorm, **averaging)
    raise ValueError(f"unknown optimizer {name!r}: one of {list(OPTIMIZERS)}")


def compile_token_model(model: keras.Model, learning_rate: float,
                        clipnorm: float | None, optimizer_name: str = "adam",
                        average_momentum: float | None = None) -> keras.Model:
    """The optimizer on the mean token cross-entropy (padding, id 0, ignored); jit off for TF's
    RNNs."""
    model.compile(
        optimizer=optimizer(optimizer_name, learning_rate, clipnorm, average_momentum),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        jit_compile=False,
    )
    return model
