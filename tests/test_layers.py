"""Explicit layers equal Keras's built-ins: outputs, states and gradients, across the surface."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnzoo import layers as rz
from rnnzoo.layers import recurrence

KINDS = {
    "rnn": (keras.layers.SimpleRNN, rz.SimpleRNN, {}),
    "lstm": (keras.layers.LSTM, rz.LSTM, {}),
    "gru": (keras.layers.GRU, rz.GRU, {}),
    "gru_before": (keras.layers.GRU, rz.GRU, {"reset_after": False}),
}


def _random_weights(layer, rng, scale=0.5):
    layer.set_weights([rng.normal(size=w.shape).astype("float32") * scale for w in layer.get_weights()])


def _pair(kind, units, input_dim, rng, **kwargs):
    builtin_cls, explicit_cls, extra = KINDS[kind]
    builtin = builtin_cls(units, **extra, **kwargs)
    builtin.build((None, None, input_dim))
    _random_weights(builtin, rng)
    return builtin, explicit_cls.from_builtin(builtin)


def _gru_grads_to_keras(grads, units):
    """Gradients w.r.t. rnnzoo's GRU weights, expressed for Keras's (z negated)."""
    return [np.concatenate([-g[..., :units], g[..., units:]], axis=-1) for g in grads]


def _mask(kind, batch, steps, rng):
    if kind == "none":
        return None
    if kind == "right":
        lengths = rng.integers(1, steps + 1, size=batch)
        return np.arange(steps)[None, :] < lengths[:, None]
    return rng.random((batch, steps)) < 0.7


def _run(layer, x, mask, initial_state):
    with tf.GradientTape() as tape:
        tape.watch(x)
        if initial_state is not None:
            tape.watch(initial_state)
        out = layer(x, mask=mask, initial_state=initial_state)
        out = out if isinstance(out, (list, tuple)) else [out]
        loss = sum(tf.reduce_sum(tf.sin(o) * o) for o in out)
    sources = [x] + list(initial_state or []) + layer.trainable_weights
    return [np.asarray(o) for o in out], [np.asarray(g) for g in tape.gradient(loss, sources)]


def _assert_grads_close(expected, actual, rtol=1e-4):
    for e, a in zip(expected, actual):
        scale = max(np.abs(e).max(), 1e-3)
        np.testing.assert_allclose(a, e, rtol=0, atol=rtol * scale)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(KINDS)),
    batch=st.integers(1, 4),
    steps=st.integers(1, 6),
    input_dim=st.integers(1, 5),
    units=st.integers(1, 5),
    go_backwards=st.booleans(),
    return_sequences=st.booleans(),
    mask_kind=st.sampled_from(["none", "right", "arbitrary"]),
    with_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_explicit_equals_builtin(kind, batch, steps, input_dim, units, go_backwards,
                                 return_sequences, mask_kind, with_state, seed):
    rng = np.random.default_rng(seed)
    builtin, explicit = _pair(kind, units, input_dim, rng, go_backwards=go_backwards,
                              return_sequences=return_sequences, return_state=True)
    x = tf.constant(rng.normal(size=(batch, steps, input_dim)).astype("float32"))
    mask = _mask(mask_kind, batch, steps, rng)
    state = None
    if with_state:
        n = 2 if kind == "lstm" else 1
        state = [tf.constant(rng.normal(size=(batch, units)).astype("float32")) for _ in range(n)]
    out_b, grads_b = _run(builtin, x, mask, state)
    out_e, grads_e = _run(explicit, x, mask, state)
    for b, e in zip(out_b, out_e):
        np.testing.assert_allclose(e, b, atol=1e-5, rtol=0)
    n_inputs = len(grads_b) - 3
    if kind.startswith("gru"):
        grads_e = grads_e[:n_inputs] + _gru_grads_to_keras(grads_e[n_inputs:], units)
    _assert_grads_close(grads_b, grads_e)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bidirectional_with_mask(kind):
    rng = np.random.default_rng(1)
    builtin, explicit = _pair(kind, 3, 4, rng, return_sequences=True)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    bi_b = keras.layers.Bidirectional(builtin)
    bi_e = keras.layers.Bidirectional(explicit)
    bi_b.build(x.shape)
    bi_e.build(x.shape)
    weights = builtin.get_weights()
    bi_b.set_weights(weights + weights)
    bi_e.set_weights(explicit.get_weights() * 2)
    np.testing.assert_allclose(bi_e(x, mask=mask), bi_b(x, mask=mask), atol=1e-5)


def _tagger(kind, impl_cls, vocab=20):
    inputs = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(vocab, 6, mask_zero=True)(inputs)
    builtin_cls, explicit_cls, extra = KINDS[kind]
    cls = builtin_cls if impl_cls == "builtin" else explicit_cls
    h = keras.layers.Bidirectional(cls(5, return_sequences=True, **extra))(h)
    h = cls(4, return_sequences=True, **extra)(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_convert_model_round_trip(kind):
    model = _tagger(kind, "builtin")
    ids = np.array([[3, 4, 5, 0, 0], [7, 1, 2, 9, 11]])
    explicit = rz.convert_model(model, to="explicit")
    assert any(isinstance(layer, rz.GRU | rz.LSTM | rz.SimpleRNN) for layer in explicit.layers)
    np.testing.assert_allclose(explicit.predict(ids, verbose=0), model.predict(ids, verbose=0),
                               atol=1e-5)
    back = rz.convert_model(explicit, to="builtin")
    assert not any(isinstance(layer, rz.GRU | rz.LSTM | rz.SimpleRNN) for layer in back.layers)
    np.testing.assert_array_equal(back.predict(ids, verbose=0), model.predict(ids, verbose=0))


def test_convert_model_compares_the_target_by_value():
    """A ``to`` built at run time (equal, not the same object as the literal) converts alike."""
    model = _tagger("lstm", "builtin")
    explicit = rz.convert_model(model, to="".join(["exp", "licit"]))
    assert any(isinstance(layer, rz.LSTM) for layer in explicit.layers)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_keras_file_round_trip_safe_mode(kind, tmp_path):
    model = _tagger(kind, "explicit")
    ids = np.array([[3, 4, 5, 0, 0], [7, 1, 2, 9, 11]])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    assert type(loaded.layers[-2]) is type(model.layers[-2])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cell_in_keras_rnn_equals_fast_layer(kind):
    rng = np.random.default_rng(2)
    _, explicit = _pair(kind, 4, 3, rng, return_sequences=True)
    stepped = keras.layers.RNN(type(explicit.cell).from_config(explicit.cell.get_config()),
                               return_sequences=True)
    stepped.build((None, None, 3))
    stepped.set_weights(explicit.get_weights())
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1]], bool)
    np.testing.assert_allclose(explicit(x, mask=mask), stepped(x, mask=mask), atol=1e-5)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_stateful_carries_state_across_batches(kind):
    rng = np.random.default_rng(3)
    _, explicit_cls, extra = KINDS[kind]
    whole = explicit_cls(4, return_sequences=True, **extra)
    x = rng.normal(size=(2, 8, 3)).astype("float32")
    expected = whole(x)
    stateful = explicit_cls(4, return_sequences=True, stateful=True, **extra)
    stateful.build((2, None, 3))
    stateful.set_weights(whole.get_weights())
    halves = np.concatenate([stateful(x[:, :4]), stateful(x[:, 4:])], axis=1)
    np.testing.assert_allclose(halves, expected, atol=1e-5)
    stateful.reset_state()
    np.testing.assert_allclose(stateful(x[:, :4]), expected[:, :4], atol=1e-5)


def test_dropout_mask_is_the_same_at_every_step():
    layer = rz.SimpleRNN(8, dropout=0.5, return_sequences=True, seed=7,
                         recurrent_initializer="zeros", use_bias=False)
    x = np.ones((3, 5, 6), "float32")
    out = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(out, np.repeat(out[:, :1], 5, axis=1), atol=1e-6)
    assert not np.allclose(out, layer(x, training=False))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "gru_before"])
def test_hand_written_bptt_equals_autodiff_with_masks_and_recurrent_dropout(cell):
    rng = np.random.default_rng(4)
    steps, batch, units = 7, 3, 5
    gates = {"rnn": 1, "lstm": 4}.get(cell, 3)
    xw = tf.constant(rng.normal(size=(steps, batch, gates * units)))
    u = tf.constant(rng.normal(size=(units, gates * units)) * 0.5)
    b_rec = tf.constant(rng.normal(size=(3 * units,)))
    h0 = tf.constant(rng.normal(size=(batch, units)))
    c0 = tf.constant(rng.normal(size=(batch, units)))
    mask = tf.constant(rng.random((steps, batch, 1)) < 0.7)
    rmask = tf.constant((rng.random((batch, units)) < 0.6) / 0.6)
    weights = tf.constant(rng.normal(size=(steps, batch, units)))

    def both(fast):
        reset_after = cell == "gru"
        with tf.GradientTape() as tape:
            tape.watch([xw, u, b_rec, h0, c0])
            if cell == "rnn":
                hs = (recurrence.simple_rnn_sequence(xw, u, h0, mask, rmask) if fast
                      else recurrence._rnn_scan(xw, u, h0, mask, rmask, tf.tanh))
                extra = 0.0
            elif cell == "lstm":
                if fast:
                    hs, c = recurrence.lstm_sequence(xw, u, h0, c0, mask, rmask)
                else:
                    hs, c, _, _ = recurrence._lstm_scan(xw, u, h0, c0, mask, rmask, tf.tanh,
                                                        tf.sigmoid)
                extra = tf.reduce_sum(c * c)
            else:
                hs = (recurrence.gru_sequence(xw, u, b_rec, h0, mask, rmask,
                                              reset_after=reset_after) if fast
                      else recurrence._gru_scan(xw, u, b_rec, h0, mask, rmask, tf.tanh,
                                                tf.sigmoid, reset_after)[0])
                extra = 0.0
            loss = tf.reduce_sum(hs * weights) + extra
        grads = tape.gradient(loss, [xw, u, b_rec, h0, c0],
                              unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return hs, grads

    hs_fast, grads_fast = both(True)
    hs_auto, grads_auto = both(False)
    np.testing.assert_allclose(hs_fast, hs_auto, rtol=1e-12)
    for fast, auto in zip(grads_fast, grads_auto):
        np.testing.assert_allclose(fast, auto, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make, convert", [
    (lambda: keras.layers.SimpleRNN(4, activation="relu", return_sequences=True),
     rz.SimpleRNN.from_builtin),
    (lambda: keras.layers.LSTM(4, activation="relu", return_sequences=True),
     rz.LSTM.from_builtin),
    (lambda: keras.layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True),
     rz.LSTM.from_builtin),
    (lambda: keras.layers.GRU(4, activation="relu", return_sequences=True), rz.GRU.from_builtin),
    (lambda: keras.layers.GRU(4, recurrent_activation="hard_sigmoid", reset_after=False,
                              return_sequences=True), rz.GRU.from_builtin),
], ids=["rnn-relu", "lstm-relu", "lstm-hard-sigmoid", "gru-relu", "gru-before-hard-sigmoid"])
def test_non_default_activation_falls_back_to_autodiff_and_still_matches(make, convert):
    rng = np.random.default_rng(5)
    builtin = make()
    builtin.build((None, None, 3))
    _random_weights(builtin, rng)
    explicit = convert(builtin)
    x = tf.constant(rng.normal(size=(2, 5, 3)).astype("float32"))
    out_b, grads_b = _run(builtin, x, None, None)
    out_e, grads_e = _run(explicit, x, None, None)
    np.testing.assert_allclose(out_e[0], out_b[0], atol=1e-5)
    if isinstance(builtin, keras.layers.GRU):
        grads_e = grads_e[:1] + _gru_grads_to_keras(grads_e[1:], 4)
    _assert_grads_close(grads_b, grads_e)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: rz.LSTM(-3), "`units` must be a positive integer, got -3"),
        (lambda: rz.GRU(0), "`units` must be a positive integer, got 0"),
        (lambda: rz.SimpleRNN(4, activation="tanhh"), "unknown activation 'tanhh'"),
        (lambda: rz.LSTM(4, recurrent_activation="nope"),
         "unknown activation 'nope' for `recurrent_activation`"),
        (lambda: rz.GRU(4, dropout=1.5), "`dropout` must be a float in [0, 1)"),
        (lambda: rz.LSTM(4, unroll=True), "`unroll=True` is not supported"),
    ],
)
def test_bad_arguments_say_what_is_wrong(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert message in str(info.value)


def test_mismatched_initial_state_is_rejected():
    layer = rz.LSTM(4)
    x = np.zeros((2, 3, 5), "float32")
    with pytest.raises(ValueError, match=r"`initial_state\[0\]` must have shape \(2, 4\)"):
        layer(x, initial_state=[np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match="must hold 2 tensor"):
        layer(x, initial_state=[np.zeros((2, 4), "float32")])


def test_from_builtin_of_the_wrong_layer_type():
    with pytest.raises(TypeError, match="expects keras.layers.LSTM, got .*GRU"):
        rz.LSTM.from_builtin(keras.layers.GRU(3))
    with pytest.raises(TypeError, match="expects keras.layers.GRU, got .*Dense"):
        rz.GRU.from_builtin(keras.layers.Dense(3))


def test_gru_with_asymmetric_gate_activation_cannot_convert():
    with pytest.raises(ValueError, match="not symmetric"):
        rz.GRU.from_builtin(keras.layers.GRU(3, recurrent_activation="relu"))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_variable_length_graph_equals_fixed_shape_xla(kind):
    """Batches of varying length run the loops without XLA (no compile per length); the
    results equal the fixed-shape (XLA) path's."""
    rng = np.random.default_rng(6)
    builtin, explicit = _pair(kind, 5, 3, rng, return_sequences=True)
    x = tf.constant(rng.normal(size=(2, 7, 3)).astype("float32"))
    mask = tf.constant([[True] * 5 + [False] * 2, [True] * 7])

    def outputs_and_grads(inputs, m):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(tf.sin(explicit(inputs, mask=m)))
        return [loss] + tape.gradient(loss, [inputs] + explicit.trainable_weights)

    variable = tf.function(outputs_and_grads, input_signature=[
        tf.TensorSpec([None, None, 3], tf.float32), tf.TensorSpec([None, None], tf.bool)])
    fixed = outputs_and_grads(x, mask)
    for a, b in zip(variable(x, mask), fixed):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell_class, states, recurrent_dropout", [
    (rz.SimpleRNNCell, 1, 0.3), (rz.LSTMCell, 2, 0.3), (rz.GRUCell, 1, 0.0)])
