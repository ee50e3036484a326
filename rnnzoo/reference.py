"""NumPy reference implementations of the recurrent cells, written as the equations.

Pure NumPy (no TensorFlow): the ground truth that the Keras layers (and so, through their
tested equality, rnnzoo's explicit layers) are checked against.
Every function computes in the dtype of ``x`` (float32 or float64).

Layouts:

* SimpleRNN (:func:`rnn_forward`, :func:`rnn_bptt`) uses the math, column-vector
  convention of the equations: ``W_xh`` is ``(H, I)``, ``W_hh`` is ``(H, H)``,
  ``W_hy`` is ``(O, H)``, and ``x`` is time-major, ``(T, B, I)``.
* LSTM and GRU (:func:`lstm_forward`, :func:`gru_forward`) use the Keras weight
  layout, the row-vector convention: ``kernel`` is ``(I, n*H)``,
  ``recurrent_kernel`` is ``(H, n*H)``, and ``x`` is batch-major, ``(B, T, I)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


def sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + e^{-a}), computed as (1 + tanh(a/2)) / 2, which cannot overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _as(dtype: np.dtype, *arrays: np.ndarray | None) -> list[np.ndarray | None]:
    return [None if a is None else np.asarray(a, dtype=dtype) for a in arrays]


@dataclass
class RNNForward:
    """Result of :func:`rnn_forward`.

    h: hidden states h_t, ``(T, B, H)``; h0: initial state h_{-1}, ``(B, H)``;
    y: outputs y_t, ``(T, B, O)``, or ``None`` when no ``W_hy`` was given.
    """

    h: np.ndarray
    h0: np.ndarray
    y: np.ndarray | None = None


@dataclass
class RNNGradients:
    """Result of :func:`rnn_bptt`: ∂L/∂(each argument) and the per-step errors.

    delta_h: δ^h_t = ∂L/∂(pre-activation at t), ``(T, B, H)``;
    dh: ∂L/∂h_t = W_hy^T δ^y_t + W_hh^T δ^h_{t+1}, ``(T, B, H)``.
    """

    dW_xh: np.ndarray
    dW_hh: np.ndarray
    db_h: np.ndarray
    dW_hy: np.ndarray
    db_y: np.ndarray
    dx: np.ndarray
    dh0: np.ndarray
    delta_h: np.ndarray
    dh: np.ndarray


def rnn_forward(
    x: np.ndarray,
    W_xh: np.ndarray,
    W_hh: np.ndarray,
    b_h: np.ndarray,
    W_hy: np.ndarray | None = None,
    b_y: np.ndarray | None = None,
    h0: np.ndarray | None = None,
) -> RNNForward:
    """SimpleRNN forward pass, time-major ``x`` of shape ``(T, B, I)``.

    h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h),   y_t = W_hy h_t + b_y,

    with h_{-1} = ``h0`` (zeros by default). ``b_y`` defaults to zeros.
    """
    x = np.asarray(x)
    W_xh, W_hh, b_h, W_hy, b_y, h0 = _as(x.dtype, W_xh, W_hh, b_h, W_hy, b_y, h0)
    T, B, _ = x.shape
    H = W_hh.shape[0]
    h_prev = np.zeros((B, H), x.dtype) if h0 is None else h0
    start = h_prev
    h = np.empty((T, B, H), x.dtype)
    for t in range(T):
        h_prev = np.tanh(h_prev @ W_hh.T + x[t] @ W_xh.T + b_h)
        h[t] = h_prev
    y = None
    if W_hy is not None:
        y = h @ W_hy.T + (0 if b_y is None else b_y)
    return RNNForward(h=h, h0=start, y=y)


def rnn_bptt(
    x: np.ndarray,
    W_xh: np.ndarray,
    W_hh: np.ndarray,
    b_h: np.ndarray,
    W_hy: np.ndarray,
    b_y: np.ndarray,
    dy: np.ndarray,
    h0: np.ndarray | None = None,
) -> RNNGradients:
    """Backpropagation through time for :func:`rnn_forward`, given dy = ∂L/∂y_t ``(T, B, O)``.

    δ^y_t = ∂L/∂y_t
    δ^h_t = (W_hy^T δ^y_t + W_hh^T δ^h_{t+1}) ⊙ (1 − h_t²),   δ^h_T = 0
    ∂L/∂W_hh = Σ_t δ^h_t h_{t-1}^T     ∂L/∂W_xh = Σ_t δ^h_t x_t^T     ∂L/∂W_hy = Σ_t δ^y_t h_t^T
    ∂L/∂b_h = Σ_t δ^h_t                ∂L/∂b_y = Σ_t δ^y_t
    ∂L/∂x_t = W_xh^T δ^h_t             ∂L/∂h_{-1} = W_hh^T δ^h_0

    The sums run over the batch as well as over t.
    """
    fwd = rnn_forward(x, W_xh, W_hh, b_h, W_hy, b_y, h0)
    x = np.asarray(x)
    W_xh, W_hh, W_hy, dy = _as(x.dtype, W_xh, W_hh, W_hy, dy)
    h = fwd.h
    dh = np.empty_like(h)
    delta_h = np.empty_like(h)
    carry = np.zeros_like(fwd.h0)  # W_hh^T δ^h_{t+1}
    for t in reversed(range(len(h))):
        dh[t] = dy[t] @ W_hy + carry
        delta_h[t] = dh[t] * (1.0 - h[t] ** 2)
        carry = delta_h[t] @ W_hh
    h_prev = np.concatenate([fwd.h0[None], h[:-1]])
    return RNNGradients(
        dW_xh=np.einsum("tbi,tbj->ij", delta_h, x),
        dW_hh=np.einsum("tbi,tbj->ij", delta_h, h_prev),
        db_h=delta_h.sum(axis=(0, 1)),
        dW_hy=np.einsum("tbi,tbj->ij", dy, h),
        db_y=dy.sum(axis=(0, 1)),
        dx=delta_h @ W_xh,
        dh0=carry,
        delta_h=delta_h,
        dh=dh,
    )


@dataclass
class _LSTMTrace:
    """Per-step LSTM activations, each ``(T, B, H)``, kept for the backward pass."""

    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray
    c0: np.ndarray


def _lstm_trace(x, kernel, recurrent_kernel, bias, h0, c0) -> _LSTMTrace:
    x = np.asarray(x)
    kernel, recurrent_kernel, bias, h0, c0 = _as(x.dtype, kernel, recurrent_kernel, bias, h0, c0)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h = np.zeros((B, H), x.dtype) if h0 is None else h0
    c = np.zeros((B, H), x.dtype) if c0 is None else c0
    trace = _LSTMTrace(*(np.empty((T, B, H), x.dtype) for _ in range(6)), c0=c)
    for t in range(T):
        a = x[:, t] @ kernel + h @ recurrent_kernel + bias
        a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
        i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, value in zip("ifgoch", (i, f, g, o, c, h)):
            getattr(trace, name)[t] = value
    return trace


def lstm_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """LSTM forward pass in the Keras layout, batch-major ``x`` of shape ``(B, T, I)``.

    ``kernel`` ``(I, 4H)``, ``recurrent_kernel`` ``(H, 4H)``, ``bias`` ``(4H,)``, gate order i, f, c, o:

    i_t = σ(x_t W_i + h_{t-1} U_i + b_i)     f_t = σ(x_t W_f + h_{t-1} U_f + b_f)
    o_t = σ(x_t W_o + h_{t-1} U_o + b_o)     c̃_t = tanh(x_t W_c + h_{t-1} U_c + b_c)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t          h_t = o_t ⊙ tanh(c_t)

    Returns ``(outputs, (h_T, c_T))`` with outputs h_t of shape ``(B, T, H)``.
    """
    trace = _lstm_trace(x, kernel, recurrent_kernel, bias, h0, c0)
    return trace.h.transpose(1, 0, 2), (trace.h[-1], trace.c[-1])


def lstm_hidden_gradients(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    d_outputs: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> np.ndarray:
    """∂L/∂h_t of :func:`lstm_forward` for every t, given d_outputs = ∂L/∂outputs ``(B, T, H)``.

    Backpropagation through time of the LSTM equations, with δa the error of a gate's
    pre-activation and the recurrence carrying both ∂L/∂h_t and ∂L/∂c_t:

    ∂L/∂h_t = d_outputs_t + U^T δa_{t+1}
    ∂L/∂c_t = ∂L/∂h_t ⊙ o_t ⊙ (1 − tanh²(c_t)) + ∂L/∂c_{t+1} ⊙ f_{t+1}
    δa_o = ∂L/∂h_t ⊙ tanh(c_t) ⊙ o_t(1 − o_t)     δa_i = ∂L/∂c_t ⊙ c̃_t ⊙ i_t(1 − i_t)
    δa_f = ∂L/∂c_t ⊙ c_{t-1} ⊙ f_t(1 − f_t)       δa_c = ∂L/∂c_t ⊙ i_t ⊙ (1 − c̃_t²)

    ∂L/∂h_t is the gradient with respect to h_t as a node of the graph (all paths
    from h_t to L), shape ``(B, T, H)``.
    """
    tr = _lstm_trace(x, kernel, recurrent_kernel, bias, h0, c0)
    U = np.asarray(recurrent_kernel, dtype=tr.h.dtype)
    d_out = np.asarray(d_outputs, dtype=tr.h.dtype).transpose(1, 0, 2)
    c_prev = np.concatenate([tr.c0[None], tr.c[:-1]])
    dh = np.empty_like(tr.h)
    dh_carry = np.zeros_like(tr.c0)
    dc_carry = np.zeros_like(tr.c0)
    for t in reversed(range(len(tr.h))):
        dh[t] = d_out[t] + dh_carry
        tanh_c = np.tanh(tr.c[t])
        dc = dh[t] * tr.o[t] * (1.0 - tanh_c**2) + dc_carry
        i, f, g, o = tr.i[t], tr.f[t], tr.g[t], tr.o[t]
        da = np.concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * c_prev[t] * f * (1.0 - f),
                dc * i * (1.0 - g**2),
                dh[t] * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        dh_carry = da @ U.T
        dc_carry = dc * f
    return dh.transpose(1, 0, 2)


def gru_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    h0: np.ndarray | None = None,
    reset_after: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """GRU forward pass in the Keras layout, batch-major ``x`` of shape ``(B, T, I)``.

    ``kernel`` ``(I, 3H)``, ``recurrent_kernel`` ``(H, 3H)``, gate order z, r, h, and
    rnnzoo's update convention (Keras writes z ⊙ h_{t-1} + (1 − z) ⊙ h̃_t instead):

    h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t

    ``reset_after=False``, ``bias`` ``(3H,)``:
        z_t = σ(x_t W_z + h_{t-1} U_z + b_z)    r_t = σ(x_t W_r + h_{t-1} U_r + b_r)
        h̃_t = tanh(x_t W_h + (r_t ⊙ h_{t-1}) U_h + b_h)
    ``reset_after=True`` (Keras's default), ``bias`` ``(2, 3H)``: row 0 input bias b,
    row 1 recurrent bias b', both applied to every gate:
        z_t = σ(x_t W_z + b_z + h_{t-1} U_z + b'_z)    r_t = σ(x_t W_r + b_r + h_{t-1} U_r + b'_r)
        h̃_t = tanh(x_t W_h + b_h + r_t ⊙ (h_{t-1} U_h + b'_h))

    Returns ``(outputs, h_T)`` with outputs h_t of shape ``(B, T, H)``.
    """
    x = np.asarray(x)
    kernel, recurrent_kernel, bias, h0 = _as(x.dtype, kernel, recurrent_kernel, bias, h0)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    if reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros_like(bias)
    U_zr, U_h = recurrent_kernel[:, : 2 * H], recurrent_kernel[:, 2 * H :]
    h = np.zeros((B, H), x.dtype) if h0 is None else h0
    outputs = np.empty((B, T, H), x.dtype)
    for t in range(T):
        a_in = x[:, t] @ kernel + b_in
        a_zr = a_in[:, : 2 * H] + h @ U_zr + b_rec[: 2 * H]
        z, r = np.split(sigmoid(a_zr), 2, axis=-1)
        if reset_after:
            h_tilde = np.tanh(a_in[:, 2 * H :] + r * (h @ U_h + b_rec[2 * H :]))
        else:
            h_tilde = np.tanh(a_in[:, 2 * H :] + (r * h) @ U_h)
        h = (1.0 - z) * h + z * h_tilde
        outputs[:, t] = h
    return outputs, h


def glorot_uniform(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Keras's glorot_uniform: U(−l, l) with l = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / sum(shape))
    return rng.uniform(-limit, limit, size=shape)


def orthogonal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Keras's orthogonal initializer: Q of the QR of a Gaussian matrix (signs fixed by diag R);
    orthonormal rows or columns, whichever are fewer."""
    rows, cols = shape
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q *= np.sign(np.diag(r))
    return q if rows >= cols else q.T


def gradient_norms_over_time(
    cell: Literal["rnn", "lstm"],
    T: int = 100,
    H: int = 64,
    seed: int = 0,
    input_size: int = 16,
    batch: int = 8,
) -> np.ndarray:
    """‖∂L/∂h_t‖ for t = 0 … T−1 (Frobenius norm over the batch), float64.

    A random sequence x_t ~ N(0, 1) and a loss on the last step only, L = Σ g ⊙ h_{T−1}
    with g ~ N(0, 1), so ∂L/∂h_{T−1} = g for both cells. Typical Keras initialisation:
    glorot-uniform input weights, orthogonal recurrent weights, zero biases except the
    LSTM's forget-gate bias of 1 (``unit_forget_bias``).

    ``"rnn"`` uses :func:`rnn_bptt` (readout W_hy = I, dy nonzero only at T−1);
    ``"lstm"`` uses :func:`lstm_hidden_gradients`.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, batch, input_size))
    g = rng.standard_normal((batch, H))
    if cell == "rnn":
        dy = np.zeros((T, batch, H))
        dy[-1] = g
        grads = rnn_bptt(
            x,
            W_xh=glorot_uniform((H, input_size), rng),
            W_hh=orthogonal((H, H), rng),
            b_h=np.zeros(H),
            W_hy=np.eye(H),
            b_y=np.zeros(H),
            dy=dy,
        )
        dh = grads.dh
    elif cell == "lstm":
        bias = np.zeros(4 * H)
        bias[H : 2 * H] = 1.0
        d_outputs = np.zeros((batch, T, H))
        d_outputs[:, -1] = g
        dh = lstm_hidden_gradients(
            x.transpose(1, 0, 2),
            kernel=glorot_uniform((input_size, 4 * H), rng),
            recurrent_kernel=orthogonal((H, 4 * H), rng),
            bias=bias,
            d_outputs=d_outputs,
        ).transpose(1, 0, 2)
    else:
        raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")
    return np.sqrt((dh**2).sum(axis=(1, 2)))
