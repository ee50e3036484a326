"""Seq2seq decoding: greedy search and beam search, each one ``tf.while_loop`` in a
``tf.function`` (core TensorFlow ops, so it exports to a SavedModel).

The source is encoded once; each step runs the decoder's cells on the previous token
(:meth:`Seq2SeqParts.decode_step`). Decoding stops when every hypothesis has emitted EOS, or
after ``max_length`` tokens. Padding (0) and BOS are never emitted (their log-probability is
set to −∞); after EOS a hypothesis emits padding at no cost.

A hypothesis Y = y_1 … y_n (EOS included when emitted) scores log p(Y | x) = Σ_t log p(y_t |
y_<t, x), natural logs. Beam search ranks by log p(Y | x) / lp(Y) with GNMT's length penalty
lp(Y) = ((5 + |Y|) / 6)^α (Wu et al., 2016, eq. 14); α = 0 ranks by log p(Y | x) itself.
Each step keeps the top K of the K·V one-token extensions of the beam; a finished hypothesis
stays in the beam with its score fixed, competing with the open ones, until all K are finished.
With K = 1 this is greedy search, token for token. For K > 1 the greedy prefix can be pruned
early, so the greedy hypothesis is also kept as a candidate: ``beam_search`` never returns a
best hypothesis ranked below greedy decoding's. It is exact when no hypothesis is pruned before
the last step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.tasks.seq2seq.model import Seq2SeqParts


class GreedyOutput(NamedTuple):
    """``ids`` (B, L) int32 (EOS included, 0 after it); ``lengths`` (B,) tokens before EOS;
    ``scores`` (B,) log p(Y | x); ``attention`` (B, L, S), the weights of each emitted token."""

    ids: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor
    attention: tf.Tensor


class BeamOutput(NamedTuple):
    """The ``n_best`` hypotheses of each source, best first: ``ids`` (B, N, L); ``lengths``
    (B, N); ``scores`` (B, N), log p(Y | x) / lp(Y); ``log_probs`` (B, N), log p(Y | x);
    ``attention`` (B, N, L, S). A beam wider than the set of possible hypotheses fills its
    spare slots with score −∞."""

    ids: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor
    log_probs: tf.Tensor
    attention: tf.Tensor


def gnmt_length_penalty(lengths: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """lp(Y) = ((5 + |Y|) / 6)^α (Wu et al., 2016)."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, tf.cast(alpha, tf.float32))


def greedy_decode(model: keras.Model, source, max_length: int = 100, bos_id: int = 1,
                  eos_id: int = 2) -> GreedyOutput:
    """The most likely token at every step, for source ids (B, S) (0-padded).

    ``max_length``, ``bos_id`` and ``eos_id`` may be tensors (e.g. inputs of a serving
    signature)."""
    _check_positive("max_length", max_length)
    return _greedy(model, _int(source), _int(max_length), _int(bos_id), _int(eos_id))


def beam_search(model: keras.Model, source, beam_size: int = 5, length_penalty: float = 0.6,
                n_best: int = 1, max_length: int = 100, bos_id: int = 1,
                eos_id: int = 2) -> BeamOutput:
    """Beam search with ``beam_size`` hypotheses per source, ranked with GNMT's length penalty
    α = ``length_penalty``; the best ``n_best`` ≤ ``beam_size`` are returned.

    ``beam_size`` and ``n_best`` are Python ints (they fix shapes); the other arguments may be
    tensors."""
    for name, value in (("beam_size", beam_size), ("n_best", n_best)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"beam_search: `{name}` must be a Python int, got {value!r}")
    _check_positive("beam_size", beam_size)
    _check_positive("max_length", max_length)
    if not 1 <= n_best <= beam_size:
        raise ValueError(
            f"beam_search: `n_best` must be in [1, beam_size={beam_size}], got {n_best}"
        )
    if isinstance(length_penalty, (int, float)) and length_penalty < 0:
        raise ValueError(f"beam_search: `length_penalty` must be >= 0, got {length_penalty}")
    alpha = tf.cast(length_penalty, tf.float32)
    beam = _beam(model, _int(source), beam_size, _int(max_length), alpha, _int(bos_id),
                 _int(eos_id))
    greedy = _greedy(model, _int(source), _int(max_length), _int(bos_id), _int(eos_id))
    return _keep_greedy(BeamOutput(*beam), greedy, alpha, n_best)


