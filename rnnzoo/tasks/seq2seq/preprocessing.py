"""A translator's text ↔ ids, and the model that answers raw texts, as Keras objects.

Sources and targets are split into words (inner hyphens and apostrophes kept) and single
punctuation marks (RE2, :func:`rnnzoo.serving.text_ops.joined_words_and_punctuation`);
translations are detokenised with no space before closing and after opening punctuation.
:class:`TranslatorPreprocessor` does both in TensorFlow ops, for training (:func:`tokenize`,
:func:`to_texts`), for the task object and for the export alike; :class:`TextTranslator`
scores raw (source, target) pairs and translates raw sources with beam search.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import BOS, EOS, PAD, UNK, Vocabulary, string_tensor
from rnnzoo.layers.cells import PACKAGE
from rnnzoo.saving import ids_model
from rnnzoo.serving import text_ops
from rnnzoo.tasks.base import MAX_TOKEN_CHARS, as_texts
from rnnzoo.tasks.language_model.preprocessing import cut_chars
from rnnzoo.tasks.scores import TextScores
from rnnzoo.tasks.seq2seq import decoding
from rnnzoo.tasks.seq2seq.model import SOURCE, TARGET_IN

SOURCE_VOCAB, TARGET_VOCAB = "source_vocab.txt", "target_vocab.txt"
SKIPPED = (PAD, UNK, BOS, EOS)
"""Target tokens left out of a translation's text."""


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Each text's tokens: words (inner hyphens and apostrophes kept) and single punctuation
    marks, as the preprocessor splits them."""
    tokens = text_ops.joined_words_and_punctuation(string_tensor(list(texts)))
    return [[token.decode() for token in row] for row in tokens.to_list()]


def detokenized(ids: tf.RaggedTensor, inverse: keras.layers.Layer) -> tf.Tensor:
    """Target ids (batch, None) → texts (batch,): ``<pad>``, ``<unk>``, ``<bos>`` and
    ``<eos>`` left out, tokens joined by spaces, none before closing and after opening
    punctuation."""
    tokens = ids.with_flat_values(inverse(tf.cast(ids.flat_values, tf.int64)))
    special = tf.reduce_any(tf.equal(tokens.flat_values[:, None], tf.constant(SKIPPED)[None]),
                            axis=1)
    kept = tf.ragged.boolean_mask(tokens, tokens.with_flat_values(~special))
    return text_ops.detokenize(tf.strings.reduce_join(kept, axis=-1, separator=" "))


def to_texts(ids: Sequence[Sequence[int]], vocab: Vocabulary) -> list[str]:
    """The text of each translation's target ids (:func:`detokenized`)."""
    ragged = decoding.ragged([np.asarray(row, np.int32) for row in ids])
    return [text.decode() for text in detokenized(ragged, vocab.inverse_layer).numpy()]


