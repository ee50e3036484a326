"""SavedModel signatures of a translator: sources → beam-search and greedy translations,
with tokenisation, vocabulary lookup,
decoding and detokenisation in the graph (core TensorFlow ops only), so that a served answer
equals the task object's (:mod:`rnnzoo.tasks.seq2seq.task`) step for step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from rnnzoo.serving.text_ops import STRINGS
from rnnzoo.tasks.seq2seq.decoding import beam_search, greedy_decode

EXAMPLE = "In the beginning God created the heaven and the earth."


class TranslatorModule(tf.Module):
    """``serving_default``: sources → beam-search translations (the recipe's beam size and
    length penalty); ``translate_greedy``: greedy translations (the task object's text model's
    preprocessor reads the sources and writes the translations)."""

    def __init__(self, task):
        super().__init__(name="translator")
        self.text_model = task.text_model
        self.model = task.keras_model
        self._preprocessor = self.text_model.preprocessor
        self._decoding = self.text_model.decoding

    def _source(self, texts: tf.Tensor) -> tf.Tensor:
        return self._preprocessor.source_ids(texts).to_tensor()

    def _max_length(self, source: tf.Tensor) -> tf.Tensor:
        return tf.minimum(self._decoding["max_decode_length"], 2 * tf.shape(source)[1] + 10)

    def _texts(self, ids: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        return self._preprocessor.texts(tf.RaggedTensor.from_tensor(ids, lengths=lengths))

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, sources):
        source = self._source(sources)
        found = beam_search(self.model, source, beam_size=self._decoding["beam_size"],
                            length_penalty=self._decoding["length_penalty"],
                            max_length=self._max_length(source),
                            bos_id=self._decoding["bos_id"], eos_id=self._decoding["eos_id"])
        return {"translation": self._texts(found.ids[:, 0], found.lengths[:, 0])}

    @tf.function(input_signature=[STRINGS])
    def translate_greedy(self, sources):
        source = self._source(sources)
        found = greedy_decode(self.model, source, max_length=self._max_length(source),
                              bos_id=self._decoding["bos_id"], eos_id=self._decoding["eos_id"])
        return {"translation": self._texts(found.ids, found.lengths)}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default, "translate_greedy": self.translate_greedy}


def serving_module(task) -> tf.Module:
    """The serving module of a translator returned by ``rnnzoo.load``."""
    return TranslatorModule(task)


def in_process(task) -> Callable[[list[str]], object]:
    """The task object's call that answers what ``serving_default`` answers."""
    return task.translate


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature (also the export's warm-up requests)."""
    text = np.array([EXAMPLE.encode()])
    return {"serving_default": {"sources": text}, "translate_greedy": {"sources": text}}