def _pad_to(x: tf.Tensor, length: tf.Tensor, axis: int) -> tf.Tensor:
    pad = tf.zeros([tf.rank(x), 2], tf.int32)
    pad = tf.tensor_scatter_nd_update(pad, [[axis, 1]], [length - tf.shape(x)[axis]])
    return tf.pad(x, pad)


def _keep_greedy(beam: BeamOutput, greedy: GreedyOutput, alpha: tf.Tensor,
                 n_best: int) -> BeamOutput:
    """The beam's n-best list with the greedy hypothesis first wherever it ranks above the
    beam's best: a pruning beam can lose the greedy path, and this keeps the promise that beam
    search never returns worse than greedy decoding (at beam 1 the two are equal: no change)."""
    emitted = tf.reduce_sum(tf.cast(greedy.ids != 0, tf.int32), axis=-1)
    greedy_score = greedy.scores / gnmt_length_penalty(emitted, alpha)
    better = greedy_score > beam.scores[:, 0]
    length = tf.maximum(tf.shape(beam.ids)[2], tf.shape(greedy.ids)[1])
    beam = beam._replace(ids=_pad_to(beam.ids, length, 2),
                         attention=_pad_to(beam.attention, length, 2))
    first = BeamOutput(
        _pad_to(greedy.ids, length, 1), greedy.lengths, greedy_score, greedy.scores,
        _pad_to(greedy.attention, length, 1),
    )
    merged = []
    for ours, candidate in zip(beam, first):
        with_greedy = tf.concat([candidate[:, None], ours[:, : n_best - 1]], axis=1)
        condition = tf.reshape(better, [-1] + [1] * (len(with_greedy.shape) - 1))
        merged.append(tf.where(condition, with_greedy, ours[:, :n_best]))
    return BeamOutput(*merged)


def _check_positive(name: str, value) -> None:
    """A Python number must be a positive int; tensors are checked by their use."""
    if isinstance(value, tf.Tensor):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")


def _int(value) -> tf.Tensor:
    return tf.cast(value, tf.int32)


def _next_token_log_probs(logits: tf.Tensor, bos_id: tf.Tensor) -> tf.Tensor:
    """log softmax(logits), with padding (0) and BOS at −∞."""
    vocab = tf.range(tf.shape(logits)[-1])
    forbidden = (vocab == 0) | (vocab == bos_id)
    log_probs = tf.nn.log_softmax(logits)
    return tf.where(forbidden, tf.constant(-float("inf"), log_probs.dtype), log_probs)


def _batch_free(x) -> tf.TensorShape:
    """A loop variable's shape invariant: its static shape, the batch (leading) axis unknown."""
    if isinstance(x, tf.TensorArray):
        return tf.TensorShape(None)
    if x.shape.rank == 0:
        return x.shape
    return tf.TensorShape([None]).concatenate(x.shape[1:])


def _lengths(ids: tf.Tensor, eos_id: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.cast((ids != 0) & (ids != eos_id), tf.int32), axis=-1)


@tf.function(reduce_retracing=True)
def _greedy(model, source, max_length, bos_id, eos_id):
    parts = Seq2SeqParts.from_model(model)
    memory, states = parts.encode(source, training=False)
    memory_mask = parts.memory_mask(source)
    batch = tf.shape(source)[0]

    def body(t, tokens, states, finished, scores, ids, attention):
        logits, states, weights = parts.decode_step(tokens, states, memory, memory_mask)
        log_probs = _next_token_log_probs(logits, bos_id)
        best = tf.where(finished, 0, tf.argmax(log_probs, -1, output_type=tf.int32))
        scores += tf.where(finished, 0.0, tf.gather(log_probs, best, batch_dims=1))
        weights = tf.where(finished[:, None], tf.zeros_like(weights), weights)
        return (t + 1, best, states, finished | (best == eos_id), scores,
                ids.write(t, best), attention.write(t, weights))

    initial = (
        tf.constant(0),
        tf.fill([batch], bos_id),
        states,
        tf.zeros([batch], tf.bool),
        tf.zeros([batch]),
        tf.TensorArray(tf.int32, size=0, dynamic_size=True),
        tf.TensorArray(memory.dtype, size=0, dynamic_size=True),
    )
    _, _, _, _, scores, ids, attention = tf.while_loop(
        lambda t, tokens, states, finished, *_: (t < max_length) & ~tf.reduce_all(finished),
        body, initial, shape_invariants=tf.nest.map_structure(_batch_free, initial),
    )
    ids = tf.transpose(ids.stack())
    return GreedyOutput(ids, _lengths(ids, eos_id), scores,
                        tf.transpose(attention.stack(), [1, 0, 2]))


