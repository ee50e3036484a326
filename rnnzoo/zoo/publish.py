"""Publishing a training run into the zoo: copy, evaluate, write the card and the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rnnzoo.data.files import default_mode, loads_json
from rnnzoo.saving import store_float16
from rnnzoo.tasks.registry import get_task
from rnnzoo.training.datafiles import for_files
from rnnzoo.training.recipe import check_name
from rnnzoo.training.runs import read_config
from rnnzoo.zoo.cards import render
from rnnzoo.zoo.manifest import MANIFEST, write_manifest

SKIPPED = {"checkpoints", "logs", "history.json", "metrics.json", "manifest.json", "README.md",
           "learning_curves.png"}


def published_items(run: Path) -> list[Path]:
    """The run folder's files that publishing copies (all but SKIPPED and sub-folders). A
    symbolic link, or a name that resolves outside the run folder, is refused: publishing
    must never carry a file from elsewhere into the zoo and its wheel."""
    if run.is_symlink() or not run.is_dir():
        raise ValueError(f"{run}: not a run folder (publish takes a real folder, not a link)")
    root = run.resolve()
    items = []
    for item in sorted(run.iterdir()):
        if item.name in SKIPPED:
            continue
        if item.is_symlink() or root not in item.resolve().parents:
            raise ValueError(f"{item}: a symbolic link; publish copies only the run's own "
                             "files, never what a link points to (remove it and publish again)")
        if item.is_file():
            items.append(item)
    return items


def _json(path: Path) -> dict:
    return loads_json(path.read_text()) if path.is_file() else {}


def checks(config: dict, model_dir: Path, data_dir: str | None) -> dict:
    """The metrics of the model in ``model_dir`` on each of its recipe's ``checks`` files, by
    check name (each file evaluated as ``rnnzoo evaluate NAME --data FILE`` does)."""
    evaluate = get_task(config["task"]).recipe().evaluate
    measured = {}
    for name, path in config.get("checks", {}).items():
        if not Path(path).is_file():
            raise FileNotFoundError(f"checks.{name}: no such file {path} (paths are relative to "
                                    f"the folder publish runs in, {Path.cwd()})")
        measured[name] = evaluate(model_dir, data_dir, "test", data=for_files(config["data"],
                                                                              test=path))
    return measured


def publish(run_dir: str | Path, models_dir: str | Path, data_dir: str | None,
            splits: tuple[str, ...] = ("valid", "test"), data_dir_hint: str = "DATA") -> Path:
    """Copies the run's model (as the task's raw-text model where the task has one, its
    weights stored as float16), vocabularies and recipe to
    ``models_dir/NAME`` (NAME from the recipe), evaluates it there on ``splits``, writes
    ``metrics.json``, the card and the sha256 manifest, every file readable by all; returns
    the model folder. The new folder is built aside and swapped in only when complete: a
    failure leaves the published model as it was."""
    run = Path(run_dir)
    items = published_items(run)
    config = read_config(run)
    root = Path(models_dir)
    target = root / check_name(config.get("name"))
    staging, previous = root / f".{target.name}.publishing", root / f".{target.name}.previous"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for item in items:
            shutil.copyfile(item, staging / item.name)
        text_model = get_task(config["task"]).model_class()(staging, config).build_text_model()
        if text_model is not None:
            text_model.save(staging / "model.keras")
        store_float16(staging / "model.keras")
        history = _json(run / "history.json")
        metrics = {split: get_task(config["task"]).recipe().evaluate(staging, data_dir, split)
                   for split in splits}
        metrics.update(checks(config, staging, data_dir))
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (staging / "history.json").write_text(json.dumps(history, indent=2) + "\n")
        write_card(staging, data_dir_hint)
        for item in staging.iterdir():
            item.chmod(default_mode())
        staging.chmod(default_mode(folder=True))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    return target


def write_card(model_dir: str | Path, data_dir_hint: str = "DATA") -> None:
    """(Re)writes the card of the published model in ``model_dir`` from its recipe, weights,
    ``metrics.json``, ``history.json`` and ``runtime.json``, then its manifest: a card's layout
    can change without evaluating the model again."""
    folder = Path(model_dir)
    config = read_config(folder)
    task = get_task(config["task"]).model_class()(folder, config)
    (folder / "README.md").write_text(
        render(config, _json(folder / "metrics.json"), task.keras_model.count_params(),
               _json(folder / "history.json"), data_dir_hint, _json(folder / "runtime.json"),
               task.samples()))
    write_manifest(folder, [p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST])
