"""Conversion between rnnzoo's explicit layers and Keras's built-in ones, weights included.

The weights share Keras's layout, so conversion copies them, except for the GRU's update gate:
rnnzoo writes h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃_t and Keras h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃_t,
so the z pre-activation changes sign (σ(−a) = 1 − σ(a)) in both directions.
"""

from __future__ import annotations

from typing import Literal

import keras
import numpy as np

from rnnzoo.layers.recurrent import GRU, LSTM, SimpleRNN, _FastRNN

BUILTIN = {SimpleRNN: keras.layers.SimpleRNN, LSTM: keras.layers.LSTM, GRU: keras.layers.GRU}
EXPLICIT = {builtin: explicit for explicit, builtin in BUILTIN.items()}
_SYMMETRIC_GATES = ("sigmoid", "hard_sigmoid")
_BUILTIN_ONLY = ("use_cudnn", "implementation")


def _flip_update_gate(weights: list[np.ndarray], units: int) -> list[np.ndarray]:
    """Negates the z block (the first ``units`` columns) of kernel, recurrent kernel and bias."""
    flipped = []
    for w in weights:
        w = np.array(w, copy=True)
        w[..., :units] = -w[..., :units]
        flipped.append(w)
    return flipped


def _check_gru_gate(layer: keras.layers.Layer) -> None:
    name = getattr(layer.cell.recurrent_activation, "__name__", "")
    if name not in _SYMMETRIC_GATES:
        raise ValueError(
            f"cannot convert GRU {layer.name!r}: its recurrent_activation {name!r} is not "
            f"symmetric (σ(−a) = 1 − σ(a)); only {_SYMMETRIC_GATES} map between the two "
            "update-gate conventions"
        )


def _converted_weights(source: keras.layers.Layer) -> list[np.ndarray]:
    weights = source.get_weights()
    if isinstance(source, (GRU, keras.layers.GRU)):
        _check_gru_gate(source)
        weights = _flip_update_gate(weights, source.cell.units)
    return weights


def _copy_into(target: keras.layers.Layer, source: keras.layers.Layer) -> keras.layers.Layer:
    if source.built:
        shape = (None, None, source.cell.kernel.shape[0])
        if source.stateful:
            shape = (source.states[0].shape[0],) + shape[1:]
        target.build(shape)
        target.set_weights(_converted_weights(source))
    return target


def from_builtin(layer: keras.layers.Layer, cls: type | None = None) -> _FastRNN:
    """The explicit layer equal to a built-in ``SimpleRNN``/``LSTM``/``GRU`` (weights copied)."""
    expected = BUILTIN.get(cls) if cls is not None else None
    kind = type(layer)
    if kind not in EXPLICIT or (expected is not None and kind is not expected):
        wanted = f"keras.layers.{expected.__name__}" if expected else "a built-in recurrent layer"
        raise TypeError(
            f"from_builtin expects {wanted}, got {kind.__module__}.{kind.__name__} "
            f"({layer.name!r})"
        )
    if isinstance(layer, keras.layers.GRU):
        _check_gru_gate(layer)
    config = {k: v for k, v in layer.get_config().items() if k not in _BUILTIN_ONLY}
    return _copy_into(EXPLICIT[kind].from_config(config), layer)


def to_builtin(layer: _FastRNN) -> keras.layers.Layer:
    """The built-in Keras layer equal to an explicit one (weights copied)."""
    if type(layer) not in BUILTIN:
        kind = type(layer)
        raise TypeError(
            f"to_builtin expects an rnnzoo SimpleRNN, LSTM or GRU, got "
            f"{kind.__module__}.{kind.__name__}"
        )
    if isinstance(layer, GRU):
        _check_gru_gate(layer)
    return _copy_into(BUILTIN[type(layer)].from_config(layer.get_config()), layer)


def _convert_layer(layer: keras.layers.Layer, to: str) -> keras.layers.Layer | None:
    table = EXPLICIT if to == "explicit" else BUILTIN
    if type(layer) in table:
        return from_builtin(layer) if to == "explicit" else to_builtin(layer)
    if isinstance(layer, keras.layers.Bidirectional) and type(layer.forward_layer) in table:
        forward = _convert_layer(layer.forward_layer, to)
        backward = _convert_layer(layer.backward_layer, to)
        wrapper = keras.layers.Bidirectional(
            forward, backward_layer=backward, merge_mode=layer.merge_mode, name=layer.name
        )
        return wrapper
    return None


def convert_model(model: keras.Model, to: Literal["explicit", "builtin"]) -> keras.Model:
    """A copy of a Sequential or functional ``model`` whose recurrent layers (also inside
    ``Bidirectional``) are rnnzoo's explicit ones (``to="explicit"``) or Keras's built-in ones
    (``to="builtin"``); every weight is carried over, so predictions are unchanged.
    """
    if to not in ("explicit", "builtin"):
        raise ValueError(f"convert_model: `to` must be 'explicit' or 'builtin', got {to!r}")
    if not isinstance(model, keras.Model):
        raise TypeError(f"convert_model expects a keras.Model, got {type(model).__name__}")

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        converted = _convert_layer(layer, to)
        return converted if converted is not None else layer.__class__.from_config(
            layer.get_config()
        )

    copy = keras.models.clone_model(model, clone_function=clone)
    for old, new in zip(model.layers, copy.layers):
        if isinstance(old, keras.layers.Bidirectional) and type(old.forward_layer) in {
            **BUILTIN, **EXPLICIT
        }:
            new.set_weights(
                _converted_weights(old.forward_layer) + _converted_weights(old.backward_layer)
            )
        elif type(old) in BUILTIN or type(old) in EXPLICIT:
            new.set_weights(_converted_weights(old))
        else:
            new.set_weights(old.get_weights())
    return copy
