"""Scores of texts under a model that predicts each next token: shared by the language models
(a text after its boundary token) and the translator (a target after ``<bos>``, given its
source)."""

from __future__ import annotations

import keras
import tensorflow as tf

from rnnzoo.layers.cells import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class TextScores(keras.layers.Layer):
    """The model's logits over ids → each text's scores.

    log_likelihood = Σ_t log p(x_{t+1} | x_≤t) over the text's tokens (and a word model's
    closing ``<eos>``); ``next_token_probabilities`` = p(· | the text), read after the text's
    last token (before a word model's ``<eos>``).

    Args:
        closing_eos: whether the ids end with a closing ``<eos>`` (word models).

    Call arguments:
        logits: float (batch, steps, vocabulary) of the model over ``ids``.
        ids: int32 (batch, steps), 0 at padding.

    Returns:
        ``{"log_likelihood": (batch,), "tokens": int32 (batch,),
        "next_token_probabilities": (batch, vocabulary)}``.
    """

    def __init__(self, closing_eos: bool, **kwargs):
        super().__init__(**kwargs)
        self.closing_eos = closing_eos
        self.supports_masking = True

    def build(self, *input_shapes):
        self.built = True

    def compute_mask(self, *args, **kwargs):
        return None

    def call(self, logits, ids):
        log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        following = ids[:, 1:]
        picked = tf.gather(log_p[:, :-1], following, axis=2, batch_dims=2)
        present = tf.not_equal(following, 0)
        lengths = tf.reduce_sum(tf.cast(tf.not_equal(ids, 0), tf.int32), axis=1)
        last = lengths - (2 if self.closing_eos else 1)
        return {"log_likelihood": tf.reduce_sum(tf.where(present, picked, 0.0), axis=1),
                "tokens": lengths - 1,
                "next_token_probabilities": tf.exp(tf.gather(log_p, last, axis=1,
                                                             batch_dims=1))}

    def compute_output_spec(self, logits, ids):
        batch = ids.shape[0]
        return {"log_likelihood": keras.KerasTensor((batch,), dtype="float32"),
                "tokens": keras.KerasTensor((batch,), dtype="int32"),
                "next_token_probabilities": keras.KerasTensor((batch, logits.shape[-1]),
                                                              dtype="float32")}

    def get_config(self) -> dict:
        return {**super().get_config(), "closing_eos": self.closing_eos}
