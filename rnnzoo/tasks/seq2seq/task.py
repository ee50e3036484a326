"""What ``rnnzoo.load`` returns for a translator: beam-search translations of raw texts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras

from rnnzoo.data.vocab import UNK_ID, Vocabulary, string_tensor
from rnnzoo.tasks.base import TaskModel, as_texts
from rnnzoo.tasks.seq2seq import preprocessing
from rnnzoo.tasks.seq2seq.model import validate_config

SAMPLE_VERSES = ("I can do all things through Christ which strengtheneth me.",
                 "Rejoice in the Lord alway: and again I say, Rejoice.")


class Translator(TaskModel):
    """A translator as ``rnnzoo.load`` returns it: ``translate(texts, beam_size=…,
    length_penalty=…)`` → translations, each source read up to its first ``max_input_tokens``
    tokens.

    Args:
        folder: the model's folder (``model.keras``, ``source_vocab.txt``,
            ``target_vocab.txt``, ``config.yaml``).
        config: its recipe (``config.yaml``).

    Example:

    ```python
    nmt = rnnzoo.load("lstm-seq2seq-en-es")
    nmt.translate("In the beginning God created the heaven and the earth.", beam_size=5)
    ```
    """

    task = "seq2seq"

    def __init__(self, folder: Path, config: dict):
        super().__init__(folder, config)
        self.source = Vocabulary.load(self.folder / preprocessing.SOURCE_VOCAB, "word")
        self.target = Vocabulary.load(self.folder / preprocessing.TARGET_VOCAB, "word")

    def build_text_model(self) -> keras.Model:
        """Raw (source, target) texts → scores, with ``translate``
        (:class:`preprocessing.TextTranslator`)."""
        return preprocessing.text_model(self.keras_model, self.source.tokens, self.target.tokens,
                                        validate_config(self.config["model"]),
                                        self.max_input_tokens)

    def samples(self) -> list[str]:
        """Two verses of the test books (outside training), translated."""
        translations = self.translate(list(SAMPLE_VERSES))
        return ["Two verses of the test books (Philippians 4:13, 4:4):", "", "```",
                *(f"{v}\n→ {t}" for v, t in zip(SAMPLE_VERSES, translations)), "```"]

    def _read(self, texts: list[str]) -> tuple[list[str], list[list[str]]]:
        """``texts`` cut as the preprocessor cuts them, and their tokens (all of them), with a
        warning for each text that is cut (in characters or in tokens)."""
        texts = [self.cut_text(t) for t in texts]
        tokens = self.text_model.preprocessor.tokens(string_tensor(texts)).to_list()
        for row in tokens:
            self.warn_cut(len(row))
        return texts, [[token.decode() for token in row] for row in tokens]

    def unknown_words(self, text: str) -> tuple[list[str], int]:
        """The source words of ``text`` (its first ``max_input_tokens``) that the source
        vocabulary lacks, and how many words were read."""
        words = self._read([text])[1][0][: self.max_input_tokens]
        unknown = self.source.ids(words) == UNK_ID
        return [w for w, missing in zip(words, unknown) if missing], len(words)

    def translate(self, texts: str | Sequence[str], beam_size: int | None = None,
                  length_penalty: float | None = None) -> str | list[str]:
        """Beam-search translation of each text (the recipe's beam and penalty by default;
        :meth:`TextTranslator.translate <preprocessing.TextTranslator.translate>`)."""
        texts, single = as_texts(texts)
        out = self.text_model.translate(self._read(texts)[0], beam_size=beam_size,
                                        length_penalty=length_penalty)
        return out[0] if single else out
