"""Bahdanau (additive) and Luong (general) attention: equations, shapes, masks, serialisation."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnzoo.layers.attention import BahdanauAttention, LuongAttention

B, T, S, DQ, DM = 3, 4, 6, 5, 7


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(B, T, DQ)).astype("float32")
    memory = rng.normal(size=(B, S, DM)).astype("float32")
    return query, memory


def _layers():
    return [BahdanauAttention(8), LuongAttention()]


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _reference_scores(layer, query, memory):
    if isinstance(layer, BahdanauAttention):
        w1, w2, v = (np.asarray(w) for w in (layer.query_kernel, layer.memory_kernel, layer.v))
        hidden = np.tanh((query @ w1)[:, :, None, :] + (memory @ w2)[:, None, :, :])
        return hidden @ v
    return query @ np.asarray(layer.kernel) @ memory.transpose(0, 2, 1)


@pytest.mark.parametrize("layer", _layers(), ids=["bahdanau", "luong"])
def test_equations_and_shapes(layer):
    query, memory = _inputs()
    context, weights = layer(query, memory)
    assert context.shape == (B, T, DM) and weights.shape == (B, T, S)
    expected = _softmax(_reference_scores(layer, query, memory))
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context, expected @ memory, rtol=1e-5, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(lengths=st.lists(st.integers(0, S), min_size=B, max_size=B),
       kind=st.sampled_from(["bahdanau", "luong"]))
def test_masked_positions_get_zero_weight(lengths, kind):
    layer = BahdanauAttention(8) if kind == "bahdanau" else LuongAttention()
    query, memory = _inputs()
    mask = np.arange(S)[None, :] < np.array(lengths)[:, None]
    context, weights = (np.asarray(x) for x in layer(query, memory, memory_mask=mask))
    assert np.all(weights[~np.broadcast_to(mask[:, None, :], weights.shape)] == 0.0)
    sums = weights.sum(-1)
    has_tokens = np.array(lengths) > 0
    np.testing.assert_allclose(sums[has_tokens], 1.0, rtol=1e-5)
    np.testing.assert_array_equal(sums[~has_tokens], 0.0)
    assert np.all(np.isfinite(context))
    expected = _softmax(np.where(mask[:, None, :], _reference_scores(layer, query, memory), -1e9))
    expected = np.where(mask[:, None, :], expected, 0.0)
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-6)


def test_masks_flow_through_a_functional_model():
    query_ids = keras.Input((None,), dtype="int32")
    memory_ids = keras.Input((None,), dtype="int32")
    query = keras.layers.Embedding(5, DQ, mask_zero=True)(query_ids)
    memory = keras.layers.Embedding(5, DM, mask_zero=True)(memory_ids)
    context, weights = LuongAttention()(query, memory)
    assert context._keras_mask is not None and weights._keras_mask is not None
    model = keras.Model([query_ids, memory_ids], weights)
    out = np.asarray(model([np.array([[1, 2, 0]]), np.array([[3, 4, 4, 0, 0]])]))
    np.testing.assert_array_equal(out[..., 3:], 0.0)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("layer", _layers(), ids=["bahdanau", "luong"])
def test_config_round_trip(layer):
    query, memory = _inputs()
    expected = layer(query, memory)[1]
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"].startswith("rnnzoo>")
    clone = keras.saving.deserialize_keras_object(config)
    clone(query, memory)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(query, memory)[1], expected, rtol=1e-6)


def test_bahdanau_rejects_bad_units():
    with pytest.raises(ValueError, match="units"):
        BahdanauAttention(0)
