"""A language model's text ↔ ids, and the model that answers raw texts, as Keras objects.

:class:`LanguageModelPreprocessor` reads texts (to score) and prompts (to continue) into ids and
writes generated ids back as text; :class:`TextLanguageModel` puts it in front of the model on
ids and :class:`~rnnzoo.tasks.scores.TextScores` behind it: raw texts → the log-likelihood of
each text (nats, summed over its tokens and, for a word model, the closing ``<eos>``), the
number of tokens scored, and the distribution of the token that would come next; its
:meth:`~TextLanguageModel.generate` continues prompts, as keras-hub's ``CausalLM.generate``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import EOS, NUMBER, UNK_ID, Vocabulary, string_tensor
from rnnzoo.layers.cells import PACKAGE
from rnnzoo.saving import ids_model
from rnnzoo.serving.text_ops import lookup_ids
from rnnzoo.tasks.base import MAX_TOKEN_CHARS, as_texts, check_sampling
from rnnzoo.tasks.language_model.sampling import Generator
from rnnzoo.tasks.scores import TextScores


def _is_special(token: str) -> bool:
    return token.startswith("<") and token.endswith(">")


def cut_chars(texts: tf.Tensor, limit: int, keep_last: bool = False) -> tf.Tensor:
    """Each text's first (or last) ``limit`` characters (code points)."""
    length = tf.strings.length(texts, unit="UTF8_CHAR")
    if keep_last:
        start = tf.maximum(length - limit, 0)
        return tf.strings.substr(texts, start, length - start, unit="UTF8_CHAR")
    return tf.strings.substr(texts, tf.zeros_like(length), tf.minimum(length, limit),
                             unit="UTF8_CHAR")


