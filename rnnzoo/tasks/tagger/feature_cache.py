"""Training a tagger with contextual string embeddings on features computed once.

The string features (:mod:`rnnzoo.tasks.tagger.string_features`) are states of frozen language
models, the same at every epoch: training computes them once per sentence and fits the
tagger's head, the part of the model from the features on. The head shares the tagger's layers,
weights and optimizer, so fitting it trains the tagger itself; the tagger (with its language
models) is what checkpoints and the run folder save.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.layers.crf import CRFModel
from rnnzoo.tasks.tagger.string_features import FEATURES_LAYER
from rnnzoo.tasks.tagger.string_features import INPUTS as STRING_INPUTS

FEATURES = "lm_features"
"""The head's input in place of the string inputs: each word's string features (B, T, 2H)."""
CHARS_PER_SENTENCE = 256
"""The padded characters per sentence of a batch the language models run over at once: a batch
of long sentences holds fewer of them."""


def head_model(model: keras.Model) -> keras.Model:
    """``model`` (a compiled tagger with string features) from its string features on: inputs
    ``words`` (and ``chars``) and :data:`FEATURES`, the same outputs, the same layers and weights,
    compiled with ``model``'s optimizer (whose slots, built on ``model``'s trainable weights, are
    the head's). Raises ``ValueError`` for a model without string features."""
    if FEATURES_LAYER not in {layer.name for layer in model.layers}:
        raise ValueError(f"{model.name}: no {FEATURES_LAYER!r} layer, nothing to cache")
    kept = {name: x for name, x in model.input.items() if name not in STRING_INPUTS}
    histories = [x._keras_history for x in kept.values()]
    # Keras makes an input of the intermediate features tensor when a model starts there; that
    # input is then named as the head's callers pass it.
    graph = keras.Model([*kept.values(), model.get_layer(FEATURES_LAYER).output], model.output)
    graph.inputs[-1].name = FEATURES
    head_class = CRFModel if isinstance(model, CRFModel) else keras.Model
    head = head_class({**kept, FEATURES: graph.inputs[-1]}, graph.output,
                      name=f"{model.name}_head")
    # Keras's cloning of the graph points the shared input tensors at the new input nodes; the
    # model (which saves them) knows only the first.
    for x, history in zip(kept.values(), histories):
        x._keras_history = history
    if [id(v) for v in head.trainable_variables] != [id(v) for v in model.trainable_variables]:
        raise ValueError(f"{model.name}: its head's trainable weights are not the model's, in its "
                         "order (the optimizer's average slots are matched by position)")
    if getattr(model, "optimizer", None) is not None:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        head.compile(model.optimizer, loss=model.loss)
        head.jit_compile = model.jit_compile
    return head


def cached_inputs(model: keras.Model, inputs: dict[str, tf.RaggedTensor],
                  batch_size: int = 128) -> dict[str, tf.RaggedTensor]:
    """``inputs`` (ragged, per sentence) for :func:`head_model`: the string inputs replaced by
    :data:`FEATURES`, ragged (N, None, 2H) float32, computed by ``model``'s frozen language
    models over sentences of similar lengths, at most ``batch_size`` of them and
    ``batch_size`` × :data:`CHARS_PER_SENTENCE` padded characters at once."""
    features = keras.Model({name: model.input[name] for name in STRING_INPUTS},
                           model.get_layer(FEATURES_LAYER).output)
    spec = {name: tf.TensorSpec((None, None), tf.int32, name=name) for name in STRING_INPUTS}
    compute = tf.function(lambda x: features(x, training=False), input_signature=[spec])
    words = inputs["lm_before"].row_lengths().numpy()
    chars = inputs["lm_chars"].row_lengths().numpy()
    starts = np.concatenate([[0], np.cumsum(words)])
    values = np.zeros((starts[-1], features.output_shape[-1]), "float32")
    order, done = np.argsort(chars, kind="stable"), 0
    while done < len(order):
        longest = chars[order[min(done + batch_size, len(order)) - 1]]
        size = max(1, min(batch_size, batch_size * CHARS_PER_SENTENCE // max(longest, 1)))
        batch = order[done:done + size]
        states = compute({name: tf.gather(inputs[name], batch).to_tensor()
                          for name in STRING_INPUTS}).numpy()
        for row, i in zip(states, batch):
            values[starts[i]:starts[i + 1]] = row[:words[i]]
        done += len(batch)
    cached = {name: x for name, x in inputs.items() if name not in STRING_INPUTS}
    cached[FEATURES] = tf.RaggedTensor.from_row_lengths(values, words)
    return cached
