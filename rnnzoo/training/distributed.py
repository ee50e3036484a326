"""Keras 3's ``fit`` under ``tf.distribute.MultiWorkerMirroredStrategy``: two workarounds.

Keras 3.15.1 (TensorFlow backend) cannot ``fit`` a model under a multi-worker strategy; both
faults are in ``keras/src/backend/tensorflow/trainer.py`` (docs/MULTI_WORKER.md has the
minimal reproduction):

1. ``_maybe_symbolic_build`` takes the first distributed batch and averages it across replicas
   with ``strategy.reduce("MEAN", batch, axis=None)`` only to learn its shapes;
   ``CollectiveAllReduceStrategy`` refuses to reduce a ``PerReplica`` batch (``ValueError:
   Attempt to convert a value (PerReplica:…) with an unsupported type to a Tensor``).
   :func:`prepare` builds from one local replica's batch instead (shapes and dtypes are all the
   symbolic build reads).
2. ``reduce_per_replica`` reduces each output of the train and test steps with
   ``strategy.reduce("MEAN", value, axis=0)`` under a multi-worker strategy, but those outputs
   are scalars (the metrics' results): ``Invalid reduction dimension 0 for input with 0
   dimensions``. :func:`prepare` gives each result a leading axis of one, so the mean over that
   axis and the replicas is the mean of the replicas' results, as on one worker.

Both are set on the model object itself (no Keras code is patched), and only under a
multi-worker strategy.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf
from keras.src.utils import tracking


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether ``strategy`` is a multi-worker (collective all-reduce) strategy."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def prepare(model: keras.Model, strategy: tf.distribute.Strategy) -> keras.Model:
    """``model`` made to ``fit`` and ``evaluate`` under ``strategy``: its stateful layers'
    states kept per replica (:func:`per_replica_states`) when there are several replicas, and
    under a multi-worker strategy the two workarounds of the module docstring."""
    if strategy.num_replicas_in_sync > 1:
        per_replica_states(model, strategy)
        if model.optimizer is not None:
            clip_after_all_reduce(model.optimizer)
    if is_multi_worker(strategy):
        model._maybe_symbolic_build = _local_build(model, strategy)
        model.train_step = _with_batch_axis(model.train_step)
        model.test_step = _with_batch_axis(model.test_step)
    return model


def per_replica_states(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Each stateful recurrent layer's carried states made per replica: variables synchronised
    on read (``tf.VariableSynchronization.ON_READ``), so that each replica carries the state of
    its own lanes from one batch to the next (a language model's truncated BPTT) instead of
    one state mirrored across replicas. A reset (a cross-replica assignment) zeroes every
    replica's copy. The states are not weights: they are neither saved nor restored."""
    for layer in model._flatten_layers():
        if getattr(layer, "stateful", False) and getattr(layer, "states", None) is not None:
            _replace_states(layer, strategy)


@tracking.no_automatic_dependency_tracking
def _replace_states(layer: keras.layers.Layer, strategy: tf.distribute.Strategy) -> None:
    with strategy.scope():
        layer.states = [keras.Variable(keras.ops.zeros(state.shape, state.dtype),
                                       trainable=False, dtype=state.dtype, name="rnn_state",
                                       synchronization="on_read",
                                       aggregation="only_first_replica")
                        for state in layer.states]


def clip_after_all_reduce(optimizer: keras.optimizers.Optimizer) -> None:
    """``optimizer``'s gradient clipping (``clipnorm``, ``global_clipnorm``, ``clipvalue``)
    applied to the gradient summed over the replicas, as on one device. Keras 3 clips each
    replica's share of the gradient before the sum (``BaseOptimizer.apply`` then
    ``_backend_update_step``), which makes the update depend on the number of replicas. An
    optimizer already changed is left as it is (two models may share one)."""
    if getattr(optimizer, "_clips_after_all_reduce", False):
        return
    optimizer._clips_after_all_reduce = True
    clip, all_reduce = optimizer._clip_gradients, optimizer._all_reduce_sum_gradients

    def reduce_then_clip(grads_and_vars):
        summed = all_reduce(grads_and_vars)
        grads = clip([grad for grad, _ in summed])
        return list(zip(grads, [variable for _, variable in summed]))

    optimizer._clip_gradients = lambda grads: grads
    optimizer._all_reduce_sum_gradients = reduce_then_clip


def _local_build(model: keras.Model, strategy: tf.distribute.Strategy) -> Callable:
    """Keras's first-batch build, from this worker's first replica's batch."""

    def build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda value: strategy.experimental_local_results(value)[0], next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    return build


def _with_batch_axis(step: Callable[[object], dict]) -> Callable[[object], dict]:
    """``step`` whose results each have a leading axis of one."""

    def with_axis(data):
        return {name: tf.expand_dims(value, 0) for name, value in step(data).items()}

    return with_axis
