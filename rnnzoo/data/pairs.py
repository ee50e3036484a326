"""Translation pairs from a TSV file with named columns, with length and length-ratio filters.

Element format of :func:`pairs_dataset`: ``{"source": string [], "target": string []}``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import tensorflow as tf

from rnnzoo.data.files import DataFormatError, PathLike, iter_lines
from rnnzoo.data.vocab import split_words

logger = logging.getLogger(__name__)


class Pair(NamedTuple):
    """A source text and its translation."""

    source: str
    target: str


def read_tsv_pairs(
    path: PathLike,
    source_column: str,
    target_column: str,
    *,
    columns: Sequence[str] | None = None,
    max_words: int | None = None,
    ratio: tuple[float, float] | None = (0.5, 2.0),
) -> list[Pair]:
    """``(source, target)`` pairs from a tab-separated file.

    Column names come from the first line (the header) or, for a file without one, from
    ``columns``. Pairs are dropped, and counted in the log, when a side is empty, when a side has
    more than ``max_words`` words, or when ``source words / target words`` lies outside ``ratio``
    (``None``: no such filter). A line with the wrong number of columns raises
    :class:`DataFormatError`.
    """
    if max_words is not None and max_words < 1:
        raise ValueError(f"max_words must be >= 1, got {max_words}")
    if ratio is not None and not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f"ratio must be (low, high) with 0 < low <= high, got {ratio}")
    lines = iter_lines(path)
    header_line = 0
    if columns is None:
        header_line, header = next(lines, (1, ""))
        columns = header.split("\t")
    columns = list(columns)
    for name in (source_column, target_column):
        if name not in columns:
            raise DataFormatError(path, max(header_line, 1), f"no column {name!r} (columns: {columns})")
    source_index, target_index = columns.index(source_column), columns.index(target_column)
    pairs: list[Pair] = []
    dropped = {"empty": 0, "long": 0, "ratio": 0}
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) != len(columns):
            message = f"expected {len(columns)} tab-separated columns, got {len(fields)}"
            raise DataFormatError(path, number, message)
        pair = Pair(fields[source_index].strip(), fields[target_index].strip())
        reason = _drop_reason(pair, max_words, ratio)
        if reason:
            dropped[reason] += 1
        else:
            pairs.append(pair)
    logger.info(
        "%s: kept %d of %d pairs; dropped %d with an empty side, %d over max_words=%s, "
        "%d with a word-count ratio outside %s",
        path, len(pairs), len(pairs) + sum(dropped.values()), dropped["empty"], dropped["long"],
        max_words, dropped["ratio"], list(ratio) if ratio else None,
    )
    return pairs


def _drop_reason(pair: Pair, max_words: int | None, ratio: tuple[float, float] | None) -> str:
    source, target = len(split_words(pair.source)), len(split_words(pair.target))
    if not source or not target:
        return "empty"
    if max_words is not None and max(source, target) > max_words:
        return "long"
    if ratio is not None and not ratio[0] <= source / target <= ratio[1]:
        return "ratio"
    return ""


def pairs_dataset(pairs: Sequence[Pair]) -> tf.data.Dataset:
    """``{"source": string [], "target": string []}``, one element per pair."""
    return tf.data.Dataset.from_tensor_slices(
        {
            "source": tf.constant([p.source for p in pairs], dtype=tf.string),
            "target": tf.constant([p.target for p in pairs], dtype=tf.string),
        }
    )
