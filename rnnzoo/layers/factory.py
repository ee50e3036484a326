"""Choosing a recurrent layer by name: cell (rnn, lstm, gru) × implementation (explicit, builtin)."""

from __future__ import annotations

import keras

from rnnzoo.layers.recurrent import GRU, LSTM, SimpleRNN

_CLASSES = {
    ("rnn", "explicit"): SimpleRNN,
    ("lstm", "explicit"): LSTM,
    ("gru", "explicit"): GRU,
    ("rnn", "builtin"): keras.layers.SimpleRNN,
    ("lstm", "builtin"): keras.layers.LSTM,
    ("gru", "builtin"): keras.layers.GRU,
}


def recurrent_layer(cell: str, implementation: str, units: int, **kwargs) -> keras.layers.Layer:
    """A new recurrent layer: ``explicit`` (rnnzoo's, the CPU fast path) or ``builtin``
    (Keras's, cuDNN on GPU); keyword arguments as Keras's layers take them.

    Args:
        cell: The recurrence: `"rnn"` (h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)), `"lstm"` or
            `"gru"`.
        implementation: `"explicit"` (:mod:`rnnzoo.layers.recurrent`) or `"builtin"`
            (`keras.layers`).
        units: Positive integer, dimensionality of the output space.
        **kwargs: The layer's other arguments (`return_sequences`, `dropout`, `name`...);
            `reset_after` is dropped unless `cell` is `"gru"`.

    Returns:
        The new, unbuilt layer.

    Raises:
        ValueError: For an unknown `cell` or `implementation`.

    Example:

    ```python
    import keras
    from rnnzoo.layers import GRU, recurrent_layer

    gru = recurrent_layer("gru", "explicit", 8, return_sequences=True)
    isinstance(gru, GRU)  # True
    lstm = recurrent_layer("lstm", "builtin", 8, reset_after=True)  # reset_after dropped
    isinstance(lstm, keras.layers.LSTM)  # True
    ```
    """
    try:
        cls = _CLASSES[(cell, implementation)]
    except KeyError:
        raise ValueError(
            f"unknown recurrent layer cell={cell!r}, implementation={implementation!r}: cell is "
            "one of 'rnn', 'lstm', 'gru' and implementation one of 'explicit', 'builtin'"
        ) from None
    if cell != "gru":
        kwargs.pop("reset_after", None)
    return cls(units, **kwargs)
