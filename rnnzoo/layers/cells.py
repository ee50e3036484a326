"""Recurrent cells: one time step of each equation, usable with ``keras.layers.RNN``.

Weights use Keras's layout so that they convert one-to-one: ``kernel`` (I, G·H),
``recurrent_kernel`` (H, G·H) and ``bias``, gates side by side in Keras's order
(LSTM i, f, c, o; GRU z, r, h). The sequence layers in :mod:`rnnzoo.layers.recurrent` use these
cells for their weights and run the fast whole-sequence path instead of stepping them.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import activations, constraints, initializers, ops, regularizers
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

PACKAGE = "rnnzoo"


def _activation(value: Any, argument: str, owner: str):
    try:
        return activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{owner}: unknown activation {value!r} for `{argument}` ({error})"
        ) from None


class _RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Weights, arguments and dropout masks shared by the three cells.

    Subclasses set ``gates`` (how many G·H blocks the kernels hold) and implement ``call``.
    """

    gates = 1

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        owner = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"{owner}: `units` must be a positive integer, got {units!r}")
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
                raise ValueError(f"{owner}: `{name}` must be a float in [0, 1), got {rate!r}")
        super().__init__(**kwargs)
        self.units = units
        self.activation = _activation(activation, "activation", owner)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = units
        self.output_size = units

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def bias_initial_value(self, shape, dtype=None):
        return self.bias_initializer(shape, dtype=dtype)

    def build(self, input_shape):
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.bias_initial_value,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _dropped_inputs(self, inputs, h_tm1, training):
        """Inputs and h_{t-1} after dropout (the same masks at every step of a sequence)."""
        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and self.recurrent_dropout > 0.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        return inputs, h_tm1

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in sizes]

    def arguments(self) -> dict:
        """The constructor arguments of this cell, serialised (no layer name or dtype)."""
        return {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }

    def get_config(self) -> dict:
        return {**super().get_config(), **self.arguments()}


