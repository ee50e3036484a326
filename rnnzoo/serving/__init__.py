"""SavedModel export for TensorFlow Serving: raw strings in, answers out, no rnnzoo needed.

``export(task, base)`` writes ``base/<name>/<version>/`` with the task's signatures
(:mod:`rnnzoo.serving.signatures`), warm-up requests and an up-to-date ``base/models.config``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnnzoo.serving.layout import MODELS_CONFIG, VersionExistsError, versions, write_version
from rnnzoo.serving.signatures import serving_module
from rnnzoo.serving.warmup import WARMUP_FILE, read_warmup, write_warmup

__all__ = ["MODELS_CONFIG", "VersionExistsError", "WARMUP_FILE", "export", "example_requests",
           "read_warmup", "versions"]

_EXAMPLES = {
    "language_model": {"word": "the company said", "char": "It is a truth"},
    "tagger": "John Smith flew to London on Monday .",
    "classifier": "Congratulations! You have won a free prize, click here to claim it now.",
    "seq2seq": "In the beginning God created the heaven and the earth.",
}


def example_requests(task) -> dict[str, dict[str, np.ndarray]]:
    """A real request for each signature of ``task``'s export (also its warm-up requests)."""
    if task.task == "language_model":
        prompt = np.array([_EXAMPLES["language_model"][task.level].encode()])
        return {
            "serving_default": {"prompts": prompt},
            "generate": {"prompts": prompt, "max_tokens": np.array([8], np.int32),
                         "temperature": np.array([0.8], np.float32),
                         "top_k": np.array([20], np.int32), "seed": np.array([1], np.int64)},
            "score": {"texts": prompt},
        }
    text = np.array([_EXAMPLES[task.task].encode()])
    if task.task == "tagger":
        return {"serving_default": {"sentences": text}}
    if task.task == "classifier":
        return {"serving_default": {"texts": text}}
    return {"serving_default": {"sources": text}, "translate_greedy": {"sources": text}}


def export(task, base: str | os.PathLike, version: int | None = None,
           name: str | None = None) -> Path:
    """Writes ``task`` (an object from ``rnnzoo.load``) as version ``version`` (default: one
    above the highest present) of model ``name`` (default: the model's name) under ``base``;
    returns the version folder."""
    name = name or task.config.get("name") or task.folder.name

    def write(folder: Path) -> None:
        with tf.device("/cpu:0"):
            module = serving_module(task)
            signatures = {key: fn.get_concrete_function()
                          for key, fn in module.signatures().items()}
            tf.saved_model.save(module, str(folder), signatures=signatures)
        write_warmup(folder, name, example_requests(task))

    return write_version(base, name, version, write)
