"""Checkpoints written atomically at each epoch end, so a killed run resumes where it stopped.

After epoch N, ``DIR/checkpoint-N.keras`` (model and optimizer state) is written to a temporary
file and renamed into place; then ``DIR/checkpoint.json`` (epochs done, history, the model
file's name) is replaced the same way — that rename commits the epoch — and older model files
are removed. A kill at any point leaves a JSON that names a complete model file of the same
epoch.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import keras

from rnnzoo.training.options import is_chief

MODEL_FILE = "checkpoint.keras"  # the single model file of runs written before numbered files
STATE_FILE = "checkpoint.json"
BEST_FILE = "best.weights.h5"


def atomic_write(path: Path, write) -> None:
    """Calls ``write(tmp_path)`` and renames the result onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix="".join(path.suffixes))
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: Path, data) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2) + "\n"))


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model, optimizer and history (with each epoch's seconds) after every epoch,
    atomically (in a multi-worker cluster, the chief only); and ``best.weights.h5`` whenever ``monitor`` reaches its best value of the whole
    history, resumed epochs included (what the run's final model is made of)."""

    def __init__(self, directory: str | os.PathLike, history: Optional[dict] = None,
                 monitor: str = "val_loss", mode: str = "min"):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.directory = Path(directory)
        self.history = history or {}
        self.monitor, self.best = monitor, min if mode == "min" else max

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = {**(logs or {}), "epoch_seconds": time.perf_counter() - self._started}
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        if not is_chief():
            return
        values = self.history.get(self.monitor, [])
        if values and values[-1] == self.best(values):
            atomic_write(self.directory / BEST_FILE, self.model.save_weights)
        name = f"checkpoint-{epoch + 1}.keras"
        atomic_write(self.directory / name, self.model.save)
        write_json(self.directory / STATE_FILE,
                   {"epochs_done": epoch + 1, "model": name, "history": self.history})
        for old in self.directory.glob("checkpoint*.keras"):
            if old.name != name:
                old.unlink()


class CheckpointMismatchError(ValueError):
    """A checkpoint holds a model of another architecture than the recipe builds."""


def architecture(model: keras.Model) -> list[str]:
    """What a checkpoint must share with the recipe's model to continue it: input shapes, layer
    classes and weight shapes (not names: Keras numbers unnamed layers per process)."""
    return ([f"input shape {tuple(x.shape)}" for x in model.inputs]
            + [f"layer {type(layer).__name__}" for layer in model.layers]
            + [f"weight shape {tuple(w.shape)}" for w in model.weights])


def check_architecture(model: keras.Model, expected: keras.Model, where: Path) -> None:
    """Raises :class:`CheckpointMismatchError` unless ``model`` has ``expected``'s architecture."""
    found, wanted = architecture(model), architecture(expected)
    if found == wanted:
        return
    first = next(((a, b) for a, b in zip(found, wanted) if a != b), None)
    detail = (f"{first[0]} in the checkpoint, {first[1]} in the recipe's model" if first else
              f"{len(found)} inputs, layers and weights in the checkpoint, {len(wanted)} in the "
              "recipe's model")
    raise CheckpointMismatchError(
        f"{where}: the checkpoint holds another architecture than the recipe ({detail}); "
        "resume with the recipe that started this run, or choose another --out")


def load_checkpoint(directory: str | os.PathLike,
                    expected: Optional[Callable[[], keras.Model]] = None
                    ) -> tuple[keras.Model, int, dict]:
    """The model (with optimizer state), the number of epochs done and the history so far;
    with ``expected`` (the recipe's model builder), a checkpoint of another architecture is a
    :class:`CheckpointMismatchError`."""
    directory = Path(directory)
    state_path = directory / STATE_FILE
    if not state_path.exists():
        raise FileNotFoundError(f"{directory}: no checkpoint to resume from ({STATE_FILE} and "
                                "its model file are written at the end of each epoch)")
    state = json.loads(state_path.read_text())
    model_path = directory / state.get("model", MODEL_FILE)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: named by {state_path} but missing")
    model = keras.saving.load_model(model_path, safe_mode=True)
    if expected is not None:
        check_architecture(model, expected(), model_path)
    return model, int(state["epochs_done"]), state.get("history", {})