class _GatedCell(_RecurrentCell):
    """A cell with sigmoid-like gates: adds ``recurrent_activation``."""

    def __init__(self, units: int, recurrent_activation: Any = "sigmoid", **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = _activation(
            recurrent_activation, "recurrent_activation", type(self).__name__
        )

    def arguments(self) -> dict:
        return {
            **super().arguments(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class SimpleRNNCell(_RecurrentCell):
    """Cell of the Elman RNN: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h), written
    ``x_t kernel + h_{t-1} recurrent_kernel``.

    This class computes one time step; wrap it in `keras.layers.RNN` to run a sequence, or use
    :class:`rnnzoo.layers.SimpleRNN`, which runs the whole sequence on a fast path.

    Args:
        units: Positive integer, dimensionality of the output space (and of the state h).
        activation: Activation function applied to the pre-activation. Default: `"tanh"`.
        use_bias: Boolean (default `True`), whether the cell uses a bias vector.
        kernel_initializer: Initializer for `kernel`, the input weights. Default:
            `"glorot_uniform"`.
        recurrent_initializer: Initializer for `recurrent_kernel`, the recurrent weights.
            Default: `"orthogonal"`.
        bias_initializer: Initializer for the bias vector. Default: `"zeros"`.
        kernel_regularizer: Regularizer applied to `kernel`. Default: `None`.
        recurrent_regularizer: Regularizer applied to `recurrent_kernel`. Default: `None`.
        bias_regularizer: Regularizer applied to the bias vector. Default: `None`.
        kernel_constraint: Constraint applied to `kernel`. Default: `None`.
        recurrent_constraint: Constraint applied to `recurrent_kernel`. Default: `None`.
        bias_constraint: Constraint applied to the bias vector. Default: `None`.
        dropout: Float in [0, 1). Fraction of the input units dropped in training. Default: 0.
        recurrent_dropout: Float in [0, 1). Fraction of the units of h_{t-1} dropped in
            training. Default: 0.
        seed: Random seed for dropout.

    Call arguments:
        inputs: A 2D tensor of shape `(batch, features)`, x_t.
        states: h_{t-1} of shape `(batch, units)`, a tensor or a list of one tensor.
        training: Python boolean, whether the cell runs in training mode (applies `dropout`
            and `recurrent_dropout`).

    Returns:
        `(h_t, new_states)`: h_t of shape `(batch, units)` and the new state in the form
        `states` had (a list `[h_t]` or the tensor h_t).

    Example:

    ```python
    import keras
    import numpy as np
    from rnnzoo.layers import SimpleRNNCell

    inputs = np.random.random((32, 10, 8)).astype("float32")
    rnn = keras.layers.RNN(SimpleRNNCell(4), return_sequences=True, return_state=True)
    whole_sequence_output, final_state = rnn(inputs)
    tuple(whole_sequence_output.shape)  # (32, 10, 4)
    tuple(final_state.shape)  # (32, 4)
    ```
    """

    gates = 1

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        x, h_rec = self._dropped_inputs(inputs, h_tm1, training)
        z = ops.matmul(x, self.kernel) + ops.matmul(h_rec, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        h = self.activation(z)
        return h, [h] if isinstance(states, (list, tuple)) else h


@keras.saving.register_keras_serializable(package=PACKAGE)
class LSTMCell(_GatedCell):
    """Cell of the LSTM, one time step of
    f,i,o = σ(W_x· x_t + W_h· h_{t-1} + b_·); c̃_t = tanh(W_xc x_t + W_hc h_{t-1} + b_c);
    c_t = f ⊙ c_{t-1} + i ⊙ c̃_t; h_t = o ⊙ tanh(c_t). Gate order in the weights: i, f, c, o.
    ``unit_forget_bias`` starts the forget-gate bias at 1 (Jozefowicz et al., 2015).

    Wrap it in `keras.layers.RNN` to run a sequence, or use :class:`rnnzoo.layers.LSTM`,
    which runs the whole sequence on a fast path.

    Args:
        units: Positive integer, dimensionality of the output space (and of h and c).
        unit_forget_bias: Boolean (default `True`). If `True`, the forget gate's bias starts
            at 1 (the other gates' at `bias_initializer`).
        recurrent_activation: Activation of the gates i, f, o (σ). Default: `"sigmoid"`.
        activation: Activation of c̃_t and of the output tanh(c_t). Default: `"tanh"`.
        use_bias: Boolean (default `True`), whether the cell uses a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer, kernel_regularizer,
            recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed: as
            :class:`~rnnzoo.layers.cells.SimpleRNNCell` documents them.

    Call arguments:
        inputs: A 2D tensor of shape `(batch, features)`, x_t.
        states: The list `[h_{t-1}, c_{t-1}]`, each of shape `(batch, units)`.
        training: Python boolean, whether the cell runs in training mode (applies `dropout`
            and `recurrent_dropout`).

    Returns:
        `(h_t, [h_t, c_t])`, each of shape `(batch, units)`.

    Example:

    ```python
    import keras
    import numpy as np
    from rnnzoo.layers import LSTMCell

    inputs = np.random.random((32, 10, 8)).astype("float32")
    rnn = keras.layers.RNN(LSTMCell(4), return_state=True)
    output, final_h, final_c = rnn(inputs)
    tuple(output.shape)  # (32, 4)
    tuple(final_c.shape)  # (32, 4)
    ```
    """

    gates = 4

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def bias_initial_value(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        h = self.units
        return ops.concatenate(
            [
                self.bias_initializer((h,), dtype=dtype),
                ops.ones((h,), dtype=dtype),
                self.bias_initializer((2 * h,), dtype=dtype),
            ]
        )

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states
        x, h_rec = self._dropped_inputs(inputs, h_tm1, training)
        z = ops.matmul(x, self.kernel) + ops.matmul(h_rec, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        zi, zf, zc, zo = ops.split(z, 4, axis=-1)
        i, f, o = self.recurrent_activation(zi), self.recurrent_activation(zf), self.recurrent_activation(zo)
        c = f * c_tm1 + i * self.activation(zc)
        h = o * self.activation(c)
        return h, [h, c]

    def arguments(self) -> dict:
        return {**super().arguments(), "unit_forget_bias": self.unit_forget_bias}


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRUCell(_GatedCell):
    """Cell of the GRU, one time step of
    z,r = σ(W_x· x_t + W_h· h_{t-1} + b_·); h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃_t, where

    - ``reset_after=False``: h̃_t = tanh(W_xh x_t + W_hh (r ⊙ h_{t-1}) + b_h);
    - ``reset_after=True`` (Keras's variant, the default, cuDNN's):
      h̃_t = tanh(W_xh x_t + b_h + r ⊙ (W_hh h_{t-1} + b'_h)), with a second, recurrent bias
      b' on all three gates (``bias`` has shape (2, 3H): input row, recurrent row).

    The z convention is the textbook one: z is the share of the *new* candidate. Keras writes
    h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃_t; since σ(−a) = 1 − σ(a), Keras's z equals rnnzoo's with
    the z columns of both kernels and the z biases negated — what ``GRU.from_builtin`` does.

    Wrap it in `keras.layers.RNN` to run a sequence, or use :class:`rnnzoo.layers.GRU`, which
    runs the whole sequence on a fast path.

    Args:
        units: Positive integer, dimensionality of the output space (and of the state h).
        reset_after: Boolean (default `True`), where the reset gate applies: after the
            recurrent matmul (two bias rows) or before it (one bias row).
        recurrent_activation: Activation of the gates z and r (σ). Default: `"sigmoid"`.
        activation: Activation of the candidate h̃_t. Default: `"tanh"`.
        use_bias: Boolean (default `True`), whether the cell uses a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer, kernel_regularizer,
            recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed: as
            :class:`~rnnzoo.layers.cells.SimpleRNNCell` documents them.

    Call arguments:
        inputs: A 2D tensor of shape `(batch, features)`, x_t.
        states: h_{t-1} of shape `(batch, units)`, a tensor or a list of one tensor.
        training: Python boolean, whether the cell runs in training mode (applies `dropout`
            and `recurrent_dropout`).

    Returns:
        `(h_t, new_states)`: h_t of shape `(batch, units)` and the new state in the form
        `states` had (a list `[h_t]` or the tensor h_t).

    Example:

    ```python
    import keras
    import numpy as np
    from rnnzoo.layers import GRUCell

    inputs = np.random.random((32, 10, 8)).astype("float32")
    cell = GRUCell(4, reset_after=False)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    tuple(rnn(inputs).shape)  # (32, 10, 4)
    tuple(cell.bias.shape)  # (12,)
    ```
    """

    gates = 3

    def __init__(self, units: int, reset_after: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = reset_after

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        x, h_rec = self._dropped_inputs(inputs, h_tm1, training)
        xw = ops.matmul(x, self.kernel)
        h = self.units
        if self.use_bias:
            xw = xw + (self.bias[0] if self.reset_after else self.bias)
        xz, xr, xh = ops.split(xw, 3, axis=-1)
        if self.reset_after:
            inner = ops.matmul(h_rec, self.recurrent_kernel)
            if self.use_bias:
                inner = inner + self.bias[1]
            iz, ir, ih = ops.split(inner, 3, axis=-1)
            z, r = self.recurrent_activation(xz + iz), self.recurrent_activation(xr + ir)
            hh = self.activation(xh + r * ih)
        else:
            inner = ops.matmul(h_rec, self.recurrent_kernel[:, : 2 * h])
            iz, ir = ops.split(inner, 2, axis=-1)
            z, r = self.recurrent_activation(xz + iz), self.recurrent_activation(xr + ir)
            hh = self.activation(xh + ops.matmul(r * h_rec, self.recurrent_kernel[:, 2 * h :]))
        new_h = (1.0 - z) * h_tm1 + z * hh
        return new_h, [new_h] if isinstance(states, (list, tuple)) else new_h

    def arguments(self) -> dict:
        return {**super().arguments(), "reset_after": self.reset_after}
