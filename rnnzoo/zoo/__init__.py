"""The zoo: shipped models by name, verified by checksum, loaded as task objects."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rnnzoo.data.files import loads_json
from rnnzoo.zoo.registry import list_models, read_config, resolve

if TYPE_CHECKING:
    from rnnzoo.tasks.base import TaskModel

__all__ = ["info", "list_models", "load"]


def load(name_or_path: str | os.PathLike) -> TaskModel:
    """A ready model: ``rnnzoo.load("gru-lm").generate("It is a truth")``.

    Zoo models are checked against their sha256 manifest before anything is read; the Keras
    model loads with ``safe_mode=True`` (no code runs from the file).
    """
    from rnnzoo.tasks.registry import get_task, task_names

    folder = resolve(name_or_path)
    config = read_config(folder)
    task = config.get("task")
    if task not in task_names():
        raise ValueError(f"{folder}: task {task!r} cannot be loaded; one of {list(task_names())}")
    return get_task(task).model_class()(folder, config)


def info(name_or_path: str | os.PathLike) -> dict:
    """The recipe and the measured metrics of a model, without loading its weights."""
    folder = resolve(name_or_path)
    config = read_config(folder)
    metrics_file = folder / "metrics.json"
    metrics = loads_json(metrics_file.read_text()) if metrics_file.is_file() else {}
    return {"name": config.get("name", folder.name), "task": config.get("task"),
            "description": config.get("description", ""), "folder": str(folder),
            "config": config, "metrics": metrics}
