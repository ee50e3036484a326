"""Tagged sentences from CoNLL-U and from IOB2 (CoNLL-2003 style) files; IOB2 → BIOES."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from typing import NamedTuple

from rnnzoo.data.files import DataFormatError, PathLike, iter_lines

logger = logging.getLogger(__name__)

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
UPOS_TAGS = frozenset(
    "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
)
_REQUIRED = frozenset({"form", "upos", "xpos", "head", "deprel"})
_WORD_ID = re.compile(r"[1-9][0-9]*")
_RANGE_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
_EMPTY_ID = re.compile(r"[0-9]+\.[1-9][0-9]*")
_IOB2_TAG = re.compile(r"(?:O|[BI]-(\S+))")


MAX_SENTENCE_TOKENS = 1000
"""Tokens a sentence of a tagged file may hold: a longer one is refused (each token costs the
evaluation and training pipelines memory; the task objects read as many of an input)."""


def _check_length(sentence: TaggedSentence, path: PathLike, number: int) -> None:
    if len(sentence.tokens) > MAX_SENTENCE_TOKENS:
        raise DataFormatError(path, number, f"a sentence of more than {MAX_SENTENCE_TOKENS} "
                              "tokens; split it with blank lines")


class TaggedSentence(NamedTuple):
    """One sentence: its tokens and one tag per token."""

    tokens: list[str]
    tags: list[str]


def read_conllu(
    path: PathLike, column: str = "upos", tagset: Collection[str] | None = None
) -> list[TaggedSentence]:
    """Sentences of a CoNLL-U file, tagged with ``column`` (a name of :data:`CONLLU_COLUMNS`).

    Comment lines, multiword-token ranges (``1-2``) and empty nodes (``1.1``) are skipped, the
    latter two counted in the log. Tags are checked against ``tagset`` (for ``"upos"``, by
    default, the 17 UD tags). A missing tag (``_`` where one is required), a line without 10
    columns, a bad ID or an unknown tag raises :class:`DataFormatError`.
    """
    if column not in CONLLU_COLUMNS:
        raise ValueError(f"column must be one of {list(CONLLU_COLUMNS)}, got {column!r}")
    if tagset is None and column == "upos":
        tagset = UPOS_TAGS
    index = CONLLU_COLUMNS.index(column)
    sentences: list[TaggedSentence] = []
    current = TaggedSentence([], [])
    ranges = empty_nodes = 0
    for number, line in iter_lines(path):
        if not line.strip():
            if current.tokens:
                sentences.append(current)
                current = TaggedSentence([], [])
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != len(CONLLU_COLUMNS):
            raise DataFormatError(path, number, f"expected 10 tab-separated columns, got {len(fields)}")
        word_id = fields[0]
        if _RANGE_ID.fullmatch(word_id):
            ranges += 1
            continue
        if _EMPTY_ID.fullmatch(word_id):
            empty_nodes += 1
            continue
        if not _WORD_ID.fullmatch(word_id):
            raise DataFormatError(path, number, f"bad ID {word_id!r}")
        form, tag = fields[1], fields[index]
        if not tag or (tag == "_" and column in _REQUIRED):
            raise DataFormatError(path, number, f"missing {column} for token {form!r}")
        if tagset is not None and tag not in tagset:
            raise DataFormatError(path, number, f"unknown {column} tag {tag!r}")
        current.tokens.append(form)
        current.tags.append(tag)
        _check_length(current, path, number)
    if current.tokens:
        sentences.append(current)
    logger.info(
        "%s: %d sentences; skipped %d multiword-token lines and %d empty nodes",
        path, len(sentences), ranges, empty_nodes,
    )
    return sentences


def conllu_texts(path: PathLike, sent_id_prefix: str = "") -> list[str]:
    """The sentence texts (``# text =`` comments) of a CoNLL-U file whose ``# sent_id`` starts
    with ``sent_id_prefix``, in file order; a :class:`DataFormatError` at a text comment before
    any ``sent_id`` when a prefix is asked for, a ValueError when no sentence matches."""
    texts: list[str] = []
    sent_id = None
    for number, line in iter_lines(path):
        if line.startswith("# sent_id ="):
            sent_id = line.split("=", 1)[1].strip()
        elif line.startswith("# text ="):
            if sent_id is None and sent_id_prefix:
                raise DataFormatError(path, number, "a text comment before any sent_id")
            if (sent_id or "").startswith(sent_id_prefix):
                texts.append(line.split("=", 1)[1].strip())
        elif not line.strip():
            sent_id = None
    if not texts:
        raise ValueError(f"{path}: no sentence text whose sent_id starts with "
                         f"{sent_id_prefix!r}")
    return texts


def read_iob2(
    path: PathLike,
    token_column: int = 0,
    tag_column: int = 1,
    comment_prefix: str | None = "#",
    entity_types: Collection[str] | None = None,
) -> list[TaggedSentence]:
    """Sentences of a token-per-line IOB2 file (blank lines between sentences).

    Columns are split on tabs when a line has any, else on white space; other columns are ignored.
    CoNLL-2003: ``token_column=0, tag_column=3``; UNER: ``token_column=1, tag_column=2``. Lines
    starting with ``comment_prefix`` are comments (``None`` when ``#`` may be a token in the first
    column). ``-DOCSTART-`` lines end a sentence and are counted in the log. A line with too few
    columns, a tag that is not ``O``/``B-X``/``I-X``, an ``I-X`` that continues no ``X`` entity,
    or an entity type outside ``entity_types`` raises :class:`DataFormatError`.
    """
    if token_column < 0 or tag_column < 0 or token_column == tag_column:
        raise ValueError(
            f"token_column and tag_column must be distinct and >= 0, got {token_column}, {tag_column}"
        )
    needed = max(token_column, tag_column) + 1
    sentences: list[TaggedSentence] = []
    current = TaggedSentence([], [])
    docstarts = 0
    for number, line in iter_lines(path):
        if comment_prefix and line.startswith(comment_prefix):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        docstart = len(fields) > token_column and fields[token_column] == "-DOCSTART-"
        docstarts += docstart
        if docstart or not line.strip():
            if current.tokens:
                sentences.append(current)
                current = TaggedSentence([], [])
            continue
        if len(fields) < needed:
            raise DataFormatError(
                path, number,
                f"expected at least {needed} columns (token in {token_column}, "
                f"tag in {tag_column}), got {len(fields)}",
            )
        token, tag = fields[token_column], fields[tag_column]
        check_iob2_tag(tag, current.tags[-1] if current.tags else "O", entity_types, path, number)
        current.tokens.append(token)
        current.tags.append(tag)
        _check_length(current, path, number)
    if current.tokens:
        sentences.append(current)
    logger.info("%s: %d sentences; %d -DOCSTART- lines", path, len(sentences), docstarts)
    return sentences


def check_iob2_tag(
    tag: str, previous: str, entity_types: Collection[str] | None, path: PathLike, number: int
) -> None:
    """A :class:`DataFormatError` at ``path:number`` unless ``tag`` is O, B-X or I-X (X in
    ``entity_types`` when given) and an I-X continues the ``previous`` tag's X entity."""
    match = _IOB2_TAG.fullmatch(tag)
    if match is None:
        raise DataFormatError(path, number, f"unknown tag {tag!r}: IOB2 tags are O, B-TYPE or I-TYPE")
    kind = match.group(1)
    if kind is not None and entity_types is not None and kind not in entity_types:
        raise DataFormatError(
            path, number, f"unknown entity type {kind!r} in {tag!r} (known: {sorted(entity_types)})"
        )
    if tag.startswith("I-") and previous[2:] != kind:
        raise DataFormatError(
            path, number, f"{tag!r} after {previous!r} continues no {kind} entity (is the file IOB1?)"
        )


def iob2_to_bioes(tags: Sequence[str]) -> list[str]:
    """IOB2 tags → BIOES: a one-token entity is ``S-X``, the last token of a longer one ``E-X``."""
    result = []
    for i, tag in enumerate(tags):
        previous = tags[i - 1] if i else "O"
        match = _IOB2_TAG.fullmatch(tag)
        if match is None or (tag.startswith("I-") and previous[2:] != match.group(1)):
            raise ValueError(f"tag {i} ({tag!r} after {previous!r}) is not valid IOB2")
        following = tags[i + 1] if i + 1 < len(tags) else "O"
        ends = following != "I-" + tag[2:]
        if tag == "O":
            result.append(tag)
        elif tag.startswith("B-"):
            result.append(("S-" if ends else "B-") + tag[2:])
        else:
            result.append(("E-" if ends else "I-") + tag[2:])
    return result


