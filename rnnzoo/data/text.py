"""Plain text for language models: one token stream in BPTT windows (:func:`lm_windows`:
``(x, y)``, both int64 ``[batch_size, bptt]``; ``y`` is ``x`` shifted one step along the stream,
and row ``b`` of window ``k + 1`` continues row ``b`` of window ``k``), and UD-style tokens of raw
English (:func:`ud_tokens`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import check_level, token_lists

logger = logging.getLogger(__name__)


_UD_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Inc", "Ltd", "Co", "Corp",
                     "vs", "etc", "Prof", "Gen", "Rep", "Sen", "Gov", "Jan", "Feb", "Aug",
                     "Sept", "Oct", "Nov", "Dec", "No")
_UD_TOKEN = re.compile(
    "|".join([
        rf"(?:{'|'.join(_UD_ABBREVIATIONS)})\.(?=\s|$)",   # Mr. Inc. etc.
        r"(?:[^\W\d_]\.){2,}",                         # U.S. e.g.
        r"(?i:n't|'(?:s|re|ve|ll|m|d))(?!\w)",          # clitics: do|n't, John|'s
        r"\w+(?:[-.,:/@]\w+)*?(?=(?i:n't)(?!\w))",      # the word before n't
        r"\w+(?:[-.,:/@]\w+)*",                         # words, numbers, e-mail, URLs' parts
        r"\.{2,}|[^\w\s]",                               # an ellipsis, one punctuation mark
    ]))


def ud_tokens(text: str) -> list[str]:
    """``text`` split as Universal Dependencies' English treebanks are tokenised: punctuation
    off words ("Frankfurt." → Frankfurt .), clitics off their host ("don't" → do n't,
    "John's" → John 's), while abbreviations (Mr., U.S.), numbers (3.5, 1,000), hyphenated
    words and e-mail addresses stay whole. An approximation of EWT's tokenisation."""
    return _UD_TOKEN.findall(text)


def stream_tokens(text: str, level: str, line_end: str | None = None) -> list[str]:
    """All of ``text`` as one token stream: characters (newlines included) or words.

    With ``line_end`` (e.g. ``"<eos>"``, Mikolov's Penn Treebank convention) a word stream gets
    that token after each non-blank line.
    """
    if check_level(level) == "char":
        if line_end is not None:
            raise ValueError("line_end applies to word streams; a char stream keeps its newlines")
        return token_lists([text], "char")[0]
    if line_end is None:
        return token_lists([text], "word")[0]
    tokens: list[str] = []
    for words in token_lists(text.split("\n"), "word"):
        if words:
            tokens += words + [line_end]
    return tokens


def lm_windows(ids: Sequence[int] | np.ndarray, batch_size: int, bptt: int) -> tf.data.Dataset:
    """The stream ``ids`` cut into ``batch_size`` contiguous lanes, then windows of ``bptt`` steps.

    Lane ``b`` holds ``ids[b * L : (b + 1) * L]`` with ``L = (len(ids) - 1) // batch_size``;
    window ``k`` is ``x = lanes[:, k*bptt : (k+1)*bptt]`` and ``y`` the next id of each, so a
    model may carry its recurrent state from one window to the next. Ids that fill no whole
    window are left out and their number logged.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1:
        raise ValueError(f"ids must be one stream (1-D), got shape {ids.shape}")
    if batch_size < 1 or bptt < 1:
        raise ValueError(f"batch_size and bptt must be >= 1, got {batch_size} and {bptt}")
    lane = (len(ids) - 1) // batch_size
    windows = lane // bptt
    if windows == 0:
        raise ValueError(
            f"a stream of {len(ids)} ids is too short for batch_size={batch_size}, bptt={bptt}"
        )
    used = batch_size * windows * bptt
    logger.info(
        "lm_windows: %d windows of [%d, %d]; %d of %d input ids fill no whole window",
        windows, batch_size, bptt, len(ids) - 1 - used, len(ids) - 1,
    )
    stream = tf.constant(ids[: batch_size * lane + 1])
    index = (np.arange(batch_size)[:, None] * lane + np.arange(bptt)[None, :]).astype(np.int64)

    def window(k: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        at = index + k * bptt
        return tf.gather(stream, at), tf.gather(stream, at + 1)

    return tf.data.Dataset.range(windows).map(window)


