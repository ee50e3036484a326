"""The steps every recipe shares: start (or resume) the model, and finish the run folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Optional

import keras
import yaml

from rnnzoo.training.checkpoints import BEST_FILE, STATE_FILE, load_checkpoint, write_json
from rnnzoo.models.config import validate
from rnnzoo.training.recipe import validate_recipe

logger = logging.getLogger(__name__)

SPLITS = ("valid", "test")


def open_run(recipe: dict, out_dir: str | Path, resume: bool) -> tuple[dict, Path]:
    """The validated recipe and the run folder, created. A folder that already holds a
    checkpoint is only continued (``resume``), never trained over from scratch."""
    recipe = validate_recipe(recipe)
    out = Path(out_dir)
    if not resume and (out / "checkpoints" / STATE_FILE).exists():
        raise FileExistsError(f"{out} holds a training run already: pass --resume to continue "
                              "it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(recipe["seed"])
    return recipe, out


def start_model(checkpoints: Path, resume: bool,
          new_model: Callable[[], keras.Model]) -> tuple[keras.Model, int, dict]:
    """The model to fit, the epochs already done and the history so far: from the last
    checkpoint when resuming, else a new compiled model."""
    if resume:
        model, done, history = load_checkpoint(checkpoints)
        logger.info("resuming after epoch %d", done)
        return model, done, history
    return new_model(), 0, {}


def sections(recipe: dict, data_schema: dict, vocabulary_schema: dict,
             training_schema: dict) -> tuple[dict, dict, dict]:
    """The recipe's data, vocabulary and training sections, validated, defaults filled in."""
    return (validate(recipe["data"], data_schema, "data"),
            validate(recipe.get("vocabulary", {}), vocabulary_schema, "vocabulary"),
            validate(recipe["training"], training_schema, "training"))


def write_config(out: Path, resolved: dict) -> None:
    """``config.yaml``: the recipe with the sizes the data fixed."""
    (out / "config.yaml").write_text(
        yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), encoding="utf-8")


def read_config(run: Path) -> dict:
    return yaml.safe_load((Path(run) / "config.yaml").read_text(encoding="utf-8"))


def finish(out: Path, trained: keras.Model, build: Callable[[], keras.Model],
           evaluate: Callable[[Path, Optional[str], str], dict], data_dir: Optional[str],
           history: dict) -> dict:
    """Saves the best weights (``checkpoints/best.weights.h5``, the best validation epoch of the
    whole run, else the last) in a freshly built model (no optimizer state, not stateful) as
    ``model.keras``, evaluates it on the valid and test splits into ``metrics.json`` and writes
    ``history.json``; returns the metrics."""
    best = out / "checkpoints" / BEST_FILE
    if best.is_file():
        trained.load_weights(best)
    final = build()
    final.set_weights(trained.get_weights())
    final.save(out / "model.keras")
    metrics = {split: evaluate(out, data_dir, split) for split in SPLITS}
    write_json(out / "metrics.json", metrics)
    write_json(out / "history.json", history)
    logger.info("metrics: %s", json.dumps(metrics))
    return metrics
