"""A translator's text ↔ tokens: the tokeniser of sources and targets, the detokeniser of
translations, and the run's vocabulary files."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rnnzoo.data.vocab import BOS, EOS, PAD, UNK, Vocabulary

SOURCE_VOCAB, TARGET_VOCAB = "source_vocab.txt", "target_vocab.txt"

_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = re.compile(r" ([.,;:?!)\]])")
_NO_SPACE_AFTER = re.compile(r"([¿¡(\[]) ")


def tokenize(text: str) -> list[str]:
    """Words (inner hyphens and apostrophes kept) and single punctuation marks."""
    return _TOKEN.findall(text)


def detokenize(tokens: Sequence[str]) -> str:
    """Tokens joined by spaces, none before closing and after opening punctuation."""
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", " ".join(tokens)))


def to_text(ids: Sequence[int], vocab: Vocabulary) -> str:
    """Detokenised text of target ids, specials and ``<unk>`` left out."""
    skip = {PAD, UNK, BOS, EOS}
    return detokenize([vocab.tokens[i] for i in ids if vocab.tokens[i] not in skip])
