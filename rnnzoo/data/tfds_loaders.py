"""Corpora from TensorFlow Datasets, mapped to this package's element formats.

These download on first use (they need the internet); offline they are tested under
``tfds.testing.mock_data()``, whose default policy works for all four with the metadata that
``tensorflow_datasets`` ships. ``tensorflow_datasets`` is imported on first call, so that importing
:mod:`rnnzoo.data` stays light.

Element formats:
- :func:`load_imdb_reviews`: ``{"text": string [], "label": int64 []}`` (labels neg, pos)
- :func:`load_conll2003`: ``{"tokens": string [None], "tags": string [None]}`` (IOB2 tag names)
- :func:`load_ted_hrlr`: ``{"source": string [], "target": string []}``
- :func:`load_tiny_shakespeare`: ``{"text": string []}``: the split's whole text in one element
"""

from __future__ import annotations

import tensorflow as tf

CONLL2003_TAGS = ("ner", "pos", "chunks")


def _load(name: str, split: str, data_dir: str | None) -> tuple[tf.data.Dataset, object]:
    import tensorflow_datasets as tfds

    return tfds.load(name, split=split, data_dir=data_dir, with_info=True, shuffle_files=False)


def load_imdb_reviews(
    split: str = "train", data_dir: str | None = None
) -> tuple[tf.data.Dataset, list[str]]:
    """IMDB reviews as documents, and the label names."""
    dataset, info = _load("imdb_reviews", split, data_dir)
    mapped = dataset.map(lambda e: {"text": e["text"], "label": tf.cast(e["label"], tf.int64)})
    return mapped, list(info.features["label"].names)


def load_conll2003(
    split: str = "train", tags: str = "ner", data_dir: str | None = None
) -> tf.data.Dataset:
    """CoNLL-2003 sentences as tokens and tag names of the ``tags`` feature (ner, pos, chunks)."""
    if tags not in CONLL2003_TAGS:
        raise ValueError(f"tags must be one of {list(CONLL2003_TAGS)}, got {tags!r}")
    dataset, info = _load("conll2003", split, data_dir)
    names = tf.constant(info.features[tags].feature.names, dtype=tf.string)
    return dataset.map(lambda e: {"tokens": e["tokens"], "tags": tf.gather(names, e[tags])})


def load_ted_hrlr(
    split: str = "train", pair: str = "pt_to_en", data_dir: str | None = None
) -> tf.data.Dataset:
    """TED talk translations ``ted_hrlr_translate/<pair>``, e.g. ``pt_to_en``: source pt, target en."""
    source, _, target = pair.partition("_to_")
    if not source or not target:
        raise ValueError(f"pair must look like 'pt_to_en', got {pair!r}")
    dataset, _ = _load(f"ted_hrlr_translate/{pair}", split, data_dir)
    return dataset.map(lambda e: {"source": e[source], "target": e[target]})


def load_tiny_shakespeare(split: str = "train", data_dir: str | None = None) -> tf.data.Dataset:
    """Tiny Shakespeare; :func:`rnnzoo.data.text.text_from_dataset` makes it one text stream."""
    dataset, _ = _load("tiny_shakespeare", split, data_dir)
    return dataset.map(lambda e: {"text": e["text"]})
