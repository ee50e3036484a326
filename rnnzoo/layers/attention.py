"""Attention over encoder states: additive (Bahdanau et al., 2015) and multiplicative
"general" (Luong et al., 2015) scores.

Both layers take queries q (B, T, Dq) — decoder states — and a memory m (B, S, Dm) — encoder
states — and return the context and the weights

    a_ts = softmax_s(score(q_t, m_s)),    c_t = Σ_s a_ts m_s,

context (B, T, Dm) and weights (B, T, S). Memory positions masked out (``memory_mask`` False,
padding) get weight exactly 0; the queries' mask is passed on to both outputs.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from rnnzoo.layers.cells import PACKAGE

_MASKED_SCORE = -1e9


class _Attention(keras.layers.Layer):
    """Masked softmax over the scores of :meth:`score` and the weighted sum of the memory."""

    def score(self, query, memory):
        raise NotImplementedError

    def call(self, query, memory, memory_mask=None):
        scores = self.score(query, memory)
        if memory_mask is None:
            weights = ops.softmax(scores, axis=-1)
        else:
            keep = ops.cast(memory_mask, "bool")[:, None, :]
            scores = ops.where(keep, scores, ops.cast(_MASKED_SCORE, scores.dtype))
            weights = ops.where(keep, ops.softmax(scores, axis=-1), ops.zeros_like(scores))
        return ops.matmul(weights, memory), weights

    def compute_mask(self, query, mask=None):
        return [mask, mask]


@keras.saving.register_keras_serializable(package=PACKAGE)
class BahdanauAttention(_Attention):
    """Additive attention (Bahdanau et al., 2015): a_ts = softmax_s(score(q_t, m_s)),
    c_t = Σ_s a_ts m_s, with the score score(q_t, m_s) = vᵀ tanh(W₁ q_t + W₂ m_s).

    W₁ (Dq, A), W₂ (Dm, A), v (A); ``units`` is A, the width of the score's hidden layer.

    Args:
        units: Positive integer, A, the width of the score's hidden layer.
        kernel_initializer: Initializer for W₁, W₂ and v. Default: `"glorot_uniform"`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        query: Queries q, a 3D tensor of shape `(batch, T, Dq)` (decoder states); its mask is
            passed on to both outputs.
        memory: Memory m, a 3D tensor of shape `(batch, S, Dm)` (encoder states).
        memory_mask: Boolean tensor of shape `(batch, S)`, `False` at padding, which gets
            weight exactly 0 (optional).

    Returns:
        `(context, weights)`: c of shape `(batch, T, Dm)` and a of shape `(batch, T, S)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.layers import BahdanauAttention

    query = np.random.random((2, 3, 8)).astype("float32")
    memory = np.random.random((2, 5, 6)).astype("float32")
    memory_mask = np.array([[True] * 5, [True] * 3 + [False] * 2])
    context, weights = BahdanauAttention(16)(query, memory, memory_mask=memory_mask)
    tuple(context.shape)  # (2, 3, 6)
    tuple(weights.shape)  # (2, 3, 5)
    weights[1, :, 3:].numpy().tolist()  # [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    ```
    """

    def __init__(self, units: int, kernel_initializer: Any = "glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(
                f"BahdanauAttention: `units` must be a positive integer, got {units!r}"
            )
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, query_shape, memory_shape):
        self.query_kernel = self.add_weight(
            shape=(query_shape[-1], self.units), name="query_kernel",
            initializer=self.kernel_initializer,
        )
        self.memory_kernel = self.add_weight(
            shape=(memory_shape[-1], self.units), name="memory_kernel",
            initializer=self.kernel_initializer,
        )
        self.v = self.add_weight(shape=(self.units,), name="v",
                                 initializer=self.kernel_initializer)

    def score(self, query, memory):
        q = ops.matmul(query, self.query_kernel)[:, :, None, :]
        m = ops.matmul(memory, self.memory_kernel)[:, None, :, :]
        return ops.sum(ops.tanh(q + m) * self.v, axis=-1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class LuongAttention(_Attention):
    """Multiplicative attention (Luong et al., 2015): a_ts = softmax_s(score(q_t, m_s)),
    c_t = Σ_s a_ts m_s, with the "general" score score(q_t, m_s) = q_tᵀ W m_s, W (Dq, Dm).

    Args:
        kernel_initializer: Initializer for W. Default: `"glorot_uniform"`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        query: Queries q, a 3D tensor of shape `(batch, T, Dq)` (decoder states); its mask is
            passed on to both outputs.
        memory: Memory m, a 3D tensor of shape `(batch, S, Dm)` (encoder states).
        memory_mask: Boolean tensor of shape `(batch, S)`, `False` at padding, which gets
            weight exactly 0 (optional).

    Returns:
        `(context, weights)`: c of shape `(batch, T, Dm)` and a of shape `(batch, T, S)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.layers import LuongAttention

    query = np.random.random((2, 3, 8)).astype("float32")
    memory = np.random.random((2, 5, 6)).astype("float32")
    context, weights = LuongAttention()(query, memory)
    tuple(context.shape)  # (2, 3, 6)
    np.allclose(weights.numpy().sum(axis=-1), 1.0)  # True
    ```
    """

    def __init__(self, kernel_initializer: Any = "glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, query_shape, memory_shape):
        self.kernel = self.add_weight(
            shape=(query_shape[-1], memory_shape[-1]), name="kernel",
            initializer=self.kernel_initializer,
        )

    def score(self, query, memory):
        return ops.matmul(ops.matmul(query, self.kernel), ops.swapaxes(memory, 1, 2))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
