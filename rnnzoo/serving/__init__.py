"""Task-free serving machinery: the version layout under a base folder and its
``models.config`` (:mod:`~rnnzoo.serving.layout`), warm-up records
(:mod:`~rnnzoo.serving.warmup`), string specs and text ops (:mod:`~rnnzoo.serving.text_ops`).
A task's signatures are in its ``serving.py``; :func:`rnnzoo.zoo.export.export` writes them.
"""

from __future__ import annotations

from rnnzoo.serving.layout import MODELS_CONFIG, VersionExistsError, versions
from rnnzoo.serving.warmup import WARMUP_FILE, read_warmup

__all__ = ["MODELS_CONFIG", "VersionExistsError", "WARMUP_FILE", "read_warmup", "versions"]
