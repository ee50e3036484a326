"""SavedModel export for TensorFlow Serving: raw strings in, answers out, no rnnzoo needed.

``export(task, base)`` writes ``base/<name>/<version>/`` with the signatures of the model's task
(its ``serving.py``, found through :mod:`rnnzoo.tasks.registry`), warm-up requests and an
up-to-date ``base/models.config`` (:mod:`rnnzoo.serving`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnnzoo.serving.layout import write_version
from rnnzoo.serving.warmup import write_warmup
from rnnzoo.tasks.registry import get_task


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature of ``task``'s export (also its warm-up requests)."""
    return get_task(task.task).serving().example_requests(task)


def export(task, base: str | os.PathLike, version: int | None = None,
           name: str | None = None) -> Path:
    """Writes ``task`` (an object from ``rnnzoo.load``) as version ``version`` (default: one
    above the highest present) of model ``name`` (default: the model's name) under ``base``;
    returns the version folder."""
    name = name or task.config.get("name") or task.folder.name
    serving = get_task(task.task).serving()

    def write(folder: Path) -> None:
        with tf.device("/cpu:0"):
            module = serving.serving_module(task)
            signatures = {key: fn.get_concrete_function()
                          for key, fn in module.signatures().items()}
            tf.saved_model.save(module, str(folder), signatures=signatures)
        write_warmup(folder, name, serving.example_requests(task))

    return write_version(base, name, version, write)
