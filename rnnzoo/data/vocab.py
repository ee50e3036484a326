"""Vocabularies as Keras ``StringLookup`` layers; text → ids with TensorFlow ops only.

Ids: ``<pad>`` is 0 (so masks are ``ids != 0``), ``<unk>`` is 1, then the specials (``<bos>``,
``<eos>`` by default), then the tokens by decreasing count (ties in code-point order).
:meth:`Vocabulary.encode` runs in a ``tf.function`` and so can be exported in a SavedModel.
"""

from __future__ import annotations

import collections
import logging
import re
from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.files import DataFormatError, PathLike, iter_lines

logger = logging.getLogger(__name__)

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
PAD_ID, UNK_ID = 0, 1
LEVELS = ("char", "word")

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def check_level(level: str) -> str:
    """``level`` if it is ``"char"`` or ``"word"``, else a ``ValueError``."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {list(LEVELS)}, got {level!r}")
    return level


NUMBER = r"[+-]?[0-9][0-9.,:/-]*"
"""A number token (Python's ``re`` and RE2 read it alike), which a Penn Treebank vocabulary
writes ``N``."""


def tokenize(texts, level: str) -> tf.Tensor | tf.RaggedTensor:
    """Characters (invalid UTF-8 becomes U+FFFD) or words (split on ASCII white space) of each
    string: a scalar gives a 1-D tensor, a batch of strings a ragged ``[batch, None]`` tensor."""
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    if check_level(level) == "char":
        return tf.strings.unicode_split(texts, "UTF-8", errors="replace")
    return tf.strings.split(texts)


def string_tensor(texts: Sequence[str]) -> tf.Tensor:
    """``texts`` as a (N,) string tensor of UTF-8; a lone surrogate (an undecodable byte read
    with ``surrogateescape``) becomes U+FFFD, which, like it, is no word character."""
    return tf.constant([t.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                        for t in texts], tf.string, shape=[len(texts)])


def token_lists(texts: Sequence[str], level: str) -> list[list[str]]:
    """:func:`tokenize` of each text, as Python strings."""
    if not texts:
        return []
    rows = tokenize(string_tensor(list(texts)), level).to_list()
    return [[token.decode("utf-8") for token in row] for row in rows]


def _escape(token: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in token)


def _unescape(text: str, path: PathLike, line: int) -> str:
    def replace(match: re.Match) -> str:
        if match.group(1) not in _UNESCAPES:
            raise DataFormatError(path, line, f"unknown escape {match.group(0)!r} (known: \\\\ \\n \\r \\t)")
        return _UNESCAPES[match.group(1)]

    return re.sub(r"\\(.?)", replace, text, flags=re.DOTALL)


class Vocabulary:
    """A token list and its ``StringLookup`` layers (``layer``: tokens → ids, ``inverse_layer``)."""

    def __init__(self, tokens: Sequence[str], level: str = "word"):
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {tokens[:2]}")
        if "" in tokens:
            raise ValueError("a vocabulary cannot hold the empty string")
        seen = collections.Counter(tokens)
        repeated = sorted(t for t, n in seen.items() if n > 1)
        if repeated:
            raise ValueError(f"tokens listed more than once: {repeated[:10]}")
        self.tokens = tokens
        self.level = check_level(level)
        self._index = {t: i for i, t in enumerate(tokens)}
        self._index[PAD] = UNK_ID
        options = dict(vocabulary=tokens[2:], mask_token=PAD, oov_token=UNK, num_oov_indices=1)
        self.layer = keras.layers.StringLookup(**options)
        self.inverse_layer = keras.layers.StringLookup(invert=True, **options)

    @classmethod
    def build(
        cls,
        tokens: Iterable[str],
        level: str = "word",
        *,
        min_count: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = (BOS, EOS),
    ) -> Vocabulary:
        """Counts ``tokens``; keeps those seen ``min_count`` times, at most ``max_size`` ids in all.

        Reserved tokens found in ``tokens`` keep their reserved ids. The number of token types left
        out by ``min_count`` and ``max_size`` is logged.
        """
        reserved = [PAD, UNK, *specials]
        if len(set(reserved)) != len(reserved) or "" in reserved:
            raise ValueError(
                f"specials must be distinct, non-empty and not {PAD!r} or {UNK!r}: {list(specials)}"
            )
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        if max_size is not None and max_size < len(reserved):
            raise ValueError(f"max_size must be >= {len(reserved)} (the reserved tokens), got {max_size}")
        counts = collections.Counter(tokens)
        for token in reserved:
            counts.pop(token, None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        kept = [token for token, count in ranked if count >= min_count]
        rare = len(ranked) - len(kept)
        room = len(kept) if max_size is None else max_size - len(reserved)
        logger.info(
            "vocabulary: %d of %d token types kept; %d seen fewer than min_count=%d times, "
            "%d beyond max_size=%s",
            min(room, len(kept)), len(ranked), rare, min_count, max(len(kept) - room, 0), max_size,
        )
        return cls(reserved + kept[:room], level)

    @classmethod
    def load(cls, path: PathLike, level: str = "word") -> Vocabulary:
        """Reads a file written by :meth:`save`: one token a line, ``\\\\ \\n \\r \\t`` escaped."""
        tokens: list[str] = []
        lines: dict[str, int] = {}
        for number, line in iter_lines(path):
            token = _unescape(line, path, number)
            if not token:
                raise DataFormatError(path, number, "empty token")
            if token in lines:
                raise DataFormatError(path, number, f"token {token!r} repeats line {lines[token]}")
            if number <= 2 and token != (PAD, UNK)[number - 1]:
                raise DataFormatError(path, number, f"expected {(PAD, UNK)[number - 1]!r}, got {token!r}")
            lines[token] = number
            tokens.append(token)
        if len(tokens) < 2:
            raise DataFormatError(path, len(tokens) + 1, f"a vocabulary starts with {PAD!r}, {UNK!r}")
        return cls(tokens, level)

    def save(self, path: PathLike) -> None:
        """Writes one token a line (UTF-8), in id order."""
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(_escape(token) + "\n" for token in self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def _special_id(self, token: str) -> int:
        if token not in self._index:
            raise ValueError(f"this vocabulary has no {token!r}")
        return self._index[token]

    @property
    def bos_id(self) -> int:
        return self._special_id(BOS)

    @property
    def eos_id(self) -> int:
        return self._special_id(EOS)

    def ids(self, tokens: Iterable[str]) -> np.ndarray:
        """Python-side lookup (int64), equal to :meth:`lookup`: unknown tokens and ``<pad>`` give 1."""
        return np.fromiter((self._index.get(t, UNK_ID) for t in tokens), dtype=np.int64)

    def tokenize(self, texts: tf.Tensor) -> tf.Tensor | tf.RaggedTensor:
        """:func:`tokenize` at this vocabulary's level."""
        return tokenize(texts, self.level)

    def lookup(self, tokens: tf.Tensor | tf.RaggedTensor) -> tf.Tensor | tf.RaggedTensor:
        """Token strings → int64 ids of the same shape; a literal ``<pad>`` maps to ``<unk>``."""
        if isinstance(tokens, tf.RaggedTensor):
            return tokens.with_flat_values(self.lookup(tokens.flat_values))
        ids = self.layer(tokens)
        return tf.where(tf.equal(ids, PAD_ID), tf.constant(UNK_ID, ids.dtype), ids)

    def encode(
        self,
        texts: tf.Tensor,
        add_bos: bool = False,
        add_eos: bool = False,
        max_length: int | None = None,
    ) -> tf.Tensor:
        """A batch of strings → ``[batch, length]`` int64 ids padded with 0 (``tf`` ops only).

        ``length`` is the longest row, or ``max_length`` (longer rows are cut at the end).
        """
        ids = self.lookup(self.tokenize(tf.reshape(texts, [-1])))
        rows = ids.nrows()
        if add_bos:
            ids = tf.concat([tf.fill([rows, 1], tf.constant(self.bos_id, tf.int64)), ids], axis=1)
        if add_eos:
            ids = tf.concat([ids, tf.fill([rows, 1], tf.constant(self.eos_id, tf.int64))], axis=1)
        return ids.to_tensor(default_value=PAD_ID, shape=[None, max_length])

    def decode(self, ids: tf.Tensor) -> tf.Tensor:
        """``[batch, length]`` ids → strings; pad, ``<bos>`` and ``<eos>`` are left out."""
        ids = tf.convert_to_tensor(ids, dtype=tf.int64)
        drop = [PAD_ID] + [self._index[t] for t in (BOS, EOS) if t in self._index]
        keep = tf.reduce_all(tf.not_equal(ids[..., None], tf.constant(drop, tf.int64)), axis=-1)
        kept = tf.ragged.boolean_mask(ids, keep)
        tokens = kept.with_flat_values(self.inverse_layer(kept.flat_values))
        return tf.strings.reduce_join(tokens, axis=-1, separator="" if self.level == "char" else " ")
