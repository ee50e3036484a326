"""Train an rnnzoo language-model recipe on an accelerator with Keras's JAX backend.

Stand-alone (Keras 3, NumPy and PyYAML; no TensorFlow, no rnnzoo), so it runs where TensorFlow
is not installed. It builds the recipe's model with Keras's built-in recurrent layers under the
layer names ``rnnzoo.tasks.language_model.model.build`` gives them and trains it as
``rnnzoo.tasks.language_model.recipe.train`` does: the stream cut into ``batch_size`` lanes and
windows of ``bptt`` steps, state carried across windows and reset at each epoch and around
validation, Adam (clipnorm) or SGD (global clipnorm), the recipe's schedule and early stopping.
Input: the recipe (every default filled in) and the ids that ``tools/device/prepare_lm.py``
wrote. Output: ``OUT.npz`` (the best validation epoch's weights in float16, the history; see
:func:`save`), which ``tools/device/import_lm.py`` turns into an rnnzoo run folder.

Usage: KERAS_BACKEND=jax python train_lm.py PREPARED/recipe.yaml PREPARED/ids.npz OUT
       [--budget SECONDS] [--dtype float16|float32] [--continue-from EARLIER_OUT.npz]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import keras
import numpy as np
import yaml

CHUNK_BYTES = 15 * 2**20  # files come back from the device machine at up to 16 MiB each
RECURRENT = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def windows(ids: np.ndarray, batch: int, bptt: int) -> tuple[np.ndarray, np.ndarray]:
    """rnnzoo's ``lm_windows`` as arrays: batch k is rows [k·B, (k+1)·B), lane b's k-th window."""
    lane = (len(ids) - 1) // batch
    count = lane // bptt
    if count == 0:
        raise ValueError(f"a stream of {len(ids)} ids is too short for batch_size={batch}, "
                         f"bptt={bptt}")
    index = np.arange(batch)[:, None] * lane + np.arange(bptt)[None, :]
    at = (index[None] + bptt * np.arange(count)[:, None, None]).reshape(-1, bptt)
    return ids[at].astype("int32"), ids[at + 1].astype("int32")


class TiedEmbedding(keras.layers.Layer):
    """rnnzoo's ``TiedEmbedding`` (same weights, same order): E[w] forward, h Eᵀ + b reversed."""

    def __init__(self, vocab_size: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim = vocab_size, dim
        self.supports_masking = True

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.vocab_size, self.dim), name="embeddings",
                                          initializer="uniform")
        self.output_bias = self.add_weight(shape=(self.vocab_size,), name="output_bias",
                                           initializer="zeros")

    def call(self, inputs, reverse: bool = False):
        if reverse:
            return keras.ops.matmul(inputs, keras.ops.transpose(self.embeddings)) + self.output_bias
        return keras.ops.take(self.embeddings, keras.ops.cast(inputs, "int32"), axis=0)

    def compute_mask(self, inputs, mask=None):
        return keras.ops.not_equal(inputs, 0) if "int" in str(inputs.dtype) else mask


def build(model: dict, vocab_size: int, batch: int) -> keras.Model:
    """The language model of ``rnnzoo.tasks.language_model.model.build`` (built-in layers)."""
    tied, dim = model["tie_weights"], model["embedding_dim"]
    ids = keras.Input(shape=(None,), batch_size=batch, dtype="int32", name="ids")
    embedding = (TiedEmbedding(vocab_size, dim, name="embedding") if tied else
                 keras.layers.Embedding(vocab_size, dim, mask_zero=True, name="embedding"))
    x = embedding(ids)
    if model["embedding_dropout"]:
        x = keras.layers.Dropout(model["embedding_dropout"], noise_shape=(None, None, 1),
                                 name="embedding_dropout")(x)
    if model["input_dropout"]:
        x = keras.layers.Dropout(model["input_dropout"], noise_shape=(None, 1, None),
                                 name="locked_input_dropout")(x)
    cell = model["cell"]
    for index in range(model["num_layers"]):
        extra = {"reset_after": model["reset_after"]} if cell == "gru" else {}
        x = RECURRENT[cell](model["hidden"], return_sequences=True, stateful=True,
                            name=f"rnn_{index}", **extra)(x)
        if model["dropout"]:
            x = keras.layers.Dropout(model["dropout"], noise_shape=(None, 1, None),
                                     name=f"locked_dropout_{index}")(x)
    if tied:
        if model["hidden"] != dim:
            x = keras.layers.Dense(dim, name="projection")(x)
        logits = embedding(x, reverse=True)
    else:
        logits = keras.layers.Dense(vocab_size, name="output")(x)
    return keras.Model(ids, logits)


def optimizer(training: dict) -> keras.optimizers.Optimizer:
    rate, clip = training["learning_rate"], training["clipnorm"]
    if training["optimizer"] == "sgd":
        return keras.optimizers.SGD(rate, global_clipnorm=clip)
    return keras.optimizers.Adam(rate, clipnorm=clip)


class ResetStates(keras.callbacks.Callback):
    def _reset(self):
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()

    def on_test_end(self, logs=None):
        self._reset()


