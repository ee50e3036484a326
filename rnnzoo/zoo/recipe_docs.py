"""``docs/RECIPES.md``, generated from the schemas: every key a recipe may hold, its type,
default, allowed values and meaning (each schema field's ``doc``), section by section and task
by task (the tasks from :mod:`rnnzoo.tasks.registry`).

Usage: ``python -m rnnzoo.zoo.recipe_docs`` rewrites the file; ``tests/test_recipe_docs.py``
fails when it is stale.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from rnnzoo.tasks.registry import get_task, task_names
from rnnzoo.training import datafiles, recipe
from rnnzoo.training.config import Field
from rnnzoo.zoo import tuning

DOCS = Path(__file__).resolve().parents[2] / "docs" / "RECIPES.md"
HEADER = """# Recipe keys

Generated from the schemas by `python -m rnnzoo.zoo.recipe_docs`; do not edit by hand (a test
fails when this file is stale). A recipe (`zoo_configs/NAME.yaml`) is a YAML mapping of the
sections below; a key left out takes its default, and a required key (no default) must be
given. Unknown keys are refused with the allowed ones named.
"""


def _kind(field: Field) -> str:
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    name = " or ".join(k.__name__ for k in kinds)
    return f"{name} or null" if field.nullable else name


def _default(field: Field) -> str:
    if field.required:
        return "required"
    return "null" if field.default is None else f"`{field.default!r}`"


def _values(field: Field) -> str:
    parts = []
    if field.choices is not None:
        parts.append(", ".join(f"`{c}`" for c in field.choices))
    if field.low is not None or field.high is not None:
        low = "" if field.low is None else f"≥ {field.low:g}"
        high = "" if field.high is None else f"{'<' if field.high_open else '≤'} {field.high:g}"
        parts.append(" and ".join(p for p in (low, high) if p))
    if field.check is not None:
        parts.append(field.check[1])
    return "; ".join(parts)


def table(schema: dict[str, Field]) -> list[str]:
    """The markdown table of a schema's keys."""
    rows = ["| key | type | default | values | meaning |", "|---|---|---|---|---|"]
    for key, field in schema.items():
        cells = (f"`{key}`", _kind(field), _default(field), _values(field), field.doc)
        rows.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ")
                                       for c in cells) + " |")
    return rows


def render() -> str:
    """The whole of ``docs/RECIPES.md``."""
    lines = [HEADER, "## The recipe", "", *table(recipe.SCHEMA), "",
             "### `init`: start from a trained model", "", *table(recipe.INIT_SCHEMA), "",
             "### `target`: the figure the model is meant to reach", "",
             *table(recipe.TARGET_SCHEMA), "",
             "### `tune`: a keras-tuner search", "", *table(tuning.SCHEMA), "",
             "### `data.files`: your own files (every task)", "", *table(datafiles.SCHEMA), "",
             "### `data.tfds`: a TensorFlow Datasets dataset (every task)", "",
             *table(datafiles.TFDS_SCHEMA), ""]
    for name in task_names():
        task = get_task(name)
        model = importlib.import_module(f"{task.package}.model")
        steps = task.recipe()
        lines += [f"## Task `{name}`", ""]
        for section, schema in (("model", model.SCHEMA), ("data", steps.DATA_SCHEMA),
                                ("vocabulary", steps.VOCABULARY_SCHEMA),
                                ("training", steps.TRAINING_SCHEMA)):
            lines += [f"### `{section}`", "", *table(schema), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    DOCS.write_text(render())
    print(f"wrote {DOCS}")
