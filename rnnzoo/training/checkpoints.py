"""Checkpoints written atomically at each epoch end, so a killed run resumes where it stopped.

After epoch N, ``DIR/checkpoint-N.keras`` (model and optimizer state) and, when the epoch is
the best so far, ``DIR/best-N.weights.h5`` are written to temporary files and renamed into
place; then ``DIR/checkpoint.json`` (epochs done, history, the model and best-weights files'
names) is replaced the same way — that rename commits the epoch — and the files it no longer
names are removed. The JSON also keeps the dropout seed generators' states, which ``.keras``
files do not, so that a resumed run draws the masks an uninterrupted one would. A kill at any
point leaves a JSON that names complete files of epochs that its history holds. A file is only
begun when the disk has room for it, and a write that fails for want of space removes its
temporary file and raises :class:`DiskFullError`.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import keras

from rnnzoo.data.files import default_mode, loads_json
from rnnzoo.saving import load_keras
from rnnzoo.training.options import is_chief

logger = logging.getLogger(__name__)

MODEL_FILE = "checkpoint.keras"  # the single model file of runs written before numbered files
STATE_FILE = "checkpoint.json"


class DiskFullError(OSError):
    """No space left for a file; the files committed before it are kept."""


def _disk_full(path: Path) -> DiskFullError:
    return DiskFullError(errno.ENOSPC, f"{path}: no space left on the device; nothing was "
                         "written over (the last committed checkpoint is kept): free some space "
                         "and resume with --resume")


def atomic_write(path: Path, write, needed: int = 0) -> None:
    """Calls ``write(tmp_path)`` and renames the result onto ``path``, readable as a file
    ``open()`` would make (the umask's mode, not ``mkstemp``'s 0600). With ``needed`` (bytes),
    refuses to begin unless the disk has that much free: h5py can crash the process when the
    disk fills mid-file. Out of space, the temporary file is removed and
    :class:`DiskFullError` raised; ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if needed and shutil.disk_usage(path.parent).free < needed:
        raise _disk_full(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix="".join(path.suffixes))
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except OSError as error:
        if error.errno == errno.ENOSPC or "errno = 28" in str(error):
            raise _disk_full(path) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: Path, data) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2) + "\n"))


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model, optimizer and history (with each epoch's seconds) after every epoch,
    atomically (in a multi-worker cluster, the chief only); and ``best-N.weights.h5`` whenever
    ``monitor`` reaches its best value of the whole history, resumed epochs included (what the
    run's final model is made of: :func:`best_weights`). With ``saved``, that model is saved in
    place of the fitted one, a part of it that shares its weights and optimizer (a tagger's head
    fitted on cached features: :mod:`rnnzoo.tasks.tagger.feature_cache`)."""

    def __init__(self, directory: str | os.PathLike, history: dict | None = None,
                 monitor: str = "val_loss", mode: str = "min", saved: keras.Model | None = None):
        super().__init__()
        self.saved = saved
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.directory = Path(directory)
        self.history = history or {}
        self.monitor, self.best = monitor, min if mode == "min" else max
        self.best_file = _state(self.directory).get("best")

    def set_model(self, model):
        super().set_model(model if self.saved is None else self.saved)

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = {**(logs or {}), "epoch_seconds": time.perf_counter() - self._started}
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        if not is_chief():
            return
        weights = _float32_bytes(self.model.weights)
        slots = _float32_bytes(self.model.optimizer.variables if self.model.optimizer else [])
        values = self.history.get(self.monitor, [])
        if values and values[-1] == self.best(values):
            best = f"best-{epoch + 1}.weights.h5"
            atomic_write(self.directory / best, lambda tmp: save_model_weights(self.model, tmp),
                         needed=weights + _MARGIN)
            self.best_file = best
        name = f"checkpoint-{epoch + 1}.keras"
        atomic_write(self.directory / name, self.model.save, needed=weights + slots + _MARGIN)
        state = {"epochs_done": epoch + 1, "model": name, "history": self.history,
                 "seed_states": seed_states(self.model)}
        write_json(self.directory / STATE_FILE,
                   state if self.best_file is None else {**state, "best": self.best_file})
        for old in [*self.directory.glob("checkpoint*.keras"),
                    *self.directory.glob("best*.weights.h5")]:
            if old.name not in (name, self.best_file):
                old.unlink()


def _seed_variables(model: keras.Model) -> list:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def seed_states(model: keras.Model) -> list[list[int]]:
    """The states of ``model``'s random seed generators (its dropout masks' next draws), which
    ``.keras`` files do not keep, in ``model.variables`` order."""
    return [keras.ops.convert_to_numpy(v.value).tolist() for v in _seed_variables(model)]


def restore_seed_states(model: keras.Model, states: list[list[int]]) -> None:
    """Sets ``model``'s seed generators to :func:`seed_states`, so that a resumed run draws the
    dropout masks an uninterrupted one would; states of another count are left unused, with a
    warning."""
    variables = _seed_variables(model)
    if len(states) != len(variables):
        logger.warning("the checkpoint holds %d seed states for a model of %d seed generators "
                       "(another Keras?): the resumed run draws other dropout masks",
                       len(states), len(variables))
        return
    for variable, state in zip(variables, states):
        variable.assign(keras.ops.convert_to_tensor(state, dtype=variable.dtype))


class ResumedEarlyStopping(keras.callbacks.EarlyStopping):
    """``keras.callbacks.EarlyStopping`` that a resumed run continues: the ``monitor`` values of
    the epochs done before the resume (the checkpoint's ``history``) are replayed when training
    begins, so the best value and the epochs waited since it carry over, and a resumed run stops
    after the same epoch as one trained without a break. (Keras's own starts afresh at each
    ``fit``: a run resumed after its best epoch waits ``patience`` epochs again.)

    Args:
        history: the run's history so far (``{metric: [value per epoch]}``), ``{}`` for a new run.
        monitor: the logged value to watch, e.g. ``"val_loss"``.
        patience: the epochs without an improvement before training stops.
        mode: ``"min"``, ``"max"`` or ``"auto"``, as Keras's.
    """

    def __init__(self, history: dict, monitor: str, patience: int, mode: str = "auto"):
        super().__init__(monitor=monitor, patience=patience, mode=mode)
        self.past = [float(value) for value in history.get(monitor, [])]

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.past and self.monitor_op is None:
            self._set_monitor_op()
        for epoch, value in enumerate(self.past):
            self.wait += 1
            if self._is_improvement(value, self.best):
                self.best, self.best_epoch, self.wait = value, epoch, 0


_MARGIN = 1 << 20


def _float32_bytes(variables) -> int:
    return 4 * sum(math.prod(v.shape) for v in variables)


def _state(directory: Path) -> dict:
    path = directory / STATE_FILE
    return loads_json(path.read_text()) if path.is_file() else {}


def save_model_weights(model: keras.Model, path: str | os.PathLike) -> None:
    """The model's weights alone (no optimizer state, which ``Model.save_weights`` adds), as
    HDF5 datasets ``0``, ``1``, … in ``model.weights`` order."""
    with h5py.File(path, "w") as f:
        for index, weight in enumerate(model.weights):
            f.create_dataset(str(index), data=keras.ops.convert_to_numpy(weight.value))


def load_model_weights(model: keras.Model, path: str | os.PathLike) -> None:
    """Sets ``model``'s weights from a :func:`save_model_weights` file of the same
    architecture (else a ValueError naming the file)."""
    with h5py.File(path, "r") as f:
        values = [f[str(index)][()] for index in range(len(f))]
    if len(values) != len(model.weights) or any(
            v.shape != tuple(w.shape) for v, w in zip(values, model.weights)):
        raise ValueError(f"{path}: holds weights of another architecture than the model")
    model.set_weights(values)


def best_weights(directory: str | os.PathLike) -> Path | None:
    """The committed best-weights file of a run's checkpoints folder, or None."""
    best = _state(Path(directory)).get("best")
    return None if best is None else Path(directory) / best


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
                    expected: Callable[[], keras.Model] | None = None
                    ) -> tuple[keras.Model, int, dict]:
    """The model (with optimizer state), the number of epochs done and the history so far;
    with ``expected`` (the recipe's model builder), a checkpoint of another architecture is a
    :class:`CheckpointMismatchError`."""
    directory = Path(directory)
    state_path = directory / STATE_FILE
    if not state_path.exists():
        raise FileNotFoundError(f"{directory}: no checkpoint to resume from ({STATE_FILE} and "
                                "its model file are written at the end of each epoch)")
    state = _state(directory)
    model_path = directory / state.get("model", MODEL_FILE)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: named by {state_path} but missing")
    model = load_keras(model_path)
    if expected is not None:
        check_architecture(model, expected(), model_path)
    if "seed_states" in state:
        restore_seed_states(model, state["seed_states"])
    return model, int(state["epochs_done"]), state.get("history", {})
