"""What ``rnnzoo.load`` returns for a translator: beam-search translations of raw texts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rnnzoo.data.vocab import EOS, UNK_ID, Vocabulary
from rnnzoo.tasks.base import TaskModel, as_texts
from rnnzoo.tasks.seq2seq import decoding, preprocessing
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

    def samples(self) -> list[str]:
        """Two verses of the test books (outside training), translated."""
        translations = self.translate(list(SAMPLE_VERSES))
        return ["Two verses of the test books (Philippians 4:13, 4:4):", "", "```",
                *(f"{v}\n→ {t}" for v, t in zip(SAMPLE_VERSES, translations)), "```"]

    def unknown_words(self, text: str) -> tuple[list[str], int]:
        """The source words of ``text`` (its first ``max_input_tokens``) that the source
        vocabulary lacks, and how many words were read."""
        words = self._cut(preprocessing.tokenize(self.cut_text(text)))
        unknown = self.source.ids(words) == UNK_ID
        return [w for w, missing in zip(words, unknown) if missing], len(words)

    def translate(self, texts: str | Sequence[str], beam_size: int | None = None,
                  length_penalty: float | None = None) -> str | list[str]:
        """Beam-search translation of each text (the recipe's beam and penalty by default),
        decoded in batches of similar lengths; a batch's decode-length cap is 2 × its longest
        source + 10 (at most the recipe's ``max_decode_length``)."""
        texts, single = as_texts(texts)
        cfg = validate_config(self.config["model"])
        if beam_size is not None:
            if beam_size < 1:
                raise ValueError(f"beam_size must be >= 1, got {beam_size}")
            cfg["beam_size"] = beam_size
        if length_penalty is not None:
            cfg["length_penalty"] = length_penalty
        sources = [self.source.ids(self._cut(preprocessing.tokenize(self.cut_text(t))) or [EOS])
                   .astype("int32") for t in texts]
        ids = decoding.translate(self.keras_model, sources, cfg, batch_size=32)
        out = [preprocessing.to_text(i, self.target) for i in ids]
        return out[0] if single else out