def test_cell_dropout_multiplies_inputs_and_state_by_the_sequence_masks(cell_class, states,
                                                                        recurrent_dropout):
    """The masks multiply x_t and, where it enters only through W_hh, h_{t-1} (the GRU's blend
    (1 − z) h_{t-1} uses the undropped state, so its recurrent mask is not checked here)."""
    rng = np.random.default_rng(6)
    cell = cell_class(4, dropout=0.5, recurrent_dropout=recurrent_dropout, seed=1)
    cell.build((None, 3))
    _random_weights(cell, rng)
    plain = cell_class(4)
    plain.build((None, 3))
    plain.set_weights(cell.get_weights())
    x = tf.constant(rng.normal(size=(2, 3)).astype("float32"))
    state = [tf.constant(rng.normal(size=(2, 4)).astype("float32")) for _ in range(states)]
    out, _ = cell(x, state, training=True)
    mask = cell.get_dropout_mask(x)
    recurrent_mask = cell.get_recurrent_dropout_mask(state[0]) if recurrent_dropout else 1.0
    assert 0.0 < float(tf.reduce_mean(tf.cast(mask == 0, "float32"))) < 1.0
    expected, _ = plain(x * mask, [state[0] * recurrent_mask, *state[1:]], training=False)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    inference, _ = cell(x, state, training=False)
    np.testing.assert_allclose(inference, plain(x, state)[0], rtol=1e-6)
