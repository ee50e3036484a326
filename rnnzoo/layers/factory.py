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
    (Keras's, cuDNN on GPU); keyword arguments as Keras's layers take them."""
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
