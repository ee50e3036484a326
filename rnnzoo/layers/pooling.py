"""Mask-aware pooling of a sequence of states into one vector, for classifiers."""

from __future__ import annotations

import keras
from keras import ops

from rnnzoo.layers.cells import PACKAGE


def _valid(inputs, mask):
    if mask is None:
        return ops.ones(ops.shape(inputs)[:2], dtype="bool")
    return ops.cast(mask, "bool")


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedMaxPooling(keras.layers.Layer):
    """max_t h_t over the valid (unmasked) steps, element-wise."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        valid = _valid(inputs, mask)[..., None]
        lowest = ops.full_like(inputs, -1e9)
        return ops.max(ops.where(valid, inputs, lowest), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionPooling(keras.layers.Layer):
    """Additive attention pooling: a_t = softmax_t(vᵀ tanh(W h_t + b)) over valid steps;
    returns Σ_t a_t h_t (and the weights a with ``return_attention``)."""

    def __init__(self, units: int = 64, return_attention: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"AttentionPooling: `units` must be a positive integer, got {units!r}")
        self.units = units
        self.return_attention = return_attention
        self.supports_masking = True

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w",
                                 initializer="glorot_uniform")
        self.b = self.add_weight(shape=(self.units,), name="b", initializer="zeros")
        self.v = self.add_weight(shape=(self.units,), name="v", initializer="random_normal")

    def call(self, inputs, mask=None):
        scores = ops.matmul(ops.tanh(ops.matmul(inputs, self.w) + self.b), self.v)
        valid = _valid(inputs, mask)
        scores = ops.where(valid, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        pooled = ops.sum(weights[..., None] * inputs, axis=1)
        return (pooled, weights) if self.return_attention else pooled

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        pooled = (input_shape[0], input_shape[-1])
        return (pooled, tuple(input_shape[:2])) if self.return_attention else pooled

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "return_attention": self.return_attention}
