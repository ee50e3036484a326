"""Examples of a TensorFlow Datasets dataset as plain Python values, fields named by the task.

A recipe's ``data.tfds`` section (see :mod:`rnnzoo.training.datafiles`) names the dataset, a TFDS
split for each of train / valid / test, and which feature holds each of the task's fields
(``text``; ``tokens`` and ``tags``; ``source`` and ``target``; ``text`` and ``label``).
:func:`read_tfds` reads one split: strings decoded from UTF-8, class labels (and sequences of
them) given by their names, so that the task's recipe reads them as it reads its own files.
``tfds.load`` downloads on first use (it needs the internet; offline, tests run it under
``tfds.testing.mock_data``); ``tensorflow_datasets`` is imported on first call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TfdsFeatureError(ValueError):
    """A field mapped to a feature the dataset does not have."""


def _decoder(feature) -> Any:
    """How one example's value of ``feature`` becomes a Python value."""
    import tensorflow_datasets as tfds

    def text(value):
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    if isinstance(feature, tfds.features.ClassLabel):
        names = feature.names
        return lambda value: names[int(value)]
    if isinstance(feature, tfds.features.Sequence):
        inner = _decoder(feature.feature)
        return lambda values: [inner(v) for v in values]
    return lambda value: text(value) if isinstance(value, (bytes, str)) else value.item()


def read_tfds(name: str, split: str, fields: Mapping[str, str],
              data_dir: str | None = None) -> list[dict[str, Any]]:
    """The examples of ``name``'s ``split`` (any TFDS split string, e.g. ``train[:90%]``), each
    a dict of the task's fields: ``fields`` maps a field to the dataset feature that holds it."""
    import tensorflow_datasets as tfds

    dataset, info = tfds.load(name, split=split, data_dir=data_dir, with_info=True,
                              shuffle_files=False)
    missing = {field: feature for field, feature in fields.items()
               if feature not in info.features}
    if missing:
        raise TfdsFeatureError(f"data.tfds.features: {name} has no feature "
                               f"{', '.join(repr(f) for f in missing.values())} (its features: "
                               f"{sorted(info.features)})")
    decode = {field: _decoder(info.features[feature]) for field, feature in fields.items()}
    return [{field: decode[field](example[feature]) for field, feature in fields.items()}
            for example in tfds.as_numpy(dataset)]
