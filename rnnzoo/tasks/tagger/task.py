"""What ``rnnzoo.load`` returns for a tagger: tags and entities of raw sentences."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras

from rnnzoo.data.conll import TaggedSentence
from rnnzoo.data.vocab import UNK_ID
from rnnzoo.tasks.base import TaskModel
from rnnzoo.tasks.tagger import preprocessing
from rnnzoo.tasks.tagger.model import predict_tags, tagging_function
from rnnzoo.training.config import validate

SAMPLE_SENTENCE = "German Chancellor Olaf Scholz met Apple chief Tim Cook in Berlin on Monday."


class Tagger(TaskModel):
    """A sequence tagger as ``rnnzoo.load`` returns it: ``tag(text or tokens)`` → [(token,
    tag)]; ``entities(text)`` → labelled spans. A sentence is read up to its first
    ``max_input_tokens`` tokens.

    Args:
        folder: the model's folder (``model.keras``, ``words.txt``, ``chars.txt``, ``tags.txt``,
            ``config.yaml``).
        config: its recipe (``config.yaml``).

    Example:

    ```python
    ner = rnnzoo.load("bilstm-crf-ner")
    ner.tag("John Smith flew to London on Monday .")
    ner.entities("John Smith flew to London on Monday .")  # [("John Smith", "PER", 0, 2), ...]
    ```
    """

    task = "tagger"

    def __init__(self, folder: Path, config: dict):
        super().__init__(folder, config)
        self.vocabs = preprocessing.Vocabularies.load(self.folder)
        self.scheme = preprocessing.model_scheme(config["model"])
        self._tag = tagging_function(self.keras_model, self.vocabs.tag_names, self.scheme)

    def samples(self) -> list[str]:
        """The tags of a news sentence."""
        from rnnzoo.data.text import ud_tokens

        pairs = self.tag(ud_tokens(SAMPLE_SENTENCE))
        return ["A news sentence:", "", "```", " ".join(f"{t}/{g}" for t, g in pairs), "```"]

    def build_text_model(self) -> keras.Model:
        """Raw sentences → ``{"tokens", "tags", "lengths"}`` (:func:`preprocessing.text_model`)."""
        vocab_cfg = validate(self.config["vocabulary"], preprocessing.VOCABULARY_SCHEMA,
                             "vocabulary")
        return preprocessing.text_model(self.keras_model, self.vocabs, vocab_cfg, self.scheme,
                                        self.max_input_tokens)

    def _tag_many(self, sentences: list[list[str]]) -> list[list[str]]:
        if not sentences:
            return []
        rows = [TaggedSentence(tokens, ["O"] * len(tokens)) for tokens in sentences]
        chars = self.config["model"]["char_features"] is not None
        inputs = preprocessing.features(rows, self.vocabs, self.config["vocabulary"], chars)
        tags = predict_tags(self._tag, inputs, self.vocabs.tag_names, 64)
        return [preprocessing.corpus_tags(t, self.scheme) for t in tags]

    def tag(self, text: str | Sequence[str] | Sequence[Sequence[str]]):
        """Pairs (token, tag) of a sentence (a string, split on white space, or its tokens), or
        a list of such lists for a list of sentences; one pair for each of the sentence's first
        ``max_input_tokens`` tokens."""
        if isinstance(text, str):
            tokens, single = [self.cut_text(text).split()], True
        elif all(isinstance(t, str) for t in text):
            tokens, single = [list(text)], True
        else:
            tokens, single = [list(t) for t in text], False
        if not all(t for t in tokens):
            raise ValueError("nothing to tag: a sentence holds no tokens")
        if not all(w for t in tokens for w in t):
            raise ValueError("empty token: each token must hold at least one character")
        tokens = [self._cut(t) for t in tokens]
        tagged = [list(zip(t, tags)) for t, tags in zip(tokens, self._tag_many(tokens))]
        return tagged[0] if single else tagged

    def unknown_words(self, tokens: Sequence[str]) -> list[str]:
        """The tokens (of their first ``max_input_tokens``) whose word the model's vocabulary
        lacks (read as ``<unk>``; their characters still inform the tags)."""
        tokens = self._cut(list(tokens))
        keys = preprocessing.word_keys(tokens, self.config["vocabulary"])
        unknown = self.vocabs.words.ids(keys) == UNK_ID
        return [t for t, missing in zip(tokens, unknown) if missing]

    def entities(self, text: str | Sequence[str]) -> list[tuple[str, str, int, int]]:
        """(entity text, type, first token, end token) of each IOB2 entity of a sentence."""
        spans, start, kind = [], None, None
        pairs = self.tag(text) + [("", "O")]
        for k, (_, tag) in enumerate(pairs):
            if start is not None and not (tag.startswith("I-") and tag[2:] == kind):
                spans.append((" ".join(t for t, _ in pairs[start:k]), kind, start, k))
                start = None
            if tag.startswith("B-") or (tag.startswith("I-") and start is None):
                start, kind = k, tag[2:]
        return spans
