"""Language-model generation: the whole decoding loop compiled, the recurrent state carried.

Each new token costs one step of every cell (cost linear in the number of tokens). Sampling is
seeded per step with ``tf.random.stateless_categorical(seed=(seed, k))`` for the k-th generated
token, so a run is reproducible and equals re-running the model on the full prefix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.tasks.language_model.model import EMBEDDING, OUTPUT, PROJECTION, rnn_name


def without_padding(logits: tf.Tensor) -> tf.Tensor:
    """Logits with id 0 (padding, never a real token) made impossible."""
    vocab = tf.shape(logits)[-1]
    return tf.where(tf.range(vocab) == 0, tf.constant(-float("inf"), logits.dtype), logits)


def filter_logits(logits: tf.Tensor, temperature: tf.Tensor, top_k: tf.Tensor,
                  top_p: tf.Tensor) -> tf.Tensor:
    """logits / T, then only the k most likely tokens (k > 0) and the smallest set whose
    probability reaches p (nucleus, p < 1) keep a finite logit."""
    logits = logits / tf.maximum(tf.cast(temperature, logits.dtype), 1e-6)
    neg_inf = tf.fill(tf.shape(logits), tf.constant(-float("inf"), logits.dtype))
    vocab = tf.shape(logits)[-1]
    k = tf.minimum(tf.cast(top_k, tf.int32), vocab)
    kth = tf.math.top_k(logits, tf.maximum(k, 1)).values[:, -1:]
    logits = tf.where((k > 0) & (logits < kth), neg_inf, logits)
    ordered = tf.sort(logits, axis=-1, direction="DESCENDING")
    before = tf.cumsum(tf.nn.softmax(ordered), axis=-1, exclusive=True)
    keep = before < tf.cast(top_p, logits.dtype)
    threshold = tf.reduce_min(tf.where(keep, ordered, -neg_inf), axis=-1, keepdims=True)
    return tf.where((top_p < 1.0) & (logits < threshold), neg_inf, logits)


def without_ids(logits: tf.Tensor, banned: tf.Tensor) -> tf.Tensor:
    """``logits`` (B, V) with the ``banned`` ids (N,) at −∞: never sampled, never the argmax."""
    vocab = tf.shape(logits)[-1]
    hit = tf.reduce_any(tf.equal(tf.range(vocab)[:, None], banned[None, :]), axis=-1)
    return tf.where(hit[None, :], tf.constant(-float("inf"), logits.dtype), logits)


def sample_token(logits: tf.Tensor, temperature: tf.Tensor, top_k: tf.Tensor, top_p: tf.Tensor,
                 seed: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
    """One token per row: argmax when temperature ≤ 0, else a seeded draw from the filtered
    distribution (seed pair (seed, step))."""
    def draw():
        filtered = filter_logits(logits, temperature, top_k, top_p)
        pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])
        return tf.cast(tf.random.stateless_categorical(filtered, 1, seed=pair)[:, 0], tf.int32)

    return tf.cond(temperature <= 0.0, lambda: tf.argmax(logits, -1, output_type=tf.int32), draw)


class Generator:
    """Step-by-step decoding with the cells of a model made by ``language_model.build``."""

    def __init__(self, model: keras.Model):
        names = {layer.name for layer in model.layers}
        self.embedding = model.get_layer(EMBEDDING)
        self.cells = []
        while rnn_name(len(self.cells)) in names:
            self.cells.append(model.get_layer(rnn_name(len(self.cells))).cell)
        if not self.cells:
            raise ValueError(f"{model.name}: not a language model (no layer named {rnn_name(0)!r})")
        self.projection = model.get_layer(PROJECTION) if PROJECTION in names else None
        self.output = model.get_layer(OUTPUT) if OUTPUT in names else None
        self.generate = tf.function(self._generate, reduce_retracing=True)
        self._read_compiled = tf.function(self._read, reduce_retracing=True)
        self._write_compiled = tf.function(self._write, reduce_retracing=True)

    def initial_states(self, batch: tf.Tensor) -> list:
        return [[tf.zeros((batch, s)) for s in _sizes(cell)] for cell in self.cells]

    def step(self, token: tf.Tensor, states: list) -> tuple[tf.Tensor, list]:
        """Logits for the next token after ``token`` (B,), and the new states."""
        x = self.embedding.call(token)
        new_states = []
        for cell, state in zip(self.cells, states):
            x, state = cell(x, list(state), training=False)
            new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
        if self.projection is not None:
            x = self.projection(x)
        logits = self.output(x) if self.output is not None else self.embedding(x, reverse=True)
        return without_padding(logits), new_states

    def _read(self, prompt: tf.Tensor) -> tuple[list, tf.Tensor]:
        """The states after all of ``prompt`` (B, P ≥ 1) but its last id, and that id: where
        writing starts."""
        prompt = tf.cast(prompt, tf.int32)
        states = self.initial_states(tf.shape(prompt)[0])

        def read(t, states):
            _, states = self.step(prompt[:, t], states)
            return t + 1, states

        _, states = tf.while_loop(lambda t, _: t < tf.shape(prompt)[1] - 1, read,
                                  (tf.constant(0), states))
        return states, prompt[:, -1]

    def _write(self, states: list, last: tf.Tensor, first: tf.Tensor, count: tf.Tensor,
               temperature: tf.Tensor, top_k: tf.Tensor, top_p: tf.Tensor, seed: tf.Tensor,
               banned: tf.Tensor) -> tuple[tf.Tensor, list, tf.Tensor]:
        """``count`` ids (B, count) after ``last``, the k-th drawn with seed pair
        (seed, ``first`` + k), never one of the ``banned`` ids (int32 (N,)); and the states
        and last id to continue from."""
        tokens = tf.TensorArray(tf.int32, size=count)

        def write(k, last, states, tokens):
            logits, states = self.step(last, states)
            logits = without_ids(logits, banned)
            token = sample_token(logits, temperature, top_k, top_p, seed, first + k)
            return k + 1, token, states, tokens.write(k, token)

        _, last, states, tokens = tf.while_loop(
            lambda k, *_: k < count, write, (tf.constant(0), last, states, tokens))
        return tf.transpose(tokens.stack()), states, last

    def _generate(self, prompt: tf.Tensor, max_tokens: tf.Tensor, temperature: tf.Tensor,
                  top_k: tf.Tensor, top_p: tf.Tensor, seed: tf.Tensor,
                  banned: tf.Tensor) -> tf.Tensor:
        """``max_tokens`` ids (B, max_tokens) continuing ``prompt`` (B, P ≥ 1) int32, never one
        of the ``banned`` ids (int32 (N,))."""
        states, last = self._read(prompt)
        return self._write(states, last, tf.constant(0), max_tokens, temperature, top_k, top_p,
                           seed, banned)[0]

    def stream(self, prompt, max_tokens: int = 20, chunk: int = 16, temperature: float = 1.0,
               top_k: int = 0, top_p: float = 1.0, seed: int = 0,
               banned: Sequence[int] = ()) -> Iterator[np.ndarray]:
        """The ids of ``__call__``'s generation, ``chunk`` (B, ≤ chunk) at a time as they are
        drawn (the state carried between chunks: the stream equals one call)."""
        prompt, settings = self._checked(prompt, max_tokens, temperature, top_k, top_p, seed,
                                         banned)
        states, last = self._read_compiled(prompt)
        for first in range(0, max_tokens, chunk):
            count = min(chunk, max_tokens - first)
            ids, states, last = self._write_compiled(states, last, tf.constant(first),
                                                     tf.constant(count), *settings)
            yield ids.numpy()

    def __call__(self, prompt, max_tokens: int = 20, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0, seed: int = 0, banned: Sequence[int] = ()) -> tf.Tensor:
        prompt, settings = self._checked(prompt, max_tokens, temperature, top_k, top_p, seed,
                                         banned)
        return self.generate(prompt, tf.constant(max_tokens), *settings)

    @staticmethod
    def _checked(prompt, max_tokens, temperature, top_k, top_p, seed, banned) -> tuple:
        """The prompt as a tensor and the sampling settings as the compiled loops take them,
        checked."""
        prompt = tf.convert_to_tensor(prompt, tf.int32)
        if prompt.shape.rank != 2 or prompt.shape[1] == 0:
            raise ValueError(f"prompt must be ids of shape (batch, length ≥ 1), got {prompt.shape}")
        if max_tokens < 0:
            raise ValueError(f"max_tokens must be >= 0, got {max_tokens}")
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        return prompt, (tf.constant(temperature, tf.float32), tf.constant(top_k),
                        tf.constant(top_p, tf.float32), tf.constant(seed, tf.int64),
                        tf.constant(list(banned), tf.int32))


def _sizes(cell) -> list[int]:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]