@keras.saving.register_keras_serializable(package=PACKAGE)
class TranslatorPreprocessor(keras.layers.Layer):
    """Raw (source, target) texts → the ids a translator reads, and target ids → text.

    A source is its first ``max_tokens`` tokens in source ids (a source without tokens reads
    as ``<eos>``); a target is ``<bos>``, its first ``max_tokens`` tokens and ``<eos>`` in
    target ids; both padded with 0. A text is cut to ``max_tokens`` × ``MAX_TOKEN_CHARS``
    characters before it is split.

    Args:
        source_vocabulary: the run's ``source_vocab.txt`` tokens.
        target_vocabulary: the run's ``target_vocab.txt`` tokens (with ``<bos>``, ``<eos>``).
        max_tokens: tokens of a text that are read.

    Call arguments:
        sources: a string tensor of shape ``(batch,)``.
        targets: a string tensor of shape ``(batch,)``.

    Returns:
        ``(source_ids, target_ids)``, int32 of shapes ``(batch, S)`` and ``(batch, T + 2)``.

    Example:

    ```python
    pre = TranslatorPreprocessor(["<pad>", "<unk>", "God", "."],
                                 ["<pad>", "<unk>", "<bos>", "<eos>", "Dios"])
    pre(tf.constant(["God."]), tf.constant(["Dios"]))  # [[2, 3]], [[2, 4, 3]]
    pre.texts(tf.ragged.constant([[4, 3]]))  # ["Dios"]
    ```
    """

    def __init__(self, source_vocabulary: list[str], target_vocabulary: list[str],
                 max_tokens: int = 1000, **kwargs):
        super().__init__(**kwargs)
        self.source_vocabulary = list(source_vocabulary)
        self.target_vocabulary = list(target_vocabulary)
        self.max_tokens = max_tokens
        self._source = Vocabulary(self.source_vocabulary, "word")
        self._target = Vocabulary(self.target_vocabulary, "word")
        self.source_lookup = self._source.layer  # tracked: an export captures the tables
        self.target_lookup = self._target.layer
        self.target_inverse = self._target.inverse_layer
        self.source_eos = int(self._source.ids([EOS])[0])

    def build(self, *input_shapes):
        self.built = True

    def tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Every token of each text (batch,) → (batch, None), after the cut to ``max_tokens``
        × ``MAX_TOKEN_CHARS`` characters."""
        texts = cut_chars(texts, self.max_tokens * MAX_TOKEN_CHARS)
        return text_ops.joined_words_and_punctuation(texts)

    def source_ids(self, sources: tf.Tensor) -> tf.RaggedTensor:
        """Sources (batch,) → their first ``max_tokens`` tokens' ids (batch, None); an empty
        source is ``[<eos>]``."""
        ids = text_ops.lookup_ids(self._source, self.tokens(sources)[:, : self.max_tokens])
        return _eos_if_empty(ids, self.source_eos)

    def call(self, sources, targets):
        tokens = self.tokens(targets)[:, : self.max_tokens]
        rows = tokens.nrows()
        target = tf.concat([tf.fill([rows, 1], BOS), tokens, tf.fill([rows, 1], EOS)], axis=1)
        return (self.source_ids(sources).to_tensor(),
                text_ops.lookup_ids(self._target, target).to_tensor())

    def texts(self, ids: tf.RaggedTensor) -> tf.Tensor:
        """Target ids (batch, None) → translations (batch,) (:func:`detokenized`)."""
        return detokenized(ids, self.target_inverse)

    def compute_output_spec(self, sources, targets):
        batch = sources.shape[0]
        return (keras.KerasTensor((batch, None), dtype="int32"),
                keras.KerasTensor((batch, None), dtype="int32"))

    def get_config(self) -> dict:
        return {**super().get_config(), "source_vocabulary": self.source_vocabulary,
                "target_vocabulary": self.target_vocabulary, "max_tokens": self.max_tokens}


def _eos_if_empty(ids: tf.RaggedTensor, eos: int) -> tf.RaggedTensor:
    """Each row of ``ids``, an empty one replaced by ``[eos]``."""
    empty = tf.cast(tf.equal(ids.row_lengths(), 0), tf.int64)
    filler = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(empty)], tf.constant(eos, ids.dtype)), empty)
    return tf.concat([ids, filler], axis=1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class TextTranslator(keras.Model):
    """A translator that reads raw texts: called on (source, target) texts it scores each
    target given its source, and :meth:`translate` translates sources with beam search.

    log_likelihood = log p(Y | x) = Σ_t log p(y_t | y_<t, x) over the target's tokens and its
    closing ``<eos>``; ``next_token_probabilities`` = p(· | the target so far, x).

    Args:
        model: the model on ids (``seq2seq.build``: ``{"source", "target_in"}`` → logits).
        source_vocabulary: the run's ``source_vocab.txt`` tokens.
        target_vocabulary: the run's ``target_vocab.txt`` tokens.
        decoding: the recipe's decoding settings: ``beam_size``, ``length_penalty``,
            ``max_decode_length``, ``bos_id`` and ``eos_id``.
        max_tokens: tokens of a source (or a target) that are read.

    Call arguments:
        inputs: ``{"source": strings (batch,), "target": strings (batch,)}``.

    Returns:
        ``{"log_likelihood": (batch,), "tokens": int32 (batch,),
        "next_token_probabilities": (batch, target vocabulary)}`` (:class:`TextScores`).

    Example:

    ```python
    nmt = keras.saving.load_model("saved_models/lstm-seq2seq-en-es/model.keras",
                                  safe_mode=True)
    nmt.translate(["Jesus wept."], beam_size=5)
    nmt({"source": tf.constant(["Jesus wept."]), "target": tf.constant(["Jesús lloró."])})
    ```
    """

    def __init__(self, model: keras.Model, source_vocabulary: list[str],
                 target_vocabulary: list[str], decoding: dict, max_tokens: int = 1000,
                 **kwargs):
        sources = keras.Input(shape=(), dtype="string", name="source")
        targets = keras.Input(shape=(), dtype="string", name="target")
        source, target = TranslatorPreprocessor(source_vocabulary, target_vocabulary,
                                                max_tokens, name="preprocessor")(sources, targets)
        logits = model({SOURCE: source, TARGET_IN: target})
        scores = TextScores(True, name="scores")(logits, target)
        kwargs.setdefault("name", f"{model.name}_text")
        super().__init__({"source": sources, "target": targets}, scores, **kwargs)
        self.decoding = {key: decoding[key] for key in DECODING}

    @property
    def preprocessor(self) -> TranslatorPreprocessor:
        return self.get_layer("preprocessor")

    def translate(self, texts: str | Sequence[str], beam_size: int | None = None,
                  length_penalty: float | None = None,
                  batch_size: int = 32) -> str | list[str]:
        """Beam-search translation of each text (the recipe's beam and length penalty by
        default; ``beam_size=1`` is greedy decoding), decoded in batches of similar lengths;
        a batch's decode-length cap is 2 × its longest source + 10 (at most the recipe's
        ``max_decode_length``)."""
        texts, single = as_texts(texts)
        settings = dict(self.decoding)
        if beam_size is not None:
            if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
                raise ValueError(f"beam_size must be >= 1 (an integer), got {beam_size!r}")
            settings["beam_size"] = beam_size
        if length_penalty is not None:
            settings["length_penalty"] = length_penalty
        sources = self.preprocessor.source_ids(string_tensor(texts))
        ids = decoding.translate(ids_model(self), [np.asarray(row, np.int32) for row in
                                                   sources.to_list()], settings, batch_size)
        out = [text.decode() for text in
               self.preprocessor.texts(decoding.ragged(
                   [np.asarray(row, np.int32) for row in ids])).numpy()]
        return out[0] if single else out

    def get_config(self) -> dict:
        pre = self.preprocessor
        return {"model": keras.saving.serialize_keras_object(ids_model(self)),
                "source_vocabulary": pre.source_vocabulary,
                "target_vocabulary": pre.target_vocabulary, "decoding": dict(self.decoding),
                "max_tokens": pre.max_tokens, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> TextTranslator:
        config = dict(config)
        model = keras.saving.deserialize_keras_object(config.pop("model"))
        return cls(model, **config)


DECODING = ("beam_size", "length_penalty", "max_decode_length", "bos_id", "eos_id")
"""The recipe's decoding settings a :class:`TextTranslator` keeps."""


def text_model(model: keras.Model, source_vocabulary: list[str], target_vocabulary: list[str],
               config: dict, max_tokens: int) -> TextTranslator:
    """``model`` (ids → logits) as a :class:`TextTranslator`: what ``publish`` saves.

    Args:
        model: the model on ids (``seq2seq.build``).
        source_vocabulary: the run's ``source_vocab.txt`` tokens.
        target_vocabulary: the run's ``target_vocab.txt`` tokens.
        config: the recipe's validated ``model`` section (its decoding settings are kept).
        max_tokens: tokens of a source (or a target) that are read.

    Returns:
        The :class:`TextTranslator` around ``model``.
    """
    return TextTranslator(model, source_vocabulary, target_vocabulary, config, max_tokens)
