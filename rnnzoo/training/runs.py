"""The steps every recipe shares: start (or resume) the model, from scratch or from a trained
one (``init``: fine-tuning), the callbacks, and finish the run folder."""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Callable
from pathlib import Path

import keras

from rnnzoo.data.vocab import PAD, UNK, Vocabulary
from rnnzoo.plots import save_learning_curves
from rnnzoo.saving import load_keras
from rnnzoo.training import distributed
from rnnzoo.training.checkpoints import (
    STATE_FILE,
    atomic_write,
    best_weights,
    load_checkpoint,
    load_model_weights,
    write_json,
)
from rnnzoo.training.config import dump_yaml, load_yaml, validate
from rnnzoo.training.datafiles import splits_present
from rnnzoo.training.options import RunOptions, is_chief
from rnnzoo.training.recipe import INIT_SCHEMA, validate_recipe
from rnnzoo.training.recipe import SCHEMA as RECIPE_SCHEMA

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


def cpu_name() -> str:
    """This machine's processor, as ``/proc/cpuinfo`` names it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def start_model(checkpoints: Path, resume: bool, new_model: Callable[[], keras.Model],
                init: dict | None = None,
                options: RunOptions = RunOptions()) -> tuple[keras.Model, int, dict]:
    """The model to fit, the epochs already done and the history so far: from the last
    checkpoint when resuming, else a new compiled model (its weights copied from ``init``'s
    model), built in the options' strategy scope and dtype policy; ``OUT/runtime.json`` records
    the strategy, its replicas, the policy, jit and the machine (CPU, cores)."""
    with options.model_scope(options.distribution()):
        if resume:
            model, done, history = load_checkpoint(checkpoints, new_model)
            logger.info("resuming after epoch %d", done)
        else:
            model, done, history = new_model(), 0, {}
            if init:
                copy_weights(load_base(init), model)
    if options.jit:
        model.jit_compile = True
    distributed.prepare(model, options.distribution())
    if is_chief():
        write_json(checkpoints.parent / "runtime.json", {
            "strategy": options.strategy,
            "replicas": options.distribution().num_replicas_in_sync,
            "dtype_policy": options.policy(), "jit": options.jit,
            "cpu": cpu_name(), "cores": os.cpu_count()})
    return model, done, history


def load_base(init: dict) -> keras.Model:
    """The trained model ``init`` names (its folder's ``model.keras``)."""
    init = validate(init, INIT_SCHEMA, "init")
    return load_keras(Path(init["from"]) / "model.keras")


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Copies each weight of ``source`` into the weight of ``target`` at the same place (the
    models' weight lists, in order: layer names may be numbered differently); where a
    vocabulary grew (a larger axis), into the leading slice, the new rows keeping their fresh
    initialisation. Any other difference is an error naming the weight."""
    if len(source.weights) != len(target.weights):
        raise ValueError(f"cannot start a model of {len(target.weights)} weights from the trained "
                         f"model's {len(source.weights)}: not the same architecture")
    for old_weight, weight in zip(source.weights, target.weights):
        old = keras.ops.convert_to_numpy(old_weight.value)
        new = keras.ops.convert_to_numpy(weight.value).copy()
        if (old_weight.name != weight.name or old.ndim != new.ndim
                or any(o > n for o, n in zip(old.shape, new.shape))):
            raise ValueError(f"cannot start {weight.path} {tuple(new.shape)} from the trained "
                             f"model's {old_weight.path} {tuple(old.shape)}: not the same "
                             "architecture")
        new[tuple(slice(0, n) for n in old.shape)] = old
        weight.assign(new)


def grown(known: list[str], found: list[str], init: dict, closed: bool, what: str) -> list[str]:
    """A trained model's ``known`` tokens (labels, tags, words), with the training data's new
    ones from ``found`` appended when ``init.extend_vocab``. For a ``closed`` set (tags,
    labels), new ones without ``extend_vocab`` are an error naming them; new words are simply
    unknown."""
    new = [t for t in found if t not in set(known)]
    if init["extend_vocab"]:
        logger.info("%d new %s added to the trained model's %d", len(new), what, len(known))
        return known + new
    if closed and new:
        shown = [t for t in known if t not in (PAD, UNK)][:20]
        raise ValueError(f"the training data has {what} the model does not know: {new[:10]} "
                         f"(it knows {shown}; pass --extend-vocab to add them)")
    return known


def vocabulary(init: dict | None, file: str, built: Vocabulary, closed: bool = False,
               what: str = "tokens") -> Vocabulary:
    """The vocabulary to train with: ``built`` from the training data, or, when starting from a
    trained model (``init``), that model's ``file`` grown by ``built`` (see :func:`grown`)."""
    if not init:
        return built
    init = validate(init, INIT_SCHEMA, "init")
    base = Vocabulary.load(Path(init["from"]) / file, built.level)
    return Vocabulary(grown(base.tokens, built.tokens, init, closed, what), base.level)


def callbacks(out: Path, options: RunOptions) -> list[keras.callbacks.Callback]:
    """The callbacks every run adds to its own: TensorBoard logs in ``OUT/logs``."""
    if options.tensorboard and is_chief():
        return [keras.callbacks.TensorBoard(log_dir=str(out / "logs"))]
    return []


def sections(recipe: dict, data_schema: dict, vocabulary_schema: dict,
             training_schema: dict) -> tuple[dict, dict, dict]:
    """The recipe's data, vocabulary and training sections, validated, defaults filled in."""
    return (validate(recipe["data"], data_schema, "data"),
            validate(recipe.get("vocabulary", {}), vocabulary_schema, "vocabulary"),
            validate(recipe["training"], training_schema, "training"))


def save_run_files(save: Callable[[], None]) -> None:
    """Runs ``save`` (what a recipe writes into the run folder: vocabularies, labels, its
    config) where the run folder is written: in every process, except in a multi-worker
    cluster, where the chief alone writes (the workers share ``--out``)."""
    if is_chief():
        save()


def write_config(out: Path, resolved: dict) -> None:
    """``config.yaml``: the recipe with the sizes the data fixed."""
    (out / "config.yaml").write_text(
        dump_yaml(resolved), encoding="utf-8")


def read_config(run: Path) -> dict:
    """The run's recipe (``config.yaml``) as written."""
    path = Path(run) / "config.yaml"
    return load_yaml(path.read_text(encoding="utf-8"), str(path))


def seed_of(recipe: dict) -> int:
    """A run's recipe's ``seed`` (the recipe schema's default when a config lacks it)."""
    return recipe.get("seed", RECIPE_SCHEMA["seed"].default)


def finish(out: Path, trained: keras.Model, build: Callable[[], keras.Model],
           evaluate: Callable[[Path, str | None, str], dict], data_dir: str | None,
           history: dict, data: dict | None = None) -> dict:
    """Saves the best weights (``checkpoints/best-N.weights.h5``, the best validation epoch of the
    whole run, else the last) in a freshly built float32 model (no optimizer state, not
    stateful) as ``model.keras``, evaluates it on the valid and test splits ``data`` has into
    ``metrics.json``, and writes ``history.json`` and ``learning_curves.png``; returns the
    metrics. In a multi-worker cluster only the chief writes (the others return ``{}``)."""
    if not is_chief():
        return {}
    best = best_weights(out / "checkpoints")
    if best is not None:
        load_model_weights(trained, best)
    final = build()
    final.set_weights(trained.get_weights())
    atomic_write(out / "model.keras", final.save)
    splits = splits_present(data) if data is not None else SPLITS
    metrics = {split: evaluate(out, data_dir, split) for split in splits}
    write_json(out / "metrics.json", metrics)
    write_json(out / "history.json", history)
    if any(history.get(key) for key in history if key != "epoch_seconds"):
        save_learning_curves(history, out / "learning_curves.png")
    logger.info("metrics: %s", json.dumps(metrics))
    return metrics
