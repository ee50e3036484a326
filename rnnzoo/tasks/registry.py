"""The one table of tasks, read by every consumer (recipes, ``rnnzoo.load``, publish, cards,
export, the CLI).

A task is a package ``rnnzoo/tasks/<name>/`` whose ``__init__`` registers a :class:`Task` with
:func:`register_task`; the ``__init__`` stays light (no TensorFlow), so that the names and the
data descriptions are known without loading a model. The task's modules follow one layout,
imported on first use: ``recipe.py`` (``train``, ``evaluate``), ``task.py`` (the class named by
:attr:`Task.loads_as`, which ``rnnzoo.load`` returns) and ``serving.py`` (``serving_module``,
``example_requests``).

Example:

```python
from rnnzoo.tasks.registry import get_task, task_names

task_names()                      # ("classifier", "language_model", "seq2seq", "tagger")
get_task("tagger").recipe().train(recipe, data_dir, "runs/ner")
```
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

_TASKS: dict[str, Task] = {}


class Task:
    """What the house needs to know of a task; subclass, set the attributes, decorate with
    :func:`register_task`.

    Attributes:
        name: the recipe's ``task:`` value and the package's name.
        loads_as: the class of ``task.py`` that ``rnnzoo.load`` returns.
        headline_metrics: the test metrics a card leads with, the first present.
    """

    name: str = ""
    loads_as: str = ""
    headline_metrics: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        return f"{__package__}.{self.name}"

    def recipe(self) -> ModuleType:
        """The module that trains (``train``) and evaluates (``evaluate``) the task's runs."""
        return importlib.import_module(f"{self.package}.recipe")

    def model_class(self) -> type:
        """The class of the object ``rnnzoo.load`` returns for a model of this task."""
        return getattr(importlib.import_module(f"{self.package}.task"), self.loads_as)

    def corpora_read(self, data: dict) -> list[str | None]:
        """The names of the corpora a recipe's ``data`` section reads as its ``corpus``, for the
        card: that corpus."""
        return [data.get("corpus")]

    def data_shown(self, data: dict) -> dict:
        """The settings of a recipe's ``data`` section that its card lists: all of them."""
        return data

    def serving(self) -> ModuleType:
        """The module with the task's SavedModel signatures (``serving_module``) and warm-up
        requests (``example_requests``)."""
        return importlib.import_module(f"{self.package}.serving")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: adds the task to the table (its name once only)."""
    if not cls.name or cls.name in _TASKS:
        raise ValueError(f"a task needs a new name, got {cls.name!r}")
    _TASKS[cls.name] = cls()
    return cls


def _discover() -> dict[str, Task]:
    for module in pkgutil.iter_modules(importlib.import_module(__package__).__path__):
        if module.ispkg:
            importlib.import_module(f"{__package__}.{module.name}")
    return _TASKS


def task_names() -> tuple[str, ...]:
    """The names of every registered task, sorted."""
    return tuple(sorted(_discover()))


def get_task(name: str) -> Task:
    """The registered task ``name``; a ValueError naming the known ones otherwise."""
    tasks = _discover()
    if name not in tasks:
        raise ValueError(f"unknown task {name!r}; one of {sorted(tasks)}")
    return tasks[name]
