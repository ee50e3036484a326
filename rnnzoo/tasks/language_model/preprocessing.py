"""A language model's text → ids and its scores of raw texts, as Keras layers.

:func:`text_model` puts :class:`LanguageModelPreprocessor` in front of the model on ids and
:class:`TextScores` behind it: raw texts → the log-likelihood of each text (nats, summed over
its tokens and, for a word model, the closing ``<eos>``), the number of tokens scored, and the
distribution of the token that would come next, as ``LanguageModel.log_likelihood`` computes
them.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from rnnzoo.data.vocab import EOS, Vocabulary
from rnnzoo.layers.cells import PACKAGE
from rnnzoo.serving.text_ops import lookup_ids


@keras.saving.register_keras_serializable(package=PACKAGE)
class LanguageModelPreprocessor(keras.layers.Layer):
    """Raw texts → ids to score: the boundary token (``<eos>`` for words, a line end for
    characters), the text's first ``max_tokens`` tokens (characters, or words split on white
    space) and, for a word model, a closing ``<eos>``; padded with 0.

    Args:
        vocabulary: the run's ``vocab.txt`` tokens (``<pad>``, ``<unk>`` first).
        level: ``"char"`` or ``"word"``.
        max_tokens: tokens of a text that are read.

    Call arguments:
        texts: a string tensor of shape ``(batch,)``.

    Returns:
        int32 ids of shape ``(batch, 1 + tokens [+ 1])``.

    Example:

    ```python
    pre = LanguageModelPreprocessor(["<pad>", "<unk>", "\\n", "a", "b"], "char")
    pre(tf.constant(["ab", "a"]))  # [[2, 3, 4], [2, 3, 0]]
    ```
    """

    def __init__(self, vocabulary: list[str], level: str, max_tokens: int = 1000, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.level, self.max_tokens = list(vocabulary), level, max_tokens
        self._vocab = Vocabulary(self.vocabulary, level)
        self.lookup = self._vocab.layer  # tracked, so that an export captures its table

    def build(self, input_shape=None):
        self.built = True

    def call(self, texts):
        tokens = self._vocab.tokenize(texts)[:, : self.max_tokens]
        rows = tokens.nrows()
        boundary = tf.fill([rows, 1], EOS if self.level == "word" else "\n")
        pieces = [boundary, tokens]
        if self.level == "word":
            pieces.append(tf.fill([rows, 1], EOS))
        return lookup_ids(self._vocab, tf.concat(pieces, axis=1)).to_tensor()

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None), dtype="int32")

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary": self.vocabulary, "level": self.level,
                "max_tokens": self.max_tokens}


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


def text_model(model: keras.Model, vocabulary: list[str], level: str,
               max_tokens: int) -> keras.Model:
    """``model`` (ids → logits) with its preprocessor in front and its scores behind: raw
    texts (batch,) → ``{"log_likelihood", "tokens", "next_token_probabilities"}``."""
    texts = keras.Input(shape=(), dtype="string", name="texts")
    ids = LanguageModelPreprocessor(vocabulary, level, max_tokens, name="preprocessor")(texts)
    scores = TextScores(level == "word", name="scores")(model(ids), ids)
    return keras.Model(texts, scores, name=f"{model.name}_text")
