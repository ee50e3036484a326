"""SavedModel signatures of a translator: sources → beam-search and greedy translations,
with tokenisation, vocabulary lookup,
decoding and detokenisation in the graph (core TensorFlow ops only), so that a served answer
equals the task object's (:mod:`rnnzoo.tasks.seq2seq.task`) step for step.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import BOS, EOS, PAD, UNK
from rnnzoo.serving import text_ops
from rnnzoo.serving.text_ops import STRINGS, at_least_one, lookup_ids
from rnnzoo.tasks.seq2seq.decoding import beam_search, greedy_decode
from rnnzoo.tasks.seq2seq.model import validate_config

EXAMPLE = "In the beginning God created the heaven and the earth."


class TranslatorModule(tf.Module):
    """``serving_default``: sources → beam-search translations (the recipe's beam size and
    length penalty); ``translate_greedy``: greedy translations."""

    def __init__(self, task):
        super().__init__(name="translator")
        self.model = task.keras_model
        self.source_layer = task.source.layer
        self.target_inverse_layer = task.target.inverse_layer
        self._source = task.source
        self._cfg = validate_config(task.config["model"])
        self._skip = tf.constant([PAD, UNK, BOS, EOS])
        self._limit = task.max_input_tokens

    def _sourcelookup_ids(self, texts: tf.Tensor) -> tf.Tensor:
        tokens = text_ops.joined_words_and_punctuation(texts)[:, : self._limit]
        ids = lookup_ids(self._source, tokens)
        return at_least_one(ids, int(self._source.ids([EOS])[0]))

    def _max_length(self, source: tf.Tensor) -> tf.Tensor:
        return tf.minimum(self._cfg["max_decode_length"], 2 * tf.shape(source)[1] + 10)

    def _texts(self, ids: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        ids = tf.RaggedTensor.from_tensor(ids, lengths=lengths)
        tokens = ids.with_flat_values(self.target_inverse_layer(tf.cast(ids.flat_values,
                                                                        tf.int64)))
        special = tf.reduce_any(tf.equal(tokens.flat_values[:, None], self._skip[None]), axis=1)
        kept = tf.ragged.boolean_mask(tokens, tokens.with_flat_values(~special))
        return text_ops.detokenize(tf.strings.reduce_join(kept, axis=-1, separator=" "))

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, sources):
        source = self._sourcelookup_ids(sources)
        found = beam_search(self.model, source, beam_size=self._cfg["beam_size"],
                            length_penalty=self._cfg["length_penalty"],
                            max_length=self._max_length(source), bos_id=self._cfg["bos_id"],
                            eos_id=self._cfg["eos_id"])
        return {"translation": self._texts(found.ids[:, 0], found.lengths[:, 0])}

    @tf.function(input_signature=[STRINGS])
    def translate_greedy(self, sources):
        source = self._sourcelookup_ids(sources)
        found = greedy_decode(self.model, source, max_length=self._max_length(source),
                              bos_id=self._cfg["bos_id"], eos_id=self._cfg["eos_id"])
        return {"translation": self._texts(found.ids, found.lengths)}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default, "translate_greedy": self.translate_greedy}


def serving_module(task) -> tf.Module:
    """The serving module of a translator returned by ``rnnzoo.load``."""
    return TranslatorModule(task)


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature (also the export's warm-up requests)."""
    text = np.array([EXAMPLE.encode()])
    return {"serving_default": {"sources": text}, "translate_greedy": {"sources": text}}
