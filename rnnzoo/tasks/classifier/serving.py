"""SavedModel signatures of a classifier: texts → label and probabilities, with tokenisation,
vocabulary lookup,
decoding and detokenisation in the graph (core TensorFlow ops only), so that a served answer
equals the task object's (:mod:`rnnzoo.tasks.classifier.task`) step for step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from rnnzoo.serving.text_ops import STRINGS

EXAMPLE = "Congratulations! You have won a free prize, click here to claim it now."


class ClassifierModule(tf.Module):
    """``serving_default``: texts → label, its probability and all class probabilities: the
    task object's text model (preprocessor, classifier, answers) in a ``tf.function``."""

    def __init__(self, task):
        super().__init__(name="classifier")
        self.text_model = task.text_model

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, texts):
        return self.text_model(texts)

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default}


def serving_module(task) -> tf.Module:
    """The serving module of a classifier returned by ``rnnzoo.load``."""
    return ClassifierModule(task)


def in_process(task) -> Callable[[list[str]], object]:
    """The task object's call that answers what ``serving_default`` answers."""
    return task.classify


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature (also the export's warm-up requests)."""
    return {"serving_default": {"texts": np.array([EXAMPLE.encode()])}}
