"""Checkpoints written atomically at each epoch end, so a killed run resumes where it stopped.

``DIR/checkpoint.keras`` (model and optimizer state) and ``DIR/checkpoint.json`` (epochs done,
history) are each written to a temporary file in DIR and renamed into place: a reader sees the
old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Optional

import keras

MODEL_FILE = "checkpoint.keras"
STATE_FILE = "checkpoint.json"


def atomic_write(path: Path, write) -> None:
    """Calls ``write(tmp_path)`` and renames the result onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
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
    atomically."""

    def __init__(self, directory: str | os.PathLike, history: Optional[dict] = None):
        super().__init__()
        self.directory = Path(directory)
        self.history = history or {}

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = {**(logs or {}), "epoch_seconds": time.perf_counter() - self._started}
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        atomic_write(self.directory / MODEL_FILE, self.model.save)
        write_json(self.directory / STATE_FILE, {"epochs_done": epoch + 1, "history": self.history})


def load_checkpoint(directory: str | os.PathLike) -> tuple[keras.Model, int, dict]:
    """The model (with optimizer state), the number of epochs done and the history so far."""
    directory = Path(directory)
    model_path, state_path = directory / MODEL_FILE, directory / STATE_FILE
    if not model_path.exists() or not state_path.exists():
        raise FileNotFoundError(f"{directory}: no checkpoint to resume from ({MODEL_FILE} and "
                                f"{STATE_FILE} are written at the end of each epoch)")
    state = json.loads(state_path.read_text())
    model = keras.saving.load_model(model_path, safe_mode=True)
    return model, int(state["epochs_done"]), state.get("history", {})
