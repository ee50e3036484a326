"""A tagger's inputs and outputs: tokens → word and character ids (the run's vocabularies),
model tags ↔ the corpus's scheme. Used by the recipe, the task object and the tests alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import tensorflow as tf

from rnnzoo.data.conll import TaggedSentence, iob2_to_bioes
from rnnzoo.data.vocab import Vocabulary
from rnnzoo.tasks.tagger import model as tagger
from rnnzoo.training.config import check_value

TAG_OFFSET = 2
"""Tag vocabulary ids of the model's tags 0, 1, ...: after ``<pad>`` and ``<unk>``."""


def word_keys(tokens: Iterable[str], vocab_cfg: dict) -> Iterator[str]:
    """The word-vocabulary keys of ``tokens``: lower-cased when ``vocab_cfg["lowercase"]``."""
    return (t.lower() if vocab_cfg["lowercase"] else t for t in tokens)


class Vocabularies(NamedTuple):
    """Words, characters and tags of the training split; saved as ``NAME.txt`` in the run
    (built by the recipe's ``build_vocabularies``)."""

    words: Vocabulary
    chars: Vocabulary
    tags: Vocabulary

    @classmethod
    def load(cls, run: Path) -> Vocabularies:
        return cls(*(Vocabulary.load(run / f"{name}.txt", level)
                     for name, level in zip(cls._fields, ("word", "char", "word"))))

    def save(self, run: Path) -> None:
        for name, vocab in zip(self._fields, self):
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
    """``{"words": (N, None)}`` int32 ids and, with ``chars``, ``"chars"`` (N, None, None)."""
    tokens = [t for s in sentences for t in s.tokens]
    lengths = [len(s.tokens) for s in sentences]
    word_ids = vocabs.words.ids(word_keys(tokens, vocab_cfg)).astype("int32")
    result = {"words": tf.RaggedTensor.from_row_lengths(word_ids, lengths)}
    if chars:
        spelled = [t[: vocab_cfg["max_word_chars"]] for t in tokens]
        char_ids = vocabs.chars.ids(c for t in spelled for c in t).astype("int32")
        result["chars"] = tf.RaggedTensor.from_nested_row_lengths(
            char_ids, [lengths, [len(t) for t in spelled]])
    return result
