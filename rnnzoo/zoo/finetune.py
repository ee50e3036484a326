"""Fine-tuning a zoo model (or a trained folder) on the user's files: its recipe, pointed at the
files (:mod:`rnnzoo.training.datafiles`), started from its weights and vocabularies (``init``),
trained by the task's recipe module into a run folder that loads, evaluates and exports like a
zoo model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rnnzoo.tasks.registry import get_task
from rnnzoo.training.config import load_yaml
from rnnzoo.training.datafiles import for_files
from rnnzoo.training.options import RunOptions
from rnnzoo.zoo.registry import read_config, resolve

OVERRIDABLE = ("training", "vocabulary")


def parse_settings(settings: list[str]) -> dict[str, dict[str, Any]]:
    """``["training.bptt=40", ...]`` → ``{"training": {"bptt": 40}}`` (values read as YAML)."""
    parsed: dict[str, dict[str, Any]] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name or section not in OVERRIDABLE:
            raise ValueError(f"--set {setting!r}: expected SECTION.KEY=VALUE with SECTION one of "
                             f"{list(OVERRIDABLE)}, e.g. training.bptt=40")
        parsed.setdefault(section, {})[name] = load_yaml(value, f"--set {setting!r}")
    return parsed


def finetune_recipe(name_or_path: str | os.PathLike, train: str | os.PathLike, *,
                    valid: str | os.PathLike | None = None,
                    test: str | os.PathLike | None = None, valid_fraction: float = 0.1,
                    epochs: int = 3, learning_rate: float | None = None,
                    batch_size: int | None = None, extend_vocab: bool = False,
                    settings: dict[str, dict[str, Any]] | None = None) -> dict:
    """The recipe that fine-tunes a model: its own (checksums verified), on the files, from its
    weights, for ``epochs`` (the recipe's learning rate and batch size unless given)."""
    folder = resolve(name_or_path)
    config = read_config(folder)
    training = {**config["training"], "epochs": epochs,
                **({"learning_rate": learning_rate} if learning_rate is not None else {}),
                **({"batch_size": batch_size} if batch_size is not None else {})}
    settings = settings or {}
    return {
        **config,
        "name": f"{config['name'][:54]}-finetuned",
        "description": f"{config['name']} fine-tuned on {Path(train).name[:40]}.",
        "notes": " ".join(filter(None, (config["description"], config.get("notes")))),
        "data": for_files(config["data"], train, valid, test, valid_fraction),
        "vocabulary": {**config.get("vocabulary", {}), **settings.get("vocabulary", {})},
        "training": {**training, **settings.get("training", {})},
        "init": {"from": str(folder.resolve()), "extend_vocab": extend_vocab},
        "target": None,
        "tune": None,
        "checks": {},
    }


def finetune(name_or_path: str | os.PathLike, train: str | os.PathLike,
             out_dir: str | os.PathLike, *, resume: bool = False,
             options: RunOptions = RunOptions(), **recipe_options) -> dict:
    """Fine-tunes a model on ``train`` (a file in the task's format) into ``out_dir``; returns
    the valid (and, with a test file, test) metrics. See :func:`finetune_recipe`."""
    recipe = finetune_recipe(name_or_path, train, **recipe_options)
    return get_task(recipe["task"]).recipe().train(recipe, None, out_dir, resume=resume,
                                               options=options)
