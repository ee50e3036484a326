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
from typing import Optional

import keras

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
    atomically; and ``best.weights.h5`` whenever ``monitor`` reaches its best value of the whole
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


def load_checkpoint(directory: str | os.PathLike) -> tuple[keras.Model, int, dict]:
    """The model (with optimizer state), the number of epochs done and the history so far."""
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
    return model, int(state["epochs_done"]), state.get("history", {})
