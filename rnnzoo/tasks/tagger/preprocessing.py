"""A tagger's inputs and outputs: tokens → word and character ids (the run's vocabularies),
model tags ↔ the corpus's scheme. Used by the recipe, the task object and the tests alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import keras
import tensorflow as tf

from rnnzoo.data.conll import TaggedSentence, iob2_to_bioes
from rnnzoo.data.vocab import Vocabulary
from rnnzoo.layers.cells import PACKAGE
from rnnzoo.serving import text_ops
from rnnzoo.tasks.tagger import model as tagger
from rnnzoo.tasks.tagger.string_features import INPUTS as STRING_INPUTS
from rnnzoo.tasks.tagger.string_features import string_inputs, string_inputs_tf
from rnnzoo.training.config import Field, check_value

VOCABULARY_SCHEMA = {
    "lowercase": Field(bool, default=True,
                       doc="look words up lower-cased (the character features keep the case)"),
    "min_count": Field(int, default=1, low=1,
                       doc="the training count a word needs to be in the vocabulary; rarer ones "
                           "read as `<unk>`"),
    "max_word_chars": Field(int, default=30, low=1,
                            doc="the characters of each word, its first ones, that the character "
                                "features read"),
}
TAG_OFFSET = 2
"""Tag vocabulary ids of the model's tags 0, 1, ...: after ``<pad>`` and ``<unk>``."""


def word_keys(tokens: Iterable[str], vocab_cfg: dict) -> Iterator[str]:
    """The word-vocabulary keys of ``tokens``: lower-cased when ``vocab_cfg["lowercase"]``."""
    return (t.lower() if vocab_cfg["lowercase"] else t for t in tokens)


class Vocabularies(NamedTuple):
    """Words, characters and tags of the training split and, with contextual string
    embeddings, the language models' characters; saved as ``NAME.txt`` in the run (built by
    the recipe's ``build_vocabularies``)."""

    words: Vocabulary
    chars: Vocabulary
    tags: Vocabulary
    lm_chars: Vocabulary | None = None

    @classmethod
    def load(cls, run: Path) -> Vocabularies:
        lm_chars = run / "lm_chars.txt"
        return cls(*(Vocabulary.load(run / f"{name}.txt", level)
                     for name, level in zip(cls._fields, ("word", "char", "word"))),
                   Vocabulary.load(lm_chars, "char") if lm_chars.exists() else None)

    def save(self, run: Path) -> None:
        for name, vocab in zip(self._fields, self):
            if vocab is not None:
                vocab.save(run / f"{name}.txt")

    @property
    def tag_names(self) -> list[str]:
        """The model's tags, in id order."""
        return self.tags.tokens[TAG_OFFSET:]


def model_tags(tags: list[str], scheme: str | None) -> list[str]:
    """A sentence's tags as the model learns them: BIOES for ``scheme="BIOES"``, else as read."""
    return iob2_to_bioes(tags) if scheme == "BIOES" else tags


def corpus_tags(tags: list[str], scheme: str | None) -> list[str]:
    """Predicted tags back in the corpus's scheme: BIOES's S- and E- become IOB2's B- and I-."""
    if scheme != "BIOES":
        return tags
    return [{"S": "B", "E": "I"}.get(t[0], t[0]) + t[1:] for t in tags]


def model_scheme(model: dict) -> str | None:
    """The recipe model's entity tagging scheme (checked), before the data fix its sizes."""
    field = tagger.SCHEMA["scheme"]
    return check_value("model.scheme", model.get("scheme", field.default), field)


def features(sentences: Sequence[TaggedSentence], vocabs: Vocabularies, vocab_cfg: dict,
             chars: bool) -> dict[str, tf.RaggedTensor]:
    """``{"words": (N, None)}`` int32 ids, with ``chars`` ``"chars"`` (N, None, None), and with
    the language models' characters (``vocabs.lm_chars``) the contextual string inputs
    (:func:`~rnnzoo.tasks.tagger.string_features.string_inputs`)."""
    tokens = [t for s in sentences for t in s.tokens]
    lengths = [len(s.tokens) for s in sentences]
    word_ids = vocabs.words.ids(word_keys(tokens, vocab_cfg)).astype("int32")
    result = {"words": tf.RaggedTensor.from_row_lengths(word_ids, lengths)}
    if chars:
        spelled = [t[: vocab_cfg["max_word_chars"]] for t in tokens]
        char_ids = vocabs.chars.ids(c for t in spelled for c in t).astype("int32")
        result["chars"] = tf.RaggedTensor.from_nested_row_lengths(
            char_ids, [lengths, [len(t) for t in spelled]])
    if vocabs.lm_chars is not None:
        result.update(string_inputs([s.tokens for s in sentences], vocabs.lm_chars))
    return result


