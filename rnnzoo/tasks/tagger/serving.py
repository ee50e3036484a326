"""SavedModel signatures of a tagger: sentences → tokens and tags, with tokenisation,
vocabulary lookup,
decoding and detokenisation in the graph (core TensorFlow ops only), so that a served answer
equals the task object's (:mod:`rnnzoo.tasks.tagger.task`) step for step.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from rnnzoo.serving import text_ops
from rnnzoo.serving.text_ops import STRINGS, lookup_ids

EXAMPLE = "John Smith flew to London on Monday ."


class TaggerModule(tf.Module):
    """``serving_default``: sentences (split on white space) → tokens, tags (padded with "")
    and lengths."""

    def __init__(self, task):
        super().__init__(name="tagger")
        self.model = task.keras_model
        self._tag = task._tag
        self.word_layer = task.vocabs.words.layer
        self.char_layer = task.vocabs.chars.layer
        self._vocabs = task.vocabs
        vocab_cfg = task.config["vocabulary"]
        self._lowercase = vocab_cfg.get("lowercase", True)
        self._max_chars = vocab_cfg.get("max_word_chars", 30)
        self._chars = task.config["model"].get("char_features") is not None
        self._limit = task.max_input_tokens
        self._bioes = task.scheme == "BIOES"
        self.tag_names = tf.constant(task.vocabs.tag_names)

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, sentences):
        tokens = text_ops.split_whitespace(sentences)[:, : self._limit]
        keys = tokens
        if self._lowercase:
            keys = tokens.with_flat_values(tf.strings.lower(tokens.flat_values, encoding="utf-8"))
        words = lookup_ids(self._vocabs.words, keys)
        inputs = {"words": words.to_tensor()}
        if self._chars:
            spelled = tf.strings.unicode_split(tokens.flat_values, "UTF-8",
                                               errors="replace")[:, : self._max_chars]
            chars = tokens.with_flat_values(lookup_ids(self._vocabs.chars, spelled))
            inputs["chars"] = chars.to_tensor()
        tags = tf.gather(self.tag_names, self._tag(inputs))
        if self._bioes:
            tags = tf.strings.regex_replace(tf.strings.regex_replace(tags, "^S-", "B-"),
                                            "^E-", "I-")
        lengths = tf.cast(tokens.row_lengths(), tf.int32)
        present = tf.sequence_mask(lengths, tf.shape(tags)[1])
        return {"tokens": tokens.to_tensor(default_value=""),
                "tags": tf.where(present, tags, ""), "lengths": lengths}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default}


def serving_module(task) -> tf.Module:
    """The serving module of a tagger returned by ``rnnzoo.load``."""
    return TaggerModule(task)


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature (also the export's warm-up requests)."""
    return {"serving_default": {"sentences": np.array([EXAMPLE.encode()])}}
