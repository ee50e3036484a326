"""Whole-sequence recurrences: the CPU fast path, with hand-written BPTT.

Every function here takes ``xw``, the input projection ``x_t W + b`` of *all* time steps,
computed beforehand in one matmul, time-major ``(T, B, G·H)``; only ``h_{t-1} U`` remains
inside the compiled loop. With the default activations (tanh and sigmoid) the backward pass is
written by hand (``tf.custom_gradient``): one reverse loop yields ``δa_t``, the gradient of
every gate pre-activation, and then ``∂L/∂U = Σ_t h_{t-1}ᵀ δa_t`` is a single GEMM (and
``∂L/∂W``, ``∂L/∂x`` follow from ``δa`` by autodiff of the input matmul, also one GEMM each).
Other activations use autodiff through the same loop.

Shared conventions:
- ``mask``: ``None`` or bool ``(T, B, 1)``; at a masked step the states are carried unchanged.
- ``rmask``: ``None`` or ``(B, H)``, the recurrent-dropout mask applied to ``h_{t-1}`` before
  it is multiplied by ``U`` (the same mask at every step).
- Each function returns the carried hidden states of every step, ``(T, B, H)`` (and, for the
  LSTM, the final cell state).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

Activation = Callable[[tf.Tensor], tf.Tensor]

_compiled = tf.function(jit_compile=True, reduce_retracing=True)
_traced = tf.function(reduce_retracing=True)


class _Loop:
    """A loop function traced two ways. With XLA, which fuses each step's element-wise ops into
    one kernel (the backward loop runs 1.7× faster on CPU) but compiles once per shape: used
    when the time and batch sizes are fixed in the graph (BPTT windows, benchmarks). Without XLA
    when they vary (bucketed batches), where a compile per new length would cost more than it
    saves. Autodiff cannot cross an XLA boundary holding a TensorList, so the autodiff fallback
    (other activations) always takes the plain graph."""

    def __init__(self, fn: Callable):
        self.xla = _compiled(fn)
        self.graph = _traced(fn)

    def __call__(self, *args, fixed: bool):
        return (self.xla if fixed else self.graph)(*args)


def _fixed(xw: tf.Tensor) -> bool:
    """Whether the graph fixes the time and batch sizes (an eager call always does)."""
    return None not in tuple(xw.shape[:2])


def _scan(
    fn: Callable,
    elems: Sequence[tf.Tensor | None],
    carry: tuple,
    num_outputs: int,
    reverse: bool = False,
) -> tuple:
    """``carry, outs_t = fn(t, elems_t, carry)`` over the time axis in one ``tf.while_loop``.

    ``elems`` may hold ``None`` (passed on as ``None``); returns the final carry and the
    per-step outputs stacked to ``(T, ...)``.
    """
    present = [e for e in elems if e is not None]
    steps = tf.shape(present[0])[0]
    readers = [
        None if e is None else tf.TensorArray(e.dtype, size=steps).unstack(e) for e in elems
    ]
    writers = tuple(
        tf.TensorArray(carry[0].dtype, size=steps) for _ in range(num_outputs)
    )

    def body(i, carry, writers):
        t = steps - 1 - i if reverse else i
        elems_t = [None if r is None else r.read(t) for r in readers]
        new_carry, outs = fn(t, elems_t, carry)
        carry = tuple(tf.ensure_shape(new, old.shape) for new, old in zip(new_carry, carry))
        writers = tuple(w.write(t, o) for w, o in zip(writers, outs))
        return i + 1, carry, writers

    _, carry, writers = tf.while_loop(
        lambda i, *_: i < steps,
        body,
        (tf.constant(0), carry, writers),
        maximum_iterations=steps,
    )
    return carry, tuple(w.stack() for w in writers)


def _carry(m: tf.Tensor | None, new: tf.Tensor, old: tf.Tensor) -> tf.Tensor:
    """State update under a mask: ``new`` where the step is valid, else ``old``."""
    return new if m is None else tf.where(m, new, old)


def _split_masked(m: tf.Tensor | None, grad: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Backward of :func:`_carry`: the part of ``grad`` that reaches the new and the old state."""
    if m is None:
        return grad, tf.zeros_like(grad)
    zeros = tf.zeros_like(grad)
    return tf.where(m, grad, zeros), tf.where(m, zeros, grad)


def _dropped(h: tf.Tensor, rmask: tf.Tensor | None) -> tf.Tensor:
    return h if rmask is None else h * rmask


