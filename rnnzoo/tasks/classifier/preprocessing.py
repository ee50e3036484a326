"""A classifier's text → tokens and its run's label file; the data settings the model was
trained with (``lowercase``, ``max_tokens``) are part of its recipe's ``data`` section."""

from __future__ import annotations

import re
from pathlib import Path

from rnnzoo.data.files import iter_lines
from rnnzoo.training.config import Field
from rnnzoo.training.datafiles import FILES_FIELD, TFDS_FIELD

LABELS = "labels.txt"
_TOKEN = re.compile(r"\w+|[^\w\s]")

DATA_SCHEMA = {
    "folder": Field(str, default="spam_assassin/package/data"),
    "files": FILES_FIELD,
    "tfds": TFDS_FIELD,
    "test_fraction": Field(float, default=0.1, low=0.0, high=0.5, high_open=True),
    "valid_fraction": Field(float, default=0.1, low=0.0, high=0.5, high_open=True),
    "max_tokens": Field(int, default=256, low=1),
    "lowercase": Field(bool, default=True),
    "subject": Field(bool, default=False),
    "short_views": Field(int, default=0, low=0),
}
"""``short_views``: short texts added to the training split for each training e-mail, with its
label (validation and test keep whole e-mails): its first 3 to 20 tokens (the subject line and
opening), then crops of 3 to 20 tokens at random places, seeded; so that a short message is
judged on its words, not on being short."""


def tokenize(text: str, lowercase: bool) -> list[str]:
    """Words and single punctuation marks."""
    return _TOKEN.findall(text.lower() if lowercase else text)


def read_labels(path: Path) -> list[str]:
    """The labels of a run's ``labels.txt``, in class-id order."""
    return [line for _, line in iter_lines(path)]
