"""Batches of similar lengths, padded with 0 so that masks are ``ids != 0``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf


def max_length(element: object) -> tf.Tensor:
    """The longest first dimension among the tensors of a (nested) element."""
    lengths = [tf.shape(t, out_type=tf.int32)[0] for t in tf.nest.flatten(element)]
    return tf.reduce_max(tf.stack(lengths))


def bucket_batch(
    dataset: tf.data.Dataset,
    batch_size: int,
    boundaries: Sequence[int],
    length: Callable[..., tf.Tensor] | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Groups elements into buckets by length and pads each batch to its longest element.

    Bucket ``i`` holds lengths in ``[boundaries[i-1], boundaries[i])``. Elements are
    variable-length sequences (or nests of them, e.g. ``(x, y)`` or ``{"tokens", "tags"}``);
    numbers are padded with 0, strings with ``""``. ``length`` maps an element to its length
    (default: :func:`max_length`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    boundaries = list(boundaries)
    if not boundaries or any(b < 1 for b in boundaries) or boundaries != sorted(set(boundaries)):
        raise ValueError(f"boundaries must be increasing positive integers, got {boundaries}")
    length = length or max_length
    return dataset.bucket_by_sequence_length(
        element_length_func=lambda *element: length(element[0] if len(element) == 1 else element),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        drop_remainder=drop_remainder,
    )
