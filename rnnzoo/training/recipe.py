"""A recipe is one ``zoo_configs/NAME.yaml``: task, model, data, vocabulary, training, seed."""

from __future__ import annotations

import os
import re
from pathlib import Path

from rnnzoo.tasks.registry import task_names
from rnnzoo.training.config import ConfigError, Field, load_yaml, validate

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_DESCRIPTION = 120
NAME_RULE = "1 to 64 lower-case ASCII letters, digits and '-', starting with a letter or digit"


def check_name(name: object) -> str:
    """``name`` if it is a valid model name, else a ValueError saying the rule."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"invalid model name {name!r}: {NAME_RULE}")
    return name


SCHEMA = {
    "name": Field(str, check=(lambda s: bool(NAME.fullmatch(s)), f"must be {NAME_RULE}"),
                  doc="the model's name, as `rnnzoo list` and its model card show it"),
    "task": Field(str, choices=task_names(),
                  doc="the task whose recipe trains it: which `model`, `data`, `vocabulary` and "
                      "`training` keys apply (see the task's section)"),
    "description": Field(str, check=(lambda s: 0 < len(s) <= MAX_DESCRIPTION,
                                     f"must be 1 to {MAX_DESCRIPTION} characters"),
                         doc="one line: what `rnnzoo list` shows"),
    "notes": Field(str, default="",
                   doc="how the recipe was chosen, timings and other detail"),
    "seed": Field(int, default=0, low=0,
                  doc="seeds Keras (initial weights, dropout) and the data's shuffles, held-out "
                      "splits and crops"),
    "model": Field(dict, doc="the network's architecture: the task's `model` keys"),
    "data": Field(dict, doc="the corpus, or `files` or a `tfds` dataset, and how it is split: the "
                            "task's `data` keys"),
    "vocabulary": Field(dict, default={},
                        doc="how the vocabularies are built from the training split: the task's "
                            "`vocabulary` keys"),
    "training": Field(dict, doc="batches, optimizer, schedule and stopping: the task's "
                                "`training` keys"),
    "target": Field(dict, default=None, nullable=True,
                    doc="the figure the model is meant to reach, e.g. `{split: test, metric: "
                        "perplexity, at_most: 100}`; its model card says whether it was met"),
    "init": Field(dict, default=None, nullable=True,
                  doc="start from a trained model (fine-tuning): see `init` below"),
    "tune": Field(dict, default=None, nullable=True,
                  doc="the tuner and search space of `rnnzoo tune`: see `tune` below"),
    "checks": Field(dict, default={},
                    doc="held-out files, never trained on, that `rnnzoo publish` also evaluates "
                        "the model on (as `rnnzoo evaluate NAME --data FILE`) and shows on its "
                        "card: a name for each, e.g. `{short messages: "
                        "tests/data/short_messages.csv}`; paths relative to the folder publish "
                        "runs in"),
}

INIT_SCHEMA = {
    "from": Field(str, doc="the trained model folder training starts from: its vocabularies and "
                           "weights"),
    "extend_vocab": Field(bool, default=False,
                          doc="add the training data's new tokens, tags or labels to that model's "
                              "vocabularies (else new tags or labels are an error, new words "
                              "unknown)"),
}

TARGET_SCHEMA = {
    "split": Field(str, default="test", doc="the split (`valid` or `test`) whose metric is "
                                            "compared"),
    "metric": Field(str, doc="a metric the task's evaluation reports, e.g. `perplexity`, `f1`, "
                             "`bleu`, `accuracy`"),
    "at_most": Field(float, default=None, nullable=True,
                     doc="met when the metric is at most this (give exactly one of `at_most` "
                         "and `at_least`)"),
    "at_least": Field(float, default=None, nullable=True,
                      doc="met when the metric is at least this"),
    "reference": Field(str, default="",
                       doc="a published figure to compare with, shown after the verdict on the "
                           "model card"),
}


def check_target(target: dict, where: str = "target") -> dict:
    """The recipe's ``target`` section checked: exactly one of ``at_most`` and ``at_least``."""
    target = validate(target, TARGET_SCHEMA, where)
    if (target["at_most"] is None) == (target["at_least"] is None):
        raise ConfigError(f"{where}: give exactly one of at_most and at_least")
    return target


def load_recipe(path: str | os.PathLike) -> dict:
    """The recipe at ``path`` (YAML, read by :func:`load_yaml`), its top level validated."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such recipe file")
    data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    recipe = validate_recipe(data if data is not None else {}, path.stem)
    return with_files_under(recipe, path.resolve().parent)


def with_files_under(recipe: dict, folder: Path) -> dict:
    """The recipe with its relative ``data.files`` paths taken from ``folder`` (the recipe
    file's), so that a recipe and its data move together."""
    files = recipe["data"].get("files") if isinstance(recipe["data"], dict) else None
    if not isinstance(files, dict):
        return recipe
    resolved = {key: str((folder / value).resolve()) if key in ("train", "valid", "test")
                and isinstance(value, str) and not Path(value).expanduser().is_absolute()
                else value for key, value in files.items()}
    return {**recipe, "data": {**recipe["data"], "files": resolved}}


def validate_recipe(recipe: dict, where: str = "recipe") -> dict:
    """The recipe's top level checked, defaults filled in (idempotent)."""
    recipe = validate(recipe, SCHEMA, where)
    if recipe["target"] is not None:
        recipe["target"] = check_target(recipe["target"], f"{where}.target")
    if recipe["init"] is not None:
        recipe["init"] = validate(recipe["init"], INIT_SCHEMA, f"{where}.init")
    for name, path in recipe["checks"].items():
        if name in ("train", "valid", "test") or not isinstance(path, str) or not path:
            raise ConfigError(f"{where}.checks.{name}: give a file path for a name other than "
                              "train, valid and test")
    return recipe