def _previous(seq: tf.Tensor, first: tf.Tensor) -> tf.Tensor:
    """``[first, seq_0, …, seq_{T-2}]``: the state entering each step."""
    return tf.concat([first[None], seq[:-1]], axis=0)


def _sum_outer(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """``Σ_t a_tᵀ b_t`` over time and batch as one GEMM."""
    return tf.matmul(
        tf.reshape(a, (-1, tf.shape(a)[-1])), tf.reshape(b, (-1, tf.shape(b)[-1])), transpose_a=True
    )


def _detached(*tensors: tf.Tensor) -> list[tf.Tensor]:
    """Inputs for a forward pass whose gradient is written by hand: no tape may record it."""
    return [tf.stop_gradient(t) for t in tensors]


def _zeros_if_none(grad: tf.Tensor | None, like: tf.Tensor) -> tf.Tensor:
    return tf.zeros_like(like) if grad is None else grad


def _is(fn: Activation, name: str) -> bool:
    return getattr(fn, "__name__", None) == name


# SimpleRNN: h_t = act(x_t W_xh + h_{t-1} W_hh + b_h)


def _rnn_scan(xw, u, h0, mask, rmask, act):
    def step(t, elems, carry):
        xw_t, m = elems
        (h,) = carry
        h_new = act(xw_t + tf.matmul(_dropped(h, rmask), u))
        h = _carry(m, h_new, h)
        return (h,), (h,)

    _, (hs,) = _scan(step, [xw, mask], (h0,), 1)
    return hs


_rnn_scan_loop = _Loop(_rnn_scan)


def _rnn_backward(dhs, hs, u, h0, mask, rmask):
    u_t = tf.transpose(u)

    def step(t, elems, carry):
        dh_t, h_t, m = elems
        (dh_next,) = carry
        dh_new, dh_pass = _split_masked(m, dh_t + dh_next)
        da = dh_new * (1.0 - h_t * h_t)
        dh_prev = _dropped(tf.matmul(da, u_t), rmask) + dh_pass
        return (dh_prev,), (da,)

    (dh0,), (da,) = _scan(step, [dhs, hs, mask], (tf.zeros_like(h0),), 1, reverse=True)
    du = _sum_outer(_dropped(_previous(hs, h0), rmask), da)
    return da, du, dh0


_rnn_backward_loop = _Loop(_rnn_backward)


def simple_rnn_sequence(
    xw: tf.Tensor,
    u: tf.Tensor,
    h0: tf.Tensor,
    mask: tf.Tensor | None = None,
    rmask: tf.Tensor | None = None,
    activation: Activation = tf.tanh,
) -> tf.Tensor:
    """SimpleRNN over a sequence: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h).

    Backward (tanh): δ^h_t = (∂L/∂h_t + W_hhᵀ δa_{t+1}) and δa_t = δ^h_t ⊙ (1 − h_t²);
    ∂L/∂W_hh = Σ_t h_{t-1}ᵀ δa_t.
    """
    if not _is(activation, "tanh"):
        return _rnn_scan_loop(xw, u, h0, mask, rmask, activation, fixed=False)

    @tf.custom_gradient
    def forward(xw, u, h0):
        fixed = _fixed(xw)
        hs = _rnn_scan_loop(*_detached(xw, u, h0), mask, rmask, tf.tanh, fixed=fixed)

        def grad(dhs):
            return _rnn_backward_loop(dhs, hs, u, h0, mask, rmask, fixed=fixed)

        return hs, grad

    return forward(xw, u, h0)


# LSTM (gate order i, f, c, o):
#   i, f, o = σ(·); c̃_t = tanh(·); c_t = f ⊙ c_{t-1} + i ⊙ c̃_t; h_t = o ⊙ tanh(c_t)


def _lstm_scan(xw, u, h0, c0, mask, rmask, act, rec_act):
    def step(t, elems, carry):
        xw_t, m = elems
        h, c = carry
        z = xw_t + tf.matmul(_dropped(h, rmask), u)
        zi, zf, zc, zo = tf.split(z, 4, axis=-1)
        i, f, g, o = rec_act(zi), rec_act(zf), act(zc), rec_act(zo)
        c_new = f * c + i * g
        h_new = o * act(c_new)
        h, c = _carry(m, h_new, h), _carry(m, c_new, c)
        return (h, c), (h, c, tf.concat([i, f, g, o], axis=-1))

    (_, c_last), (hs, cs, gates) = _scan(step, [xw, mask], (h0, c0), 3)
    return hs, c_last, cs, gates


_lstm_scan_loop = _Loop(_lstm_scan)


def _lstm_backward(dhs, dc_last, hs, cs, gates, u, h0, c0, mask, rmask):
    u_t = tf.transpose(u)

    def step(t, elems, carry):
        dh_t, c_t, c_prev, gates_t, m = elems
        dh_next, dc_next = carry
        dh, dh_pass = _split_masked(m, dh_t + dh_next)
        dc, dc_pass = _split_masked(m, dc_next)
        i, f, g, o = tf.split(gates_t, 4, axis=-1)
        tc = tf.tanh(c_t)
        dc = dc + dh * o * (1.0 - tc * tc)
        da = tf.concat(
            [
                dc * g * i * (1.0 - i),
                dc * c_prev * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tc * o * (1.0 - o),
            ],
            axis=-1,
        )
        dh_prev = _dropped(tf.matmul(da, u_t), rmask) + dh_pass
        return (dh_prev, dc * f + dc_pass), (da,)

    (dh0, dc0), (da,) = _scan(
        step,
        [dhs, cs, _previous(cs, c0), gates, mask],
        (tf.zeros_like(h0), dc_last),
        1,
        reverse=True,
    )
    du = _sum_outer(_dropped(_previous(hs, h0), rmask), da)
    return da, du, dh0, dc0


_lstm_backward_loop = _Loop(_lstm_backward)


def lstm_sequence(
    xw: tf.Tensor,
    u: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    mask: tf.Tensor | None = None,
    rmask: tf.Tensor | None = None,
    activation: Activation = tf.tanh,
    recurrent_activation: Activation = tf.sigmoid,
) -> tuple[tf.Tensor, tf.Tensor]:
    """LSTM over a sequence; returns (h of every step, final c).

    f,i,o = σ(W_x· x_t + W_h· h_{t-1} + b_·); c̃_t = tanh(W_xc x_t + W_hc h_{t-1} + b_c);
    c_t = f ⊙ c_{t-1} + i ⊙ c̃_t; h_t = o ⊙ tanh(c_t).
    Backward: δc_t = δc_{t+1} ⊙ f_{t+1} + δh_t ⊙ o ⊙ (1 − tanh²c_t); δo = δh_t ⊙ tanh c_t;
    δi = δc_t ⊙ c̃; δf = δc_t ⊙ c_{t-1}; δc̃ = δc_t ⊙ i; through σ' = σ(1 − σ), tanh' = 1 − tanh².
    """
    if not (_is(activation, "tanh") and _is(recurrent_activation, "sigmoid")):
        hs, c_last, _, _ = _lstm_scan_loop(
            xw, u, h0, c0, mask, rmask, activation, recurrent_activation, fixed=False
        )
        return hs, c_last

    @tf.custom_gradient
    def forward(xw, u, h0, c0):
        fixed = _fixed(xw)
        hs, c_last, cs, gates = _lstm_scan_loop(
            *_detached(xw, u, h0, c0), mask, rmask, tf.tanh, tf.sigmoid, fixed=fixed
        )

        def grad(dhs, dc_last):
            return _lstm_backward_loop(
                _zeros_if_none(dhs, hs), _zeros_if_none(dc_last, c0), hs, cs, gates, u, h0, c0,
                mask, rmask, fixed=fixed,
            )

        return (hs, c_last), grad

    return forward(xw, u, h0, c0)


# GRU (gate order z, r, h; rnnzoo's convention h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃_t)


def _gru_scan(xw, u, b_rec, h0, mask, rmask, act, rec_act, reset_after):
    u_z, u_r, u_h = tf.split(u, 3, axis=-1)
    u_zr = tf.concat([u_z, u_r], axis=-1)

    def step(t, elems, carry):
        xw_t, m = elems
        (h,) = carry
        hd = _dropped(h, rmask)
        xz, xr, xh = tf.split(xw_t, 3, axis=-1)
        if reset_after:
            inner = tf.matmul(hd, u) + b_rec
            iz, ir, ih = tf.split(inner, 3, axis=-1)
            z, r = rec_act(xz + iz), rec_act(xr + ir)
            hh = act(xh + r * ih)
            saved = tf.concat([z, r, hh, ih], axis=-1)
        else:
            inner = tf.matmul(hd, u_zr)
            iz, ir = tf.split(inner, 2, axis=-1)
            z, r = rec_act(xz + iz), rec_act(xr + ir)
            hh = act(xh + tf.matmul(r * hd, u_h))
            saved = tf.concat([z, r, hh], axis=-1)
        h = _carry(m, h + z * (hh - h), h)
        return (h,), (h, saved)

    _, (hs, saved) = _scan(step, [xw, mask], (h0,), 2)
    return hs, saved


_gru_scan_loop = _Loop(_gru_scan)


def _gru_backward(dhs, hs, saved, u, b_rec, h0, mask, rmask, reset_after):
    u_t = tf.transpose(u)
    u_z_t, u_r_t, u_h_t = tf.split(u_t, 3, axis=0)
    u_zr_t = tf.concat([u_z_t, u_r_t], axis=0)

    def step(t, elems, carry):
        dh_t, h_prev, saved_t, m = elems
        (dh_next,) = carry
        dh, dh_pass = _split_masked(m, dh_t + dh_next)
        if reset_after:
            z, r, hh, ih = tf.split(saved_t, 4, axis=-1)
        else:
            z, r, hh = tf.split(saved_t, 3, axis=-1)
        daz = dh * (hh - h_prev) * z * (1.0 - z)
        dah = dh * z * (1.0 - hh * hh)
        if reset_after:
            dar = dah * ih * r * (1.0 - r)
            dinner = tf.concat([daz, dar, dah * r], axis=-1)
            drec = tf.matmul(dinner, u_t)
        else:
            drh = tf.matmul(dah, u_h_t)
            hd = _dropped(h_prev, rmask)
            dar = drh * hd * r * (1.0 - r)
            dinner = tf.concat([daz, dar], axis=-1)
            drec = tf.matmul(dinner, u_zr_t) + drh * r
        dh_prev = dh * (1.0 - z) + _dropped(drec, rmask) + dh_pass
        return (dh_prev,), (tf.concat([daz, dar, dah], axis=-1), dinner)

    h_prev = _previous(hs, h0)
    (dh0,), (dxw, dinner) = _scan(
        step, [dhs, h_prev, saved, mask], (tf.zeros_like(h0),), 2, reverse=True
    )
    hd_prev = _dropped(h_prev, rmask)
    if reset_after:
        du = _sum_outer(hd_prev, dinner)
        db_rec = tf.reduce_sum(dinner, axis=(0, 1))
    else:
        r = tf.split(saved, 3, axis=-1)[1]
        du = tf.concat(
            [_sum_outer(hd_prev, dinner), _sum_outer(r * hd_prev, tf.split(dxw, 3, axis=-1)[2])],
            axis=-1,
        )
        db_rec = tf.zeros_like(b_rec)
    return dxw, du, db_rec, dh0


_gru_backward_loop = _Loop(_gru_backward)


def gru_sequence(
    xw: tf.Tensor,
    u: tf.Tensor,
    b_rec: tf.Tensor,
    h0: tf.Tensor,
    mask: tf.Tensor | None = None,
    rmask: tf.Tensor | None = None,
    activation: Activation = tf.tanh,
    recurrent_activation: Activation = tf.sigmoid,
    reset_after: bool = True,
) -> tf.Tensor:
    """GRU over a sequence: z,r = σ(·); h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃_t.

    reset_after=False: h̃_t = tanh(W_xh x_t + W_hh (r ⊙ h_{t-1}) + b_h) (``b_rec`` unused).
    reset_after=True (Keras's variant): h̃_t = tanh(W_xh x_t + b_h + r ⊙ (W_hh h_{t-1} + b_rec)),
    and ``b_rec`` (3H) is added to all three recurrent projections.
    Backward: δz = δh_t ⊙ (h̃ − h_{t-1}); δh̃ = δh_t ⊙ z; δa_h = δh̃ ⊙ (1 − h̃²);
    δr = δa_h ⊙ (W_hh h_{t-1} + b_rec) after, or (δa_h W_hhᵀ) ⊙ h_{t-1} before the matmul.
    """
    if not (_is(activation, "tanh") and _is(recurrent_activation, "sigmoid")):
        hs, _ = _gru_scan_loop(
            xw, u, b_rec, h0, mask, rmask, activation, recurrent_activation, reset_after,
            fixed=False,
        )
        return hs

    @tf.custom_gradient
    def forward(xw, u, b_rec, h0):
        fixed = _fixed(xw)
        hs, saved = _gru_scan_loop(
            *_detached(xw, u, b_rec, h0), mask, rmask, tf.tanh, tf.sigmoid, reset_after,
            fixed=fixed,
        )

        def grad(dhs):
            return _gru_backward_loop(dhs, hs, saved, u, b_rec, h0, mask, rmask, reset_after,
                                      fixed=fixed)

        return hs, grad

    return forward(xw, u, b_rec, h0)
