"""A recipe's ``data.files``: the user's own train / valid / test files, in the task's format,
in place of the recipe's corpus. ``rnnzoo finetune --data`` and ``rnnzoo evaluate --data`` fill
it in; a recipe may also set it by hand::

    data:
      files: {train: my_train.txt, valid: my_valid.txt, valid_fraction: 0.1}

Without a ``valid`` file, ``valid_fraction`` of the training examples is held out (seeded; for a
text stream, its last part). A split without a file is absent: evaluating it is an error.

Formats: language models read plain UTF-8 text; taggers CoNLL-U (``.conllu``,
tags from the recipe's ``data.column``) or IOB2 (token and tag in the first two columns);
translators a TSV of source and target (a header naming the recipe's source and target
columns, or exactly two columns and no header); classifiers CSV (header ``text,label``) or
JSONL (``{"text": ..., "label": ...}`` a line).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from rnnzoo.training.config import Field, validate

T = TypeVar("T")
SPLITS = ("train", "valid", "test")
SCHEMA = {
    "train": Field(str, default=None, nullable=True),
    "valid": Field(str, default=None, nullable=True),
    "test": Field(str, default=None, nullable=True),
    "valid_fraction": Field(float, default=0.1, low=0.0, high=0.5, high_open=True),
}
FILES_FIELD = Field(dict, default=None, nullable=True)
"""The ``files`` key every recipe's data schema holds."""


def hold_out(examples: list, fraction: float, seed: int) -> tuple[list, list]:
    """(kept, held out): a seeded random ``fraction`` of ``examples`` held out, order kept."""
    count = max(1, round(len(examples) * fraction))
    held = set(np.random.default_rng(seed).permutation(len(examples))[:count].tolist())
    return ([s for i, s in enumerate(examples) if i not in held],
            [s for i, s in enumerate(examples) if i in held])


def hold_out_tail(text: str, fraction: float, seed: int) -> tuple[str, str]:
    """(head, tail): the last ``fraction`` of a text stream held out."""
    cut = int(len(text) * (1 - fraction))
    return text[:cut], text[cut:]


def file_splits(files: dict, read: Callable[[Path], T], seed: int,
                split_off: Callable[[T, float, int], tuple[T, T]] = hold_out) -> dict[str, T]:
    """The splits the files give, read with ``read``; ``valid`` split off the training examples
    when no valid file is given."""
    files = validate(files, SCHEMA, "data.files")
    paths = {name: Path(files[name]).expanduser() for name in SPLITS if files[name]}
    for name, path in paths.items():
        if not path.is_file():
            raise FileNotFoundError(f"data.files.{name}: {path}: no such file")
    splits = {name: read(path) for name, path in paths.items()}
    for name, examples in splits.items():
        if not len(examples):
            raise ValueError(f"data.files.{name}: {paths[name]} holds no examples")
    if "train" in splits and "valid" not in splits:
        splits["train"], splits["valid"] = split_off(splits["train"], files["valid_fraction"],
                                                     seed)
    return splits


def for_files(data: dict, train: str | os.PathLike | None = None,
              valid: str | os.PathLike | None = None,
              test: str | os.PathLike | None = None,
              valid_fraction: float = 0.1) -> dict:
    """A recipe's data section pointed at files (absolute paths) instead of its corpus."""
    paths = {"train": train, "valid": valid, "test": test}
    files = {name: str(Path(p).expanduser().resolve()) if p else None for name, p in paths.items()}
    return {**data, "files": {**files, "valid_fraction": valid_fraction}}


def splits_present(data: dict) -> tuple[str, ...]:
    """The evaluation splits a data section provides: valid and test for a corpus; for files,
    valid (a file or held out) and test only if a test file is given."""
    files = data.get("files")
    if not files:
        return ("valid", "test")
    return ("valid",) + (("test",) if files.get("test") else ())
