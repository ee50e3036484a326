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
    """Max pooling over time that respects the mask: max_t h_t over the valid (unmasked)
    steps, element-wise.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: States h of shape `(batch, T, D)`.
        mask: Boolean tensor of shape `(batch, T)`, `True` at valid steps (optional; all
            steps are valid without it).

    Returns:
        The pooled vectors, `(batch, D)` (not masked).

    Example:

    ```python
    import numpy as np
    from rnnzoo.layers import MaskedMaxPooling

    states = np.array([[[1.0, 5.0], [3.0, 2.0], [9.0, 9.0]]], "float32")
    mask = np.array([[True, True, False]])
    MaskedMaxPooling()(states, mask=mask).numpy().tolist()  # [[3.0, 5.0]]
    ```
    """

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
    returns Σ_t a_t h_t (and the weights a with ``return_attention``).

    Masked steps get weight 0.

    Args:
        units: Positive integer (default 64), the width of W, the score's hidden layer.
        return_attention: Boolean (default `False`), whether to return the weights a too.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: States h of shape `(batch, T, D)`.
        mask: Boolean tensor of shape `(batch, T)`, `True` at valid steps (optional; all
            steps are valid without it).

    Returns:
        The pooled vectors `(batch, D)` (not masked) or, with `return_attention`,
        `(pooled, weights)` with weights of shape `(batch, T)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.layers import AttentionPooling

    states = np.random.random((2, 3, 8)).astype("float32")
    mask = np.array([[True, True, False], [True, True, True]])
    pooled, weights = AttentionPooling(16, return_attention=True)(states, mask=mask)
    tuple(pooled.shape)  # (2, 8)
    float(weights[0, 2])  # 0.0
    ```
    """

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