class KeepBest(keras.callbacks.Callback):
    """After each epoch, ``OUT.npz`` (see :func:`save`) with the best validation epoch's
    weights and the history so far; stops when the next epoch would end past the budget."""

    def __init__(self, out: Path, budget: float, dtype: str = "float16",
                 history: dict | None = None, weights: list | None = None, epoch: int = 0):
        super().__init__()
        self.out, self.budget, self.dtype, self.start = out, budget, dtype, time.monotonic()
        self.history, self.weights, self.best_epoch = history or {}, weights or [], epoch
        self.best = min(self.history.get("val_loss", [np.inf]))
        self.began = self.start

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        logs = {**logs, "learning_rate": float(self.model.optimizer.learning_rate.numpy()),
                "epoch_seconds": now - self.began}
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        if logs["val_loss"] < self.best:
            self.best, self.best_epoch = logs["val_loss"], epoch + 1
            self.weights = [np.asarray(w, dtype=self.dtype) for w in self.model.get_weights()]
        save(self.out, self.weights, self.best_epoch, self.history)
        print(f"epoch {epoch + 1}: loss {logs['loss']:.4f} val {logs['val_loss']:.4f} "
              f"({logs['val_loss'] / np.log(2):.4f} bits) {logs['epoch_seconds']:.1f}s", flush=True)
        if now - self.start + logs["epoch_seconds"] > self.budget:
            self.model.stop_training = True


def load(path: Path) -> tuple[list[np.ndarray], int, dict]:
    """What :func:`save` wrote at ``path`` (``OUT.npz``, then ``OUT-1.npz``, …): the weights as
    float32, the epoch they are from and the history."""
    arrays, number = {}, 0
    with np.load(path) as first:
        count, epoch = int(first["count"]), int(first["epoch"])
        history = json.loads(str(first["history"]))
    while len(arrays) < count:
        part = path if number == 0 else path.with_name(f"{path.stem}-{number}.npz")
        with np.load(part) as chunk:
            arrays.update({k: chunk[k].astype("float32") for k in chunk.files if k[0] == "w"})
        number += 1
    return [arrays[key] for key in sorted(arrays)], epoch, history


def save(out: Path, weights: list[np.ndarray], epoch: int, history: dict) -> None:
    """``OUT.npz``: the weights ``w000``, ``w001``, … (float16 unless ``--dtype float32``),
    ``epoch`` and ``history`` (JSON);
    where they exceed CHUNK_BYTES, the later weights in ``OUT-1.npz``, ``OUT-2.npz``, …
    Each file is written whole, then renamed over the last one."""
    chunks, chunk, size = [], {}, 0
    for index, array in enumerate(weights):
        if chunk and size + array.nbytes > CHUNK_BYTES:
            chunks.append(chunk)
            chunk, size = {}, 0
        chunk[f"w{index:03d}"] = array
        size += array.nbytes
    chunks.append(chunk)
    chunks[0].update(epoch=np.int64(epoch), count=np.int64(len(weights)),
                     history=np.array(json.dumps(history)))
    for number, arrays in enumerate(chunks):
        path = out.with_name(out.name + (f"-{number}" if number else "") + ".npz")
        partial = path.with_name("." + path.name)
        with open(partial, "wb") as f:
            np.savez(f, **arrays)
        os.replace(partial, path)


class ScheduleExponential(keras.callbacks.LearningRateScheduler):
    def __init__(self, training: dict):
        rate, decay, start = (training["learning_rate"], training["lr_decay"],
                              training["decay_start"])
        super().__init__(lambda epoch: rate * decay ** max(0, epoch + 1 - start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("ids")
    parser.add_argument("out")
    parser.add_argument("--budget", type=float, default=float("inf"), help="seconds")
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16",
                        help="of the saved weights (float32 to continue a run exactly)")
    parser.add_argument("--continue-from", type=Path, default=None,
                        help="an earlier call's OUT.npz: its best epoch's weights, history and "
                             "learning rate, training on from that epoch")
    args = parser.parse_args()
    recipe = yaml.safe_load(Path(args.recipe).read_text())
    out = Path(args.out)
    keras.utils.set_random_seed(recipe["seed"])
    data = np.load(args.ids)
    training = recipe["training"]
    batch, bptt = training["batch_size"], training["bptt"]
    x, y = windows(data["train"], batch, bptt)
    vx, vy = windows(data["valid"], batch, bptt)
    model = build(recipe["model"], int(data["vocab_size"]), batch)
    model.compile(optimizer(training),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
    if training["schedule"] == "exponential":
        schedule = ScheduleExponential(training)
    else:
        schedule = keras.callbacks.ReduceLROnPlateau("val_loss", factor=training["lr_decay"],
                                                     patience=0, min_lr=1e-5)
    weights, epoch, history = [], 0, {}
    if args.continue_from:
        weights, epoch, history = load(args.continue_from)
        history = {key: values[:epoch] for key, values in history.items()}
        model.set_weights(weights)
        model.optimizer.learning_rate.assign(history["learning_rate"][-1])
    print(f"{recipe['name']}: {model.count_params()} parameters, {len(x) // batch} batches "
          f"of {batch}×{bptt}, from epoch {epoch}, backend {keras.backend.backend()}", flush=True)
    model.fit(x, y, batch_size=batch, shuffle=False, validation_data=(vx, vy),
              validation_batch_size=batch, epochs=training["epochs"], verbose=0,
              initial_epoch=epoch,
              callbacks=[ResetStates(), schedule,
                         keras.callbacks.EarlyStopping("val_loss",
                                                       patience=training["patience"]),
                         KeepBest(out, args.budget, args.dtype, history, weights, epoch)])


if __name__ == "__main__":
    main()
