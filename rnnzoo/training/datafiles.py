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

A recipe's ``data.tfds`` reads a TensorFlow Datasets dataset instead (``files`` win over it when
both are given, as ``--data`` does)::

    data:
      tfds:
        name: imdb_reviews                 # any tfds.load name, e.g. ted_hrlr_translate/pt_to_en
        splits: {train: "train[:90%]", valid: "train[90%:]", test: test}
        features: {text: text, label: label}   # the task's field → the dataset's feature

``splits`` needs ``train``; without ``valid``, ``valid_fraction`` of the training examples is
held out as for files; without ``test``, there is no test split. ``features`` defaults each
field to the feature of the same name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from rnnzoo.training.config import ConfigError, Field, validate

T = TypeVar("T")
SPLITS = ("train", "valid", "test")
SCHEMA = {
    "train": Field(str, default=None, nullable=True,
                   doc="the training file (a relative path is taken from the recipe file's "
                       "folder)"),
    "valid": Field(str, default=None, nullable=True,
                   doc="the validation file; without it, `valid_fraction` of the training "
                       "examples are held out"),
    "test": Field(str, default=None, nullable=True,
                  doc="the test file; without it there is no test split (evaluating it is an "
                      "error)"),
    "valid_fraction": Field(float, default=0.1, low=0.0, high=0.5, high_open=True,
                            doc="share of the training examples held out for validation when "
                                "no `valid` file is given (seeded; of a text stream, its last "
                                "part)"),
}
FILES_FIELD = Field(dict, default=None, nullable=True,
                    doc="your own train / valid / test files, in the task's format, in place of "
                        "the corpus: see `data.files`")
"""The ``files`` key every recipe's data schema holds."""
TFDS_SCHEMA = {
    "name": Field(str, doc="the dataset, as `tfds.load` names it, e.g. `imdb_reviews` or "
                           "`ted_hrlr_translate/pt_to_en`"),
    "splits": Field(dict, check=(lambda s: "train" in s and set(s) <= set(SPLITS)
                                 and all(isinstance(v, str) for v in s.values()),
                                 "must map train (and optionally valid, test) to TFDS splits"),
                    doc="each split to a TFDS split string, e.g. `{train: 'train[:90%]', "
                        "valid: 'train[90%:]', test: test}`; without `test`, no test split"),
    "features": Field(dict, default={},
                      doc="the task's field (`text`; `tokens`, `tags`; `source`, `target`; "
                          "`text`, `label`) → the dataset's feature; by default the feature of "
                          "the same name"),
    "data_dir": Field(str, default=None, nullable=True,
                      doc="the folder TFDS reads and downloads datasets into (`tfds.load`'s "
                          "`data_dir`); null: TFDS's default"),
    "valid_fraction": Field(float, default=0.1, low=0.0, high=0.5, high_open=True,
                            doc="share of the training examples held out for validation when "
                                "`splits` names no `valid` (seeded; of a text stream, its last "
                                "part)"),
}
TFDS_FIELD = Field(dict, default=None, nullable=True,
                   doc="a TensorFlow Datasets dataset in place of the corpus (`files` win over it): "
                       "see `data.tfds`")
"""The ``tfds`` key every recipe's data schema holds."""
SPLIT_SEED_FIELD = Field(int, default=None, nullable=True, low=0,
                         doc="seeds the data's random split: train / valid / test (classifier "
                             "corpus) or the validation hold-out; null: the recipe's `seed`. "
                             "Recipes with one `split_seed` and other `seed`s train and "
                             "validate on the same split")
"""The ``split_seed`` key of the classifier and tagger data schemas."""


def split_seed(data: dict, seed: int) -> int:
    """The seed of the data's split: ``data.split_seed``, or the recipe's ``seed`` when null."""
    return seed if data["split_seed"] is None else data["split_seed"]


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


def _with_valid(splits: dict[str, T], sources: dict[str, str], fraction: float, seed: int,
                split_off: Callable[[T, float, int], tuple[T, T]]) -> dict[str, T]:
    """``splits`` checked to hold examples (an error names the split's ``sources`` entry), with
    ``valid`` split off the training examples when there is a train split and no valid one."""
    for name, examples in splits.items():
        if not len(examples):
            raise ValueError(f"{sources[name]} holds no examples")
    if "train" in splits and "valid" not in splits:
        splits["train"], splits["valid"] = split_off(splits["train"], fraction, seed)
    return splits


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
    return _with_valid(splits, {name: f"data.files.{name}: {path}" for name, path in paths.items()},
                       files["valid_fraction"], seed, split_off)


def tfds_splits(spec: dict, fields: tuple[str, ...], read: Callable[[list[dict]], T],
                seed: int,
                split_off: Callable[[T, float, int], tuple[T, T]] = hold_out) -> dict[str, T]:
    """The splits of a ``data.tfds`` section: each split's examples (dicts of the task's
    ``fields``) turned into the task's records by ``read``; ``valid`` split off the training
    examples when the section names no valid split."""
    from rnnzoo.data.tfds import read_tfds

    spec = validate(spec, TFDS_SCHEMA, "data.tfds")
    unknown = sorted(set(spec["features"]) - set(fields))
    if unknown:
        raise ConfigError(f"data.tfds.features: unknown field {unknown[0]!r}; the task's fields "
                          f"are {list(fields)}")
    mapping = {field: spec["features"].get(field, field) for field in fields}
    splits = {name: read(read_tfds(spec["name"], split, mapping, spec["data_dir"]))
              for name, split in spec["splits"].items()}
    sources = {name: f"data.tfds.splits.{name}: {spec['name']} {split!r}"
               for name, split in spec["splits"].items()}
    return _with_valid(splits, sources, spec["valid_fraction"], seed, split_off)


def for_files(data: dict, train: str | os.PathLike | None = None,
              valid: str | os.PathLike | None = None,
              test: str | os.PathLike | None = None,
              valid_fraction: float = 0.1) -> dict:
    """A recipe's data section pointed at files (absolute paths) instead of its corpus."""
    paths = {"train": train, "valid": valid, "test": test}
    files = {name: str(Path(p).expanduser().resolve()) if p else None for name, p in paths.items()}
    return {**data, "files": {**files, "valid_fraction": valid_fraction}}


def splits_present(data: dict) -> tuple[str, ...]:
    """The evaluation splits a data section provides: valid and test for a corpus; for files
    (or a TFDS dataset), valid (given or held out) and test only if a test file (split) is
    given."""
    files, tfds = data.get("files"), data.get("tfds")
    if files:
        return ("valid",) + (("test",) if files.get("test") else ())
    if tfds:
        return ("valid",) + (("test",) if "test" in tfds.get("splits", {}) else ())
    return ("valid", "test")
