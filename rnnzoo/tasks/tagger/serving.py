"""SavedModel signatures of a tagger: sentences → tokens and tags, with tokenisation,
vocabulary lookup,
decoding and detokenisation in the graph (core TensorFlow ops only), so that a served answer
equals the task object's (:mod:`rnnzoo.tasks.tagger.task`) step for step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from rnnzoo.serving.text_ops import STRINGS

EXAMPLE = "John Smith flew to London on Monday ."


class TaggerModule(tf.Module):
    """``serving_default``: sentences (split on white space) → tokens, tags (padded with "")
    and lengths: the task object's text model (preprocessor, tagger, answers) in a
    ``tf.function``."""

    def __init__(self, task):
        super().__init__(name="tagger")
        self.text_model = task.text_model

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, sentences):
        return self.text_model(sentences)

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default}


def serving_module(task) -> tf.Module:
    """The serving module of a tagger returned by ``rnnzoo.load``."""
    return TaggerModule(task)


def in_process(task) -> Callable[[list[str]], object]:
    """The task object's call that answers what ``serving_default`` answers."""
    return lambda texts: [task.tag(text) for text in texts]


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature (also the export's warm-up requests)."""
    return {"serving_default": {"sentences": np.array([EXAMPLE.encode()])}}
