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

    Arguments as ``keras.layers.SimpleRNN``; the weights are a :class:`SimpleRNNCell`'s and
    the whole sequence runs on the fast path (one input matmul, compiled loop, hand-written
    BPTT). ``from_builtin``/``to_builtin`` convert from and to ``keras.layers.SimpleRNN``.

    Args:
        units: Positive integer, dimensionality of the output space (and of the state h).
        activation: Activation function applied to the pre-activation. Default: `"tanh"`.
        use_bias: Boolean (default `True`), whether the layer uses a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer, kernel_regularizer,
            recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed: as
            :class:`~rnnzoo.layers.cells.SimpleRNNCell` documents them.
        return_sequences: Boolean (default `False`), whether to return the output of every
            step or only the last one.
        return_state: Boolean (default `False`), whether to return the final state(s) after
            the output.
        go_backwards: Boolean (default `False`), whether to read the sequence backwards (the
            outputs are then in reversed order).
        stateful: Boolean (default `False`), whether the final state of each sample of a batch
            is the initial state of the same sample in the next batch.
        zero_output_for_mask: Boolean (default `False`), whether masked steps output zeros
            (by default, a masked step repeats the previous step's output).
        unroll: Only `False` is accepted; the loop is always compiled.
        activity_regularizer: Regularizer applied to the layer's output. Default: `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        sequences: A 3D tensor of shape `(batch, timesteps, features)`.
        initial_state: List of initial state tensors (`[h]`), each of shape `(batch, units)`
            (optional; zeros when `None`).
        mask: Binary tensor of shape `(batch, timesteps)`, `True` where a step is read
            (optional; masked steps leave the state unchanged).
        training: Python boolean, whether the layer runs in training mode (applies `dropout`
            and `recurrent_dropout`).

    Returns:
        The outputs, `(batch, timesteps, units)` with `return_sequences` or `(batch, units)`;
        with `return_state`, the list `[outputs, h_T]`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.layers import SimpleRNN

    inputs = np.random.random((32, 10, 8)).astype("float32")
    tuple(SimpleRNN(4)(inputs).shape)  # (32, 4)
    rnn = SimpleRNN(4, return_sequences=True, return_state=True)
    whole_sequence_output, final_state = rnn(inputs)
    tuple(whole_sequence_output.shape)  # (32, 10, 4)
    tuple(final_state.shape)  # (32, 4)
    ```
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
    States: ``[h, c]``. The weights are an :class:`LSTMCell`'s and the whole sequence runs on
    the fast path; ``from_builtin``/``to_builtin`` convert from and to ``keras.layers.LSTM``.

    Args:
        units: Positive integer, dimensionality of the output space (and of h and c).
        activation: Activation of c̃_t and of the output tanh(c_t). Default: `"tanh"`.
        recurrent_activation: Activation of the gates i, f, o (σ). Default: `"sigmoid"`.
        unit_forget_bias: Boolean (default `True`). If `True`, the forget gate's bias starts
            at 1 (Jozefowicz et al., 2015).
        use_bias: Boolean (default `True`), whether the layer uses a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer, kernel_regularizer,
            recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed: as
            :class:`~rnnzoo.layers.cells.SimpleRNNCell` documents them.
        return_sequences, return_state, go_backwards, stateful, zero_output_for_mask, unroll,
            activity_regularizer, **kwargs: as :class:`SimpleRNN` documents them.

    Call arguments:
        sequences: A 3D tensor of shape `(batch, timesteps, features)`.
        initial_state: List of initial state tensors (`[h, c]`), each of shape `(batch, units)`
            (optional; zeros when `None`).
        mask: Binary tensor of shape `(batch, timesteps)`, `True` where a step is read
            (optional; masked steps leave the state unchanged).
        training: Python boolean, whether the layer runs in training mode (applies `dropout`
            and `recurrent_dropout`).

    Returns:
        The outputs, `(batch, timesteps, units)` with `return_sequences` or `(batch, units)`;
        with `return_state`, the list `[outputs, h_T, c_T]`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.layers import LSTM

    inputs = np.random.random((32, 10, 8)).astype("float32")
    tuple(LSTM(4)(inputs).shape)  # (32, 4)
    lstm = LSTM(4, return_sequences=True, return_state=True)
    whole_sequence_output, final_h, final_c = lstm(inputs)
    tuple(whole_sequence_output.shape)  # (32, 10, 4)
    tuple(final_c.shape)  # (32, 4)
    ```
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
    convention and how Keras's weights map onto it. The whole sequence runs on the fast path;
    ``from_builtin``/``to_builtin`` convert from and to ``keras.layers.GRU``.

    Args:
        units: Positive integer, dimensionality of the output space (and of the state h).
        activation: Activation of the candidate h̃_t. Default: `"tanh"`.
        recurrent_activation: Activation of the gates z and r (σ). Default: `"sigmoid"`.
        reset_after: Boolean (default `True`), whether the reset gate applies after the
            recurrent matmul (with a second, recurrent bias) or before it.
        use_bias: Boolean (default `True`), whether the layer uses a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer, kernel_regularizer,
            recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed: as
            :class:`~rnnzoo.layers.cells.SimpleRNNCell` documents them.
        return_sequences, return_state, go_backwards, stateful, zero_output_for_mask, unroll,
            activity_regularizer, **kwargs: as :class:`SimpleRNN` documents them.

    Call arguments:
        sequences: A 3D tensor of shape `(batch, timesteps, features)`.
        initial_state: List of initial state tensors (`[h]`), each of shape `(batch, units)`
            (optional; zeros when `None`).
        mask: Binary tensor of shape `(batch, timesteps)`, `True` where a step is read
            (optional; masked steps leave the state unchanged).
        training: Python boolean, whether the layer runs in training mode (applies `dropout`
            and `recurrent_dropout`).

    Returns:
        The outputs, `(batch, timesteps, units)` with `return_sequences` or `(batch, units)`;
        with `return_state`, the list `[outputs, h_T]`.

    Example:

    ```python
    import keras
    import numpy as np
    from rnnzoo.layers import GRU

    inputs = np.random.random((32, 10, 8)).astype("float32")
    builtin = keras.layers.GRU(4)
    expected = builtin(inputs)
    gru = GRU.from_builtin(builtin)  # Keras's z convention converted
    np.allclose(gru(inputs), expected, atol=1e-5)  # True
    tuple(expected.shape)  # (32, 4)
    ```
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
