"""rnnzoo.reference against Keras layers, tf.GradientTape and finite differences."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnzoo import reference as ref

dims = st.fixed_dictionaries(
    {
        "B": st.integers(1, 3),
        "T": st.integers(1, 6),
        "I": st.integers(1, 5),
        "H": st.integers(1, 6),
        "seed": st.integers(0, 2**16),
    }
)
keras_settings = settings(max_examples=8, deadline=None)


def normal(rng, *shape, scale=0.5, dtype=np.float32):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def run_keras(layer, x, initial_state, weights):
    layer.build(x.shape)
    layer.set_weights(weights)
    return [np.asarray(v) for v in layer(x, initial_state=initial_state)]


@keras_settings
@given(dims)
def test_rnn_forward_matches_keras_simple_rnn(d):
    rng = np.random.default_rng(d["seed"])
    B, T, I, H = d["B"], d["T"], d["I"], d["H"]
    x = normal(rng, B, T, I, scale=1.0)
    W_xh, W_hh, b_h, h0 = normal(rng, H, I), normal(rng, H, H), normal(rng, H), normal(rng, B, H)

    out = ref.rnn_forward(x.transpose(1, 0, 2), W_xh, W_hh, b_h, h0=h0)
    layer = keras.layers.SimpleRNN(H, return_sequences=True, return_state=True)
    seq, h_T = run_keras(layer, x, [h0], [W_xh.T, W_hh.T, b_h])

    assert out.h.dtype == np.float32 and out.y is None
    np.testing.assert_allclose(out.h.transpose(1, 0, 2), seq, rtol=0, atol=1e-5)
    np.testing.assert_allclose(out.h[-1], h_T, rtol=0, atol=1e-5)


@keras_settings
@given(dims)
def test_lstm_forward_matches_keras_lstm(d):
    rng = np.random.default_rng(d["seed"])
    B, T, I, H = d["B"], d["T"], d["I"], d["H"]
    x = normal(rng, B, T, I, scale=1.0)
    kernel, recurrent, bias = normal(rng, I, 4 * H), normal(rng, H, 4 * H), normal(rng, 4 * H)
    h0, c0 = normal(rng, B, H), normal(rng, B, H)

    seq, (h_T, c_T) = ref.lstm_forward(x, kernel, recurrent, bias, h0=h0, c0=c0)
    layer = keras.layers.LSTM(H, return_sequences=True, return_state=True)
    k_seq, k_h, k_c = run_keras(layer, x, [h0, c0], [kernel, recurrent, bias])

    assert seq.dtype == np.float32
    np.testing.assert_allclose(seq, k_seq, rtol=0, atol=1e-5)
    np.testing.assert_allclose(h_T, k_h, rtol=0, atol=1e-5)
    np.testing.assert_allclose(c_T, k_c, rtol=0, atol=1e-5)


def negate_z(kernel, recurrent, bias, H):
    """Keras's GRU weights -> rnnzoo's (and back): σ(−a) = 1 − σ(a) swaps z and 1 − z."""
    kernel, recurrent, bias = kernel.copy(), recurrent.copy(), bias.copy()
    kernel[:, :H] *= -1
    recurrent[:, :H] *= -1
    bias[..., :H] *= -1
    return kernel, recurrent, bias


@pytest.mark.parametrize("reset_after", [True, False])
@keras_settings
@given(d=dims)
def test_gru_forward_matches_keras_gru(d, reset_after):
    rng = np.random.default_rng(d["seed"])
    B, T, I, H = d["B"], d["T"], d["I"], d["H"]
    x = normal(rng, B, T, I, scale=1.0)
    bias_shape = (2, 3 * H) if reset_after else (3 * H,)
    kernel, recurrent, bias = normal(rng, I, 3 * H), normal(rng, H, 3 * H), normal(rng, *bias_shape)
    h0 = normal(rng, B, H)

    layer = keras.layers.GRU(H, reset_after=reset_after, return_sequences=True, return_state=True)
    k_seq, k_h = run_keras(layer, x, [h0], [kernel, recurrent, bias])
    seq, h_T = ref.gru_forward(x, *negate_z(kernel, recurrent, bias, H), h0=h0, reset_after=reset_after)

    assert seq.dtype == np.float32
    np.testing.assert_allclose(seq, k_seq, rtol=0, atol=1e-5)
    np.testing.assert_allclose(h_T, k_h, rtol=0, atol=1e-5)


def rnn_problem(seed, T=5, B=3, I=4, H=6, O=3):
    rng = np.random.default_rng(seed)
    params = {
        "x": rng.standard_normal((T, B, I)),
        "W_xh": 0.5 * rng.standard_normal((H, I)),
        "W_hh": 0.5 * rng.standard_normal((H, H)),
        "b_h": 0.5 * rng.standard_normal(H),
        "W_hy": 0.5 * rng.standard_normal((O, H)),
        "b_y": 0.5 * rng.standard_normal(O),
        "h0": 0.5 * rng.standard_normal((B, H)),
    }
    return params, rng.standard_normal((T, B, O))


GRAD_NAMES = {"x": "dx", "W_xh": "dW_xh", "W_hh": "dW_hh", "b_h": "db_h", "W_hy": "dW_hy",
              "b_y": "db_y", "h0": "dh0"}


def assert_close_relative(actual, expected, rtol):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rnn_bptt_matches_gradient_tape(seed):
    params, dy = rnn_problem(seed)
    grads = ref.rnn_bptt(**params, dy=dy)

    v = {k: tf.constant(a) for k, a in params.items()}
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(list(v.values()))
        h, pre, hs, ys = v["h0"], [], [], []
        for t in range(len(dy)):
            pre.append(h @ tf.transpose(v["W_hh"]) + v["x"][t] @ tf.transpose(v["W_xh"]) + v["b_h"])
            h = tf.tanh(pre[-1])
            hs.append(h)
            ys.append(h @ tf.transpose(v["W_hy"]) + v["b_y"])
        loss = tf.reduce_sum(dy * tf.stack(ys))

    for name, grad_name in GRAD_NAMES.items():
        assert_close_relative(getattr(grads, grad_name), tape.gradient(loss, v[name]).numpy(), 1e-6)
    assert_close_relative(grads.delta_h, np.stack([g.numpy() for g in tape.gradient(loss, pre)]), 1e-6)
    assert_close_relative(grads.dh, np.stack([g.numpy() for g in tape.gradient(loss, hs)]), 1e-6)


def test_rnn_bptt_matches_central_finite_differences():
    params, dy = rnn_problem(seed=3)
    grads = ref.rnn_bptt(**params, dy=dy)
    rng = np.random.default_rng(4)
    eps = 1e-6

    def loss(p):
        return np.sum(dy * ref.rnn_forward(**p).y)

    for name, grad_name in GRAD_NAMES.items():
        analytic = getattr(grads, grad_name)
        for _ in range(3):
            idx = tuple(rng.integers(n) for n in params[name].shape)
            plus, minus = dict(params), dict(params)
            plus[name] = params[name].copy()
            minus[name] = params[name].copy()
            plus[name][idx] += eps
            minus[name][idx] -= eps
            numeric = (loss(plus) - loss(minus)) / (2 * eps)
            np.testing.assert_allclose(analytic[idx], numeric, rtol=1e-5, atol=1e-9, err_msg=f"{name}{idx}")


def test_lstm_hidden_gradients_match_gradient_tape():
    rng = np.random.default_rng(5)
    B, T, I, H = 2, 6, 3, 4
    x = rng.standard_normal((B, T, I))
    kernel, recurrent = rng.standard_normal((I, 4 * H)), rng.standard_normal((H, 4 * H))
    bias = rng.standard_normal(4 * H)
    h0, c0, d_out = rng.standard_normal((B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, T, H))

    dh = ref.lstm_hidden_gradients(x, kernel, recurrent, bias, d_out, h0=h0, c0=c0)

    with tf.GradientTape() as tape:
        h, c, hs = tf.constant(h0), tf.constant(c0), []
        tape.watch(h)
        for t in range(T):
            i, f, g, o = tf.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=-1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            hs.append(h)
        loss = tf.reduce_sum(d_out * tf.stack(hs, axis=1))
    expected = np.stack([g.numpy() for g in tape.gradient(loss, hs)], axis=1)

    assert dh.shape == (B, T, H)
    assert_close_relative(dh, expected, 1e-6)


def test_rnn_gradient_vanishes_faster_than_lstm():
    rnn = ref.gradient_norms_over_time("rnn", T=100, H=64, seed=0)
    lstm = ref.gradient_norms_over_time("lstm", T=100, H=64, seed=0)

    assert rnn.shape == lstm.shape == (100,)
    # Same loss gradient g at the last step for both cells.
    np.testing.assert_allclose(rnn[-1], lstm[-1], rtol=1e-12)
    # Measured: rnn[0] / rnn[-1] ≈ 1.8e-14, lstm[0] / rnn[0] ≈ 1.5e4
    # (seeds 0-3: 6e-15 to 1.8e-14 and 1.5e4 to 1.6e5).
    assert rnn[0] / rnn[-1] < 1e-12
    assert lstm[0] / rnn[0] > 1e3


def test_gradient_norms_rejects_unknown_cell():
    with pytest.raises(ValueError, match="gru"):
        ref.gradient_norms_over_time("gru")