@keras.saving.register_keras_serializable(package=PACKAGE)
class TaggerPreprocessor(keras.layers.Layer):
    """Raw sentences → the tagger's inputs and the tokens they hold.

    Each sentence is split on white space (RE2, as ``str.split``) and read up to its first
    ``max_tokens`` tokens; word ids are of the tokens lower-cased when ``lowercase`` (unknown
    words → ``<unk>``), character ids of each token's first ``max_word_chars`` characters
    (invalid UTF-8 read as U+FFFD), both padded with 0.

    Args:
        words: the run's ``words.txt`` tokens (``<pad>``, ``<unk>`` first).
        chars: the run's ``chars.txt`` tokens, or ``None`` for a model without character
            features.
        lowercase: look words up lower-cased.
        max_word_chars: characters of a token that are read.
        max_tokens: tokens of a sentence that are read.
        lm_chars: the language models' ``lm_chars.txt`` tokens, for contextual string
            embeddings, or ``None``.

    Call arguments:
        sentences: a string tensor of shape ``(batch,)``.

    Returns:
        ``{"words": int32 (batch, tokens), "chars": int32 (batch, tokens, characters),
        "tokens": string (batch, tokens)}`` (``chars`` only with ``chars``; tokens padded
        with ``""``), and with ``lm_chars`` the string inputs ``lm_chars``, ``lm_before`` and
        ``lm_after``.

    Example:

    ```python
    pre = TaggerPreprocessor(["<pad>", "<unk>", "paris"], None, lowercase=True,
                             max_word_chars=30)
    pre(tf.constant(["Paris is", "Rome"]))["words"]  # [[2, 1], [1, 0]]
    ```
    """

    def __init__(self, words: list[str], chars: list[str] | None, lowercase: bool,
                 max_word_chars: int, max_tokens: int = 1000,
                 lm_chars: list[str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.words, self.chars = list(words), list(chars) if chars is not None else None
        self.lowercase, self.max_word_chars, self.max_tokens = (lowercase, max_word_chars,
                                                                max_tokens)
        self._words = Vocabulary(self.words, "word")
        self.word_lookup = self._words.layer  # tracked, so that an export captures its table
        if self.chars is not None:
            self._chars = Vocabulary(self.chars, "char")
            self.char_lookup = self._chars.layer
        self.lm_chars = list(lm_chars) if lm_chars is not None else None
        if self.lm_chars is not None:
            self._lm_chars = Vocabulary(self.lm_chars, "char")
            self.lm_char_lookup = self._lm_chars.layer

    def build(self, input_shape=None):
        self.built = True

    def call(self, sentences):
        tokens = text_ops.split_whitespace(sentences)[:, : self.max_tokens]
        keys = tokens
        if self.lowercase:
            keys = tokens.with_flat_values(tf.strings.lower(tokens.flat_values, encoding="utf-8"))
        out = {"words": text_ops.lookup_ids(self._words, keys).to_tensor(),
               "tokens": tokens.to_tensor(default_value="")}
        if self.chars is not None:
            spelled = tf.strings.unicode_split(tokens.flat_values, "UTF-8",
                                               errors="replace")[:, : self.max_word_chars]
            chars = tokens.with_flat_values(text_ops.lookup_ids(self._chars, spelled))
            out["chars"] = chars.to_tensor()
        if self.lm_chars is not None:
            out.update(string_inputs_tf(
                tokens, lambda chars: text_ops.lookup_ids(self._lm_chars, chars)))
        return out

    def compute_output_spec(self, sentences):
        batch = sentences.shape[0]
        out = {"words": keras.KerasTensor((batch, None), dtype="int32"),
               "tokens": keras.KerasTensor((batch, None), dtype="string")}
        if self.chars is not None:
            out["chars"] = keras.KerasTensor((batch, None, None), dtype="int32")
        if self.lm_chars is not None:
            out.update({name: keras.KerasTensor((batch, None), dtype="int32")
                        for name in STRING_INPUTS})
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "words": self.words, "chars": self.chars,
                "lowercase": self.lowercase, "max_word_chars": self.max_word_chars,
                "max_tokens": self.max_tokens, "lm_chars": self.lm_chars}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TagAnswers(keras.layers.Layer):
    """The tagger's outputs → the tags of each token, in the corpus's scheme.

    A CRF head's outputs are already its (constrained) Viterbi tags; a softmax head's
    probabilities are decoded by :func:`~rnnzoo.tasks.tagger.model.decode_tag_ids` among the
    paths ``allowed`` permits. BIOES tags are given back as IOB2.

    Args:
        tag_names: the model's tags, in id order.
        scheme: the model's entity scheme (``"IOB2"``, ``"BIOES"``) or ``None``.

    Call arguments:
        outputs: the tagger's output, (batch, tokens) tag ids or (batch, tokens, tags).
        words: the word ids (batch, tokens), 0 at padding.
        tokens: the tokens (batch, tokens), ``""`` at padding.

    Returns:
        ``{"tokens": string (batch, tokens), "tags": string (batch, tokens), "lengths": int32
        (batch,)}``, tags ``""`` at padding.

    Example:

    ```python
    import numpy as np
    import tensorflow as tf
    from rnnzoo.tasks.tagger.preprocessing import TagAnswers

    answers = TagAnswers(["O", "B-PER", "I-PER"], "IOB2")
    probabilities = np.array([[[0.1, 0.4, 0.5], [0.2, 0.1, 0.7], [1.0, 0.0, 0.0]]], "float32")
    words, tokens = np.array([[5, 6, 0]]), tf.constant([["Ada", "Lovelace", ""]])
    out = answers(probabilities, words, tokens)  # an I- first is not IOB2: Viterbi, not argmax
    out["tags"].numpy().tolist()  # [[b'B-PER', b'I-PER', b'']]
    out["lengths"].numpy().tolist()  # [2]
    ```
    """

    def __init__(self, tag_names: list[str], scheme: str | None, **kwargs):
        super().__init__(**kwargs)
        self.tag_names, self.scheme = list(tag_names), scheme
        self._allowed = tagger.allowed_transitions(self.tag_names, scheme)
        self.supports_masking = True

    def compute_mask(self, *args, **kwargs):
        return None

    def build(self, *input_shapes):
        self.built = True

    def call(self, outputs, words, tokens):
        ids = tagger.decode_tag_ids(outputs, words, self._allowed)
        tags = tf.gather(tf.constant(self.tag_names), ids)
        if self.scheme == "BIOES":
            tags = tf.strings.regex_replace(tf.strings.regex_replace(tags, "^S-", "B-"),
                                            "^E-", "I-")
        present = tf.not_equal(words, 0)
        return {"tokens": tokens, "tags": tf.where(present, tags, ""),
                "lengths": tf.reduce_sum(tf.cast(present, tf.int32), axis=1)}

    def compute_output_spec(self, outputs, words, tokens):
        batch = words.shape[0]
        return {"tokens": keras.KerasTensor((batch, None), dtype="string"),
                "tags": keras.KerasTensor((batch, None), dtype="string"),
                "lengths": keras.KerasTensor((batch,), dtype="int32")}

    def get_config(self) -> dict:
        return {**super().get_config(), "tag_names": self.tag_names, "scheme": self.scheme}


def text_model(model: keras.Model, vocabs: Vocabularies, vocab_cfg: dict,
               scheme: str | None, max_tokens: int) -> keras.Model:
    """``model`` (ids → tags or tag probabilities) with its preprocessor in front and its
    answers behind: raw sentences (batch,) → ``{"tokens", "tags", "lengths"}``. A CRF head is
    constrained to the ``scheme``'s paths first (:func:`~rnnzoo.tasks.tagger.model.constrain`),
    so that the saved model keeps the constraint.

    Args:
        model: The tagger (:func:`~rnnzoo.tasks.tagger.model.build`), with inputs ``"words"``
            and, with character features, ``"chars"``.
        vocabs: The run's :class:`Vocabularies` (words, characters, tags).
        vocab_cfg: The checked vocabulary settings (``lowercase``, ``max_word_chars``).
        scheme: The model's entity scheme (``"IOB2"``, ``"BIOES"``) or ``None``.
        max_tokens: The tokens of a sentence that are read.

    Returns:
        A functional `keras.Model` named `"{model.name}_text"`: a :class:`TaggerPreprocessor`,
        ``model`` and :class:`TagAnswers`.
    """
    tagger.constrain(model, vocabs.tag_names, scheme)
    sentences = keras.Input(shape=(), dtype="string", name="sentences")
    chars = vocabs.chars.tokens if "chars" in model.input else None
    lm_chars = vocabs.lm_chars.tokens if "lm_chars" in model.input else None
    inputs = TaggerPreprocessor(vocabs.words.tokens, chars, vocab_cfg["lowercase"],
                                vocab_cfg["max_word_chars"], max_tokens, lm_chars,
                                name="preprocessor")(sentences)
    outputs = model({name: inputs[name] for name in model.input})
    answers = TagAnswers(vocabs.tag_names, scheme, name="answers")(outputs, inputs["words"],
                                                                   inputs["tokens"])
    return keras.Model(sentences, answers, name=f"{model.name}_text")
