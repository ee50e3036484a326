"""Sequence layers ``SimpleRNN``, ``LSTM`` and ``GRU``: the cells of :mod:`.cells`, run fast.

Each is a ``keras.layers.RNN`` (so ``stateful``, ``initial_state``, masks, ``go_backwards``,
``return_state`` and ``keras.layers.Bidirectional`` behave as in Keras) whose inner loop is
replaced by :mod:`.recurrence`: one matmul projects the inputs of all steps, the recurrence runs
in a compiled ``tf.while_loop``, and the backward pass is the hand-written BPTT.
"""

from __future__ import annotations

import inspect

import keras
import tensorflow as tf

from rnnzoo.layers import recurrence
from rnnzoo.layers.cells import PACKAGE, GRUCell, LSTMCell, SimpleRNNCell, _RecurrentCell

_RNN_ARGUMENTS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                  "zero_output_for_mask", "activity_regularizer")


def _cell_arguments(cell_class: type) -> set[str]:
    names = set()
    for klass in cell_class.__mro__:
        if issubclass(klass, _RecurrentCell):
            names |= set(inspect.signature(klass.__init__).parameters) - {"self", "kwargs"}
    return names


class _FastRNN(keras.layers.RNN):
    """Builds its cell from the cell's arguments and runs the whole-sequence fast path."""

    cell_class: type = _RecurrentCell

    def __init__(self, units: int, **kwargs):
        if kwargs.get("unroll"):
            raise ValueError(
                f"{type(self).__name__}: `unroll=True` is not supported; the loop is compiled "
                "and the input projection of all steps is already one matmul"
            )
        names = _cell_arguments(self.cell_class)
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGUMENTS}
        cell = self.cell_class(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=f"{self.cell_class.__name__.lower()}",
            **cell_kwargs,
        )
        super().__init__(cell, **layer_kwargs, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    units = property(lambda self: self.cell.units)
    activation = property(lambda self: self.cell.activation)
    use_bias = property(lambda self: self.cell.use_bias)
    dropout = property(lambda self: self.cell.dropout)
    recurrent_dropout = property(lambda self: self.cell.recurrent_dropout)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None:
            self._check_initial_state(sequences, initial_state)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def _check_initial_state(self, sequences, initial_state) -> None:
        states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        sizes = self.cell.state_size if isinstance(self.cell.state_size, list) else [self.units]
        name = type(self).__name__
        if len(states) != len(sizes):
            raise ValueError(
                f"{name}: `initial_state` must hold {len(sizes)} tensor(s) of shape "
                f"(batch, {self.units}), got {len(states)}"
            )
        batch = sequences.shape[0]
        for k, (state, size) in enumerate(zip(states, sizes)):
            shape = tuple(state.shape)
            if len(shape) != 2 or shape[-1] != size or (
                batch is not None and shape[0] is not None and shape[0] != batch
            ):
                raise ValueError(
                    f"{name}: `initial_state[{k}]` must have shape ({batch}, {size}) to match "
                    f"the inputs {tuple(sequences.shape)} and units={self.units}, got {shape}"
                )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """Returns ``(last_output, outputs, states)`` exactly as Keras's RNN loop does."""
        cell = self.cell
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        inputs = sequences
        if training and cell.dropout > 0.0:
            inputs = inputs * cell.get_dropout_mask(sequences[:, 0, :])[:, None, :]
        rmask = None
        if training and cell.recurrent_dropout > 0.0:
            rmask = cell.get_recurrent_dropout_mask(initial_state[0])
        dtype = inputs.dtype
        kernel = tf.cast(cell.kernel, dtype)
        time_major = tf.transpose(inputs, [1, 0, 2])
        steps_mask = None if mask is None else tf.transpose(tf.cast(mask, tf.bool))[:, :, None]
        if self.go_backwards:
            time_major = tf.reverse(time_major, [0])
            steps_mask = None if steps_mask is None else tf.reverse(steps_mask, [0])
        shape = tf.shape(time_major)
        xw = tf.reshape(
            tf.matmul(tf.reshape(time_major, (-1, shape[2])), kernel),
            (shape[0], shape[1], kernel.shape[-1]),
        )
        input_bias, recurrent_bias = self._biases(dtype)
        if input_bias is not None:
            xw = xw + input_bias
        hs, states = self._recurrence(xw, tf.cast(cell.recurrent_kernel, dtype),
                                      initial_state, steps_mask, rmask, recurrent_bias)
        if steps_mask is not None:
            seen = steps_mask if self.zero_output_for_mask else tf.cumsum(
                tf.cast(steps_mask, tf.int32), axis=0) > 0
            hs = tf.where(seen, hs, tf.zeros_like(hs))
        last_output = hs[-1]
        outputs = tf.transpose(hs, [1, 0, 2]) if self.return_sequences else last_output[:, None]
        return last_output, outputs, states

    def _biases(self, dtype) -> tuple:
        """The bias added to x W (None without bias) and the recurrent one (GRU reset-after)."""
        return (None if self.cell.bias is None else tf.cast(self.cell.bias, dtype)), None

    def _recurrence(self, xw, u, initial_state, mask, rmask, recurrent_bias):
        raise NotImplementedError

    def get_config(self) -> dict:
        config = super().get_config()
        del config["cell"]
        return {**config, **self.cell.arguments()}

    @classmethod
    def from_config(cls, config: dict) -> _FastRNN:
        return cls(**config)

    @classmethod
    def from_builtin(cls, layer: keras.layers.Layer) -> _FastRNN:
        """The explicit layer equal to a built-in Keras layer, weights included."""
        from rnnzoo.layers.conversion import from_builtin

        return from_builtin(layer, cls)

    def to_builtin(self) -> keras.layers.Layer:
        """The built-in Keras layer equal to this one, weights included."""
        from rnnzoo.layers.conversion import to_builtin

        return to_builtin(self)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SimpleRNN(_FastRNN):
    """Elman RNN over a sequence: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h).

    Arguments as ``keras.layers.SimpleRNN``: ``units``, ``activation``, ``use_bias``,
    initializers, regularizers, constraints, ``dropout``, ``recurrent_dropout``, ``seed``,
    ``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``.
    """

    cell_class = SimpleRNNCell

    def _recurrence(self, xw, u, initial_state, mask, rmask, recurrent_bias):
        hs = recurrence.simple_rnn_sequence(
            xw, u, initial_state[0], mask, rmask, activation=self.cell.activation
        )
        return hs, [hs[-1]]


@keras.saving.register_keras_serializable(package=PACKAGE)
class LSTM(_FastRNN):
    """LSTM over a sequence: f,i,o = σ(·); c̃_t = tanh(·); c_t = f ⊙ c_{t-1} + i ⊙ c̃_t;
    h_t = o ⊙ tanh(c_t).

    Arguments as ``keras.layers.LSTM`` (adds ``recurrent_activation``, ``unit_forget_bias``).
    States: ``[h, c]``.
    """

    cell_class = LSTMCell

    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)
    recurrent_activation = property(lambda self: self.cell.recurrent_activation)

    def _recurrence(self, xw, u, initial_state, mask, rmask, recurrent_bias):
        hs, c_last = recurrence.lstm_sequence(
            xw, u, initial_state[0], initial_state[1], mask, rmask,
            activation=self.cell.activation,
            recurrent_activation=self.cell.recurrent_activation,
        )
        return hs, [hs[-1], c_last]


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRU(_FastRNN):
    """GRU over a sequence: z,r = σ(·); h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃_t.

    ``reset_after`` places the reset gate after the recurrent matmul (Keras's and cuDNN's
    variant, the default) or before it (the original GRU); see :class:`GRUCell` for the z
    convention and how Keras's weights map onto it.
    """

    cell_class = GRUCell

    reset_after = property(lambda self: self.cell.reset_after)
    recurrent_activation = property(lambda self: self.cell.recurrent_activation)

    def _biases(self, dtype) -> tuple:
        bias, _ = super()._biases(dtype)
        if bias is not None and self.cell.reset_after:
            return bias[0], bias[1]
        return bias, None

    def _recurrence(self, xw, u, initial_state, mask, rmask, recurrent_bias):
        if recurrent_bias is None:
            recurrent_bias = tf.zeros((3 * self.cell.units,), xw.dtype)
        hs = recurrence.gru_sequence(
            xw, u, recurrent_bias, initial_state[0], mask, rmask,
            activation=self.cell.activation,
            recurrent_activation=self.cell.recurrent_activation,
            reset_after=self.cell.reset_after,
        )
        return hs, [hs[-1]]