@tf.function(reduce_retracing=True)
def _beam(model, source, beam_size: int, max_length, alpha, bos_id, eos_id):
    parts = Seq2SeqParts.from_model(model)
    memory, states = parts.encode(source, training=False)
    memory_mask = parts.memory_mask(source)
    batch, width = tf.shape(source)[0], tf.shape(source)[1]
    vocab = parts.logits.units
    k = beam_size

    def tile(x):
        return tf.repeat(x, k, axis=0)

    memory, memory_mask = tile(memory), tile(memory_mask)
    states = tf.nest.map_structure(tile, states)
    neg_inf = tf.constant(-float("inf"))
    after_end = tf.where(tf.range(vocab) == 0, 0.0, neg_inf)

    def body(t, tokens, states, log_probs, finished, steps, ids, attention):
        logits, states, weights = parts.decode_step(tokens, states, memory, memory_mask)
        step = tf.reshape(_next_token_log_probs(logits, bos_id), [batch, k, vocab])
        step = tf.where(finished[:, :, None], after_end, step)
        total = log_probs[:, :, None] + step
        grown = steps + tf.cast(~finished, tf.int32)
        ranked = total / gnmt_length_penalty(grown, alpha)[:, :, None]
        _, best = tf.math.top_k(tf.reshape(ranked, [batch, k * vocab]), k)
        parent, token = best // vocab, best % vocab

        def regather(x):
            return tf.gather(x, parent, batch_dims=1)

        def regather_flat(x):
            return tf.reshape(regather(tf.reshape(x, [batch, k, -1])), tf.shape(x))

        was_finished = regather(finished)
        weights = regather(tf.reshape(weights, [batch, k, width]))
        weights = tf.where(was_finished[:, :, None], tf.zeros_like(weights), weights)
        return (
            t + 1,
            tf.reshape(token, [-1]),
            tf.nest.map_structure(regather_flat, states),
            tf.gather(tf.reshape(total, [batch, k * vocab]), best, batch_dims=1),
            was_finished | (token == eos_id),
            regather(grown),
            tf.concat([regather(ids), token[:, :, None]], axis=2),
            tf.concat([regather(attention), weights[:, :, None]], axis=2),
        )

    initial = (
        tf.constant(0),
        tf.fill([batch * k], bos_id),
        states,
        tf.tile(tf.concat([[0.0], tf.fill([k - 1], neg_inf)], 0)[None], [batch, 1]),
        tf.zeros([batch, k], tf.bool),
        tf.zeros([batch, k], tf.int32),
        tf.zeros([batch, k, 0], tf.int32),
        tf.zeros([batch, k, 0, width], memory.dtype),
    )
    invariants = tf.nest.map_structure(_batch_free, initial)[:6] + (
        tf.TensorShape([None, k, None]), tf.TensorShape([None, k, None, None]))
    _, _, _, log_probs, _, steps, ids, attention = tf.while_loop(
        lambda t, tokens, states, log_probs, finished, *_:
            (t < max_length) & ~tf.reduce_all(finished),
        body, initial, shape_invariants=invariants,
    )
    scores = log_probs / gnmt_length_penalty(steps, alpha)
    return ids, _lengths(ids, eos_id), scores, log_probs, attention


def ragged(sequences: Sequence[np.ndarray]) -> tf.RaggedTensor:
    lengths = [len(s) for s in sequences]
    values = np.concatenate(sequences) if sequences else np.zeros([0], np.int64)
    return tf.RaggedTensor.from_row_lengths(values.astype(np.int32), lengths)


def translate(model: keras.Model, sources: list, cfg: dict, batch_size: int) -> list[list[int]]:
    """Beam-search translations (ids before EOS) of each source, decoded in batches of similar
    lengths and returned in the input order."""
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    outputs: dict[int, list[int]] = {}
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        source = ragged([sources[i] for i in batch]).to_tensor()
        longest = int(source.shape[1])
        found = beam_search(model, source, beam_size=cfg["beam_size"],
                             length_penalty=cfg["length_penalty"],
                             max_length=min(cfg["max_decode_length"], 2 * longest + 10),
                             bos_id=cfg["bos_id"], eos_id=cfg["eos_id"])
        ids, lengths = found.ids[:, 0].numpy(), found.lengths[:, 0].numpy()
        for row, index in enumerate(batch):
            outputs[index] = ids[row, : lengths[row]].tolist()
    return [outputs[i] for i in range(len(sources))]
