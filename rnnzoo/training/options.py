"""How a recipe runs, apart from what it trains: distribution strategy, mixed precision, XLA,
progress display and TensorBoard logs (the ``rnnzoo train`` / ``finetune`` flags).

- ``strategy="mirrored"``: ``tf.distribute.MirroredStrategy`` over every local device (GPUs, or
  the logical CPUs a process has split its CPU into); each batch is split between replicas.
  Each batch of a classifier, tagger or translator inside ``fit`` is cut to a multiple of the
  number of replicas (at most N - 1 examples a batch sit out that step; the data are
  reshuffled each epoch), because Keras 3's first-batch build (``_maybe_symbolic_build``)
  averages the replicas' inputs and fails when a batch splits unevenly. A language model's
  lanes are split evenly between the replicas, each carrying its own lanes' state. The final
  evaluation runs on one device over every example.
- ``strategy="multi-worker"``: ``tf.distribute.MultiWorkerMirroredStrategy``; the cluster and
  this process's place in it come from ``TF_CONFIG``. Only the chief (worker 0, or the task of
  type ``chief``) writes checkpoints and the run folder, which every worker reads when it
  resumes. :mod:`rnnzoo.training.distributed` makes Keras's ``fit`` work under it.
- ``mixed_precision``: the ``mixed_float16`` Keras policy on a GPU, ``mixed_bfloat16`` on a CPU
  (variables stay float32; the model saved at the end is float32 throughout).
- ``jit``: ``jit_compile=True`` for the train step (XLA).

TensorFlow and Keras are imported by the methods that use them, so that the CLI parses these
options (and answers ``--help``, ``list``, ``info``) without importing TensorFlow.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tensorflow as tf


STRATEGIES = ("mirrored", "multi-worker")


@dataclass(frozen=True)
class RunOptions:
    """Runtime options of a training run (see the module docstring)."""

    strategy: str | None = None
    mixed_precision: bool = False
    jit: bool = False
    verbose: int | str = 2
    tensorboard: bool = True

    def __post_init__(self):
        if self.strategy not in (None, *STRATEGIES):
            raise ValueError(f"unknown strategy {self.strategy!r}; one of {list(STRATEGIES)}")

    def distribution(self) -> tf.distribute.Strategy:
        """The tf.distribute strategy (the default one without ``strategy``), made once per
        process."""
        import tensorflow as tf

        if self.strategy is None:
            return tf.distribute.get_strategy()
        if self.strategy == "multi-worker" and "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multi-worker needs TF_CONFIG (the cluster and this "
                             "worker's task), see the README")
        return _strategy(self.strategy)

    def even_batches(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        """``dataset``'s batches cut to a multiple of the replicas in sync (see the module
        docstring); unchanged on one replica."""
        import tensorflow as tf

        replicas = self.distribution().num_replicas_in_sync
        if replicas == 1:
            return dataset

        def size(*batch):
            return tf.shape(tf.nest.flatten(batch)[0])[0] // replicas * replicas

        def cut(*batch):
            return tf.nest.map_structure(lambda t: t[: size(*batch)], batch)

        return dataset.map(cut).filter(lambda *batch: size(*batch) > 0)

    def policy(self) -> str:
        """The Keras dtype policy models are built under."""
        import tensorflow as tf

        if not self.mixed_precision:
            return "float32"
        return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"

    @contextlib.contextmanager
    def model_scope(self, strategy: tf.distribute.Strategy) -> Iterator[None]:
        """Where the trained model is built or loaded: the strategy's scope, under the policy."""
        import keras

        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.policy())
        try:
            with strategy.scope():
                yield
        finally:
            keras.config.set_dtype_policy(previous)


@functools.cache
def _strategy(name: str) -> tf.distribute.Strategy:
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief() -> bool:
    """Whether this process writes the run's files: always, except in a multi-worker cluster
    (``TF_CONFIG``), where only the chief (or worker 0 without a chief) does."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    if not task:
        return True
    has_chief = "chief" in config.get("cluster", {})
    kind, index = task.get("type"), int(task.get("index", 0))
    return kind == "chief" or (not has_chief and kind == "worker" and index == 0)
