"""Training: one recipe module per task, atomic checkpoints with resume, history.

Every recipe module has ``train(recipe, data_dir, out_dir, resume=False) -> metrics`` and
``evaluate(run_dir, data_dir, split) -> metrics``. A run folder holds ``model.keras``,
``config.yaml`` (the recipe, with the sizes the data fixed), the vocabulary files,
``metrics.json`` (``{split: {metric: value}}``), ``history.json`` and ``checkpoints/``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

RECIPES = {
    "language_model": "rnnzoo.training.language_model",
    "tagger": "rnnzoo.training.tagger",
    "seq2seq": "rnnzoo.training.seq2seq",
    "classifier": "rnnzoo.training.classifier",
}


def recipe_module(task: str) -> ModuleType:
    """The recipe module that trains and evaluates ``task``."""
    if task not in RECIPES:
        raise ValueError(f"unknown task {task!r}; one of {sorted(RECIPES)}")
    return importlib.import_module(RECIPES[task])