@keras.saving.register_keras_serializable(package=PACKAGE)
class LanguageModelPreprocessor(keras.layers.Layer):
    """Raw texts → ids to score: the boundary token (``<eos>`` for words, a line end for
    characters), the text's first ``max_tokens`` tokens (characters, or words split on white
    space) and, for a word model, a closing ``<eos>``; padded with 0.

    A prompt (:meth:`prompt_ids`) is read as the model's training text was written: for a word
    vocabulary without capitals (but ``N``), lower-cased; for one with ``N`` and no numbers (the
    Penn Treebank's), ``$`` and ``%`` split off numbers and each number written ``N`` (``%``
    too when the vocabulary lacks it, as Mikolov's PTB writes ``N N``). Its last ``max_tokens``
    tokens are read.

    Args:
        vocabulary: the run's ``vocab.txt`` tokens (``<pad>``, ``<unk>`` first).
        level: ``"char"`` or ``"word"``.
        max_tokens: tokens of a text that are read; a text is cut to ``max_tokens`` ×
            ``MAX_TOKEN_CHARS`` characters before it is split.

    Call arguments:
        texts: a string tensor of shape ``(batch,)``.

    Returns:
        int32 ids of shape ``(batch, 1 + tokens [+ 1])``.

    Example:

    ```python
    pre = LanguageModelPreprocessor(["<pad>", "<unk>", "\\n", "a", "b"], "char")
    pre(tf.constant(["ab", "a"]))  # [[2, 3, 4], [2, 3, 0]]
    pre.detokenize(tf.constant([3, 4, 2]))  # "ab\\n"
    ```
    """

    def __init__(self, vocabulary: list[str], level: str, max_tokens: int = 1000, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.level, self.max_tokens = list(vocabulary), level, max_tokens
        self._vocab = Vocabulary(self.vocabulary, level)
        self.lookup = self._vocab.layer  # tracked, so that an export captures its table
        self.inverse = self._vocab.inverse_layer
        self.boundary = EOS if level == "word" else "\n"
        words = [w for w in self.vocabulary if not _is_special(w)] if level == "word" else []
        self.lowercase_prompts = bool(words) and all(w == w.lower() for w in words if w != "N")
        self.numbers_as_n = "N" in words and not any(re.fullmatch(NUMBER, w) for w in words)
        self.percent = "%" if "%" in words else "N"

    def build(self, input_shape=None):
        self.built = True

    def tokens(self, texts: tf.Tensor, prompt: bool = False) -> tf.RaggedTensor:
        """Every token of each text (batch,) → (batch, None), a prompt's normalised (see the
        class), after the cut to ``max_tokens`` × ``MAX_TOKEN_CHARS`` characters."""
        texts = cut_chars(texts, self.max_tokens * MAX_TOKEN_CHARS, keep_last=prompt)
        if prompt and self.lowercase_prompts:
            texts = tf.strings.lower(texts, encoding="utf-8")
        if prompt and self.numbers_as_n:
            texts = tf.strings.regex_replace(texts, r"\$([0-9])", r"$ \1")
            texts = tf.strings.regex_replace(texts, r"([0-9])%", r"\1 " + self.percent)
        tokens = self._vocab.tokenize(texts)
        if prompt and self.numbers_as_n:
            values = tokens.flat_values
            tokens = tokens.with_flat_values(
                tf.where(tf.strings.regex_full_match(values, NUMBER), "N", values))
        return tokens

    def call(self, texts):
        tokens = self.tokens(texts)[:, : self.max_tokens]
        rows = tokens.nrows()
        pieces = [tf.fill([rows, 1], self.boundary), tokens]
        if self.level == "word":
            pieces.append(tf.fill([rows, 1], EOS))
        return lookup_ids(self._vocab, tf.concat(pieces, axis=1)).to_tensor()

    def prompt_ids(self, prompt: tf.Tensor) -> tf.Tensor:
        """One prompt (a scalar string) → int32 (1 + tokens,): the boundary, then its last
        ``max_tokens`` normalised tokens."""
        tokens = self.tokens(prompt[None], prompt=True)[0][-self.max_tokens:]
        return lookup_ids(self._vocab, tf.concat([[self.boundary], tokens], axis=0))

    def detokenize(self, ids: tf.Tensor) -> tf.Tensor:
        """Generated ids (steps,) → their text (a scalar string): characters joined, or words
        joined by spaces with each ``<eos>`` a line end."""
        tokens = self.inverse(tf.cast(ids, tf.int64))
        if self.level == "char":
            return tf.strings.reduce_join(tokens)
        text = tf.strings.reduce_join(tokens, separator=" ")
        return tf.strings.regex_replace(text, f" ?{EOS} ?", "\n")

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None), dtype="int32")

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary": self.vocabulary, "level": self.level,
                "max_tokens": self.max_tokens}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TextLanguageModel(keras.Model):
    """A language model that reads raw texts: called on texts it scores them, and
    :meth:`generate` continues prompts (keras-hub's ``CausalLM.generate``).

    Args:
        model: the model on ids (``language_model.build``: ids → logits).
        vocabulary: the run's ``vocab.txt`` tokens.
        level: ``"char"`` or ``"word"``.
        max_tokens: tokens of a text (or a prompt) that are read.

    Call arguments:
        texts: a string tensor of shape ``(batch,)``.

    Returns:
        ``{"log_likelihood": (batch,), "tokens": int32 (batch,),
        "next_token_probabilities": (batch, vocabulary)}`` (:class:`TextScores`).

    Example:

    ```python
    lm = keras.saving.load_model("saved_models/gru-lm/model.keras", safe_mode=True)
    lm(tf.constant(["Emma smiled."]))["log_likelihood"]
    lm.generate("It is a truth", max_tokens=40, temperature=0.8, seed=0)
    ```
    """

    def __init__(self, model: keras.Model, vocabulary: list[str], level: str,
                 max_tokens: int = 1000, **kwargs):
        texts = keras.Input(shape=(), dtype="string", name="texts")
        ids = LanguageModelPreprocessor(vocabulary, level, max_tokens, name="preprocessor")(texts)
        scores = TextScores(level == "word", name="scores")(model(ids), ids)
        kwargs.setdefault("name", f"{model.name}_text")
        super().__init__(texts, scores, **kwargs)
        self._generator = None

    @property
    def preprocessor(self) -> LanguageModelPreprocessor:
        return self.get_layer("preprocessor")

    @property
    def generator(self) -> Generator:
        """The compiled decoding loop over the model on ids (made at first use)."""
        if self._generator is None:
            self._generator = Generator(ids_model(self))
        return self._generator

    def generate(self, prompts: str | Sequence[str] = "", max_tokens: int = 50,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int = 0,
                 allow_unk: bool = False) -> str | list[str]:
        """The continuation of each prompt (``temperature=0``: greedy), seeded; ``<unk>`` is
        never generated unless ``allow_unk``. Each prompt is read as
        :meth:`LanguageModelPreprocessor.prompt_ids` reads it.

        Args:
            prompts: a string or a list of strings.
            max_tokens: the tokens generated after each prompt.
            temperature: logits / T before drawing; 0 takes the most likely token.
            top_k: draw among the k most likely tokens only (0: all).
            top_p: draw from the smallest set whose probability reaches p (nucleus).
            seed: the k-th token is drawn with the seed pair (seed, k).
            allow_unk: whether ``<unk>`` may be generated.
        """
        texts, single = as_texts(prompts)
        check_sampling(max_tokens, temperature, top_k, seed)
        out = []
        for ids in self.prompt_ids(texts):
            generated = self.generator(ids[None], max_tokens=max_tokens,
                                       temperature=temperature, top_k=top_k, top_p=top_p,
                                       seed=seed, banned=() if allow_unk else (UNK_ID,))
            out.append(self.text(generated[0]))
        return out[0] if single else out

    def prompt_ids(self, prompts: Sequence[str]) -> list[np.ndarray]:
        """The ids each prompt is read as (:meth:`LanguageModelPreprocessor.prompt_ids`)."""
        return [self.preprocessor.prompt_ids(text).numpy() for text in string_tensor(prompts)]

    def text(self, ids) -> str:
        """Generated ids → their text (:meth:`LanguageModelPreprocessor.detokenize`)."""
        return self.preprocessor.detokenize(np.asarray(ids, np.int64)).numpy().decode()

    def get_config(self) -> dict:
        pre = self.preprocessor
        return {"model": keras.saving.serialize_keras_object(ids_model(self)),
                "vocabulary": pre.vocabulary, "level": pre.level, "max_tokens": pre.max_tokens,
                "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> TextLanguageModel:
        config = dict(config)
        model = keras.saving.deserialize_keras_object(config.pop("model"))
        return cls(model, **config)


def text_model(model: keras.Model, vocabulary: list[str], level: str,
               max_tokens: int) -> TextLanguageModel:
    """``model`` (ids → logits) as a :class:`TextLanguageModel`: what ``publish`` saves.

    Args:
        model: the model on ids (``language_model.build``).
        vocabulary: the run's ``vocab.txt`` tokens.
        level: ``"char"`` or ``"word"``.
        max_tokens: tokens of a text (or a prompt) that are read.

    Returns:
        The :class:`TextLanguageModel` around ``model``.
    """
    return TextLanguageModel(model, vocabulary, level, max_tokens)
