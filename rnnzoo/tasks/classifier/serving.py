"""SavedModel signatures of a classifier: texts → label and probabilities, with tokenisation,
vocabulary lookup,
decoding and detokenisation in the graph (core TensorFlow ops only), so that a served answer
equals the task object's (:mod:`rnnzoo.tasks.classifier.task`) step for step.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import UNK_ID
from rnnzoo.serving import text_ops
from rnnzoo.serving.text_ops import STRINGS, at_least_one, lookup_ids

EXAMPLE = "Congratulations! You have won a free prize, click here to claim it now."


class ClassifierModule(tf.Module):
    """``serving_default``: texts → label, its probability and all class probabilities."""

    def __init__(self, task, data: dict):
        super().__init__(name="classifier")
        self.model = task.keras_model
        self.vocab_layer = task.vocab.layer
        self._vocab = task.vocab
        self._lowercase = data["lowercase"]
        self._max_tokens = data["max_tokens"]
        self.labels = tf.constant(task.labels)

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, texts):
        tokens = text_ops.words_and_punctuation(texts, self._lowercase)[:, : self._max_tokens]
        ids = at_least_one(lookup_ids(self._vocab, tokens), UNK_ID)
        probabilities = self.model(ids, training=False)
        best = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"label": tf.gather(self.labels, best),
                "probability": tf.gather(probabilities, best, axis=1, batch_dims=1),
                "probabilities": probabilities}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default}


def serving_module(task) -> tf.Module:
    """The serving module of a classifier returned by ``rnnzoo.load``: its texts read as it
    reads them (its data settings)."""
    return ClassifierModule(task, task.data)


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature (also the export's warm-up requests)."""
    return {"serving_default": {"texts": np.array([EXAMPLE.encode()])}}
