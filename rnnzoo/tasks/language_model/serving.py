"""SavedModel signatures of a language model: prompts → continuations, texts →
log-likelihoods, with tokenisation, vocabulary lookup,
decoding and detokenisation in the graph (core TensorFlow ops only), so that a served answer
equals the task object's (:mod:`rnnzoo.tasks.language_model.task`) step for step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import UNK_ID
from rnnzoo.serving.text_ops import STRINGS

DEFAULT_SAMPLING = {"max_tokens": 50, "temperature": 1.0, "top_k": 0, "seed": 0}
"""``serving_default`` of a language model: ``LanguageModel.generate``'s defaults."""
EXAMPLE_PROMPTS = {"word": "the company said", "char": "It is a truth"}


class LanguageModelModule(tf.Module):
    """``serving_default``: prompts → continuations (default sampling); ``generate``: the same
    with per-request ``max_tokens``, ``temperature``, ``top_k`` and ``seed``; ``score``: texts →
    summed log-likelihood (nats) and the number of tokens scored (the task object's text
    model)."""

    def __init__(self, task):
        super().__init__(name="language_model")
        self.text_model = task.text_model
        self._preprocessor = self.text_model.preprocessor
        self._generator = self.text_model.generator

    def _continue(self, prompt, max_tokens, temperature, top_k, seed) -> tf.Tensor:
        ids = self._generator.generate(
            self._preprocessor.prompt_ids(prompt)[None], tf.cast(max_tokens, tf.int32),
            tf.cast(temperature, tf.float32), tf.cast(top_k, tf.int32), tf.constant(1.0),
            tf.cast(seed, tf.int64), tf.constant([UNK_ID]))
        return self._preprocessor.detokenize(ids[0])

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, prompts):
        settings = DEFAULT_SAMPLING
        continuation = tf.map_fn(
            lambda p: self._continue(p, settings["max_tokens"], settings["temperature"],
                                     settings["top_k"], settings["seed"]),
            prompts, fn_output_signature=tf.string)
        return {"continuation": continuation}

    @tf.function(input_signature=[STRINGS, tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.float32),
                                  tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.int64)])
    def generate(self, prompts, max_tokens, temperature, top_k, seed):
        tf.debugging.assert_non_negative(max_tokens, "max_tokens must be >= 0")
        tf.debugging.assert_non_negative(top_k, "top_k must be >= 0")
        continuation = tf.map_fn(lambda row: self._continue(*row),
                                 (prompts, max_tokens, temperature, top_k, seed),
                                 fn_output_signature=tf.string)
        return {"continuation": continuation}

    @tf.function(input_signature=[STRINGS])
    def score(self, texts):
        scores = self.text_model(texts)
        return {"log_likelihood": scores["log_likelihood"], "tokens": scores["tokens"]}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default, "generate": self.generate,
                "score": self.score}


def serving_module(task) -> tf.Module:
    """The serving module of a language model returned by ``rnnzoo.load``: a prompt at a time,
    as its text model's ``generate`` reads them."""
    return LanguageModelModule(task)


def in_process(task) -> Callable[[list[str]], object]:
    """The task object's call that answers what ``serving_default`` answers (its default
    sampling)."""
    return lambda texts: task.generate(texts, max_tokens=DEFAULT_SAMPLING["max_tokens"],
                                       temperature=DEFAULT_SAMPLING["temperature"],
                                       top_k=DEFAULT_SAMPLING["top_k"],
                                       seed=DEFAULT_SAMPLING["seed"])


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature (also the export's warm-up requests)."""
    prompt = np.array([EXAMPLE_PROMPTS[task.level].encode()])
    return {
        "serving_default": {"prompts": prompt},
        "generate": {"prompts": prompt, "max_tokens": np.array([8], np.int32),
                     "temperature": np.array([0.8], np.float32),
                     "top_k": np.array([20], np.int32), "seed": np.array([1], np.int64)},
        "score": {"texts": prompt},
    }
