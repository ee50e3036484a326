"""Publishing a training run into the zoo: copy, evaluate, write the card and the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import keras

from rnnzoo.training import recipe_module
from rnnzoo.training.recipe import check_name
from rnnzoo.training.runs import read_config
from rnnzoo.zoo.cards import render
from rnnzoo.zoo.manifest import write_manifest

SKIPPED = {"checkpoints", "history.json", "metrics.json", "manifest.json", "README.md"}


def publish(run_dir: str | Path, models_dir: str | Path, data_dir: Optional[str],
            splits: tuple[str, ...] = ("valid", "test"), data_dir_hint: str = "DATA") -> Path:
    """Copies the run's model, vocabularies and recipe to ``models_dir/NAME`` (NAME from the
    recipe), evaluates it there on ``splits``, writes ``metrics.json``, the card and the
    sha256 manifest; returns the model folder. The new folder is built aside and swapped in
    only when complete: a failure leaves the published model as it was."""
    run = Path(run_dir)
    config = read_config(run)
    root = Path(models_dir)
    target = root / check_name(config.get("name"))
    staging, previous = root / f".{target.name}.publishing", root / f".{target.name}.previous"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for item in run.iterdir():
            if item.name not in SKIPPED and item.is_file():
                shutil.copy2(item, staging / item.name)
        history_file = run / "history.json"
        history = json.loads(history_file.read_text()) if history_file.is_file() else {}
        metrics = {split: recipe_module(config["task"]).evaluate(staging, data_dir, split)
                   for split in splits}
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (staging / "history.json").write_text(json.dumps(history, indent=2) + "\n")
        model = keras.saving.load_model(staging / "model.keras", safe_mode=True)
        (staging / "README.md").write_text(
            render(config, metrics, model.count_params(), history, data_dir_hint))
        write_manifest(staging, [p.name for p in staging.iterdir() if p.is_file()])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    return target
