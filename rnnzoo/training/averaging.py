"""Polyak averaging of the weights during training: the optimizer keeps an exponential moving
average of them, θ̄_t = m·θ̄_{t−1} + (1 − m)·θ_t (θ̄_1 = θ_1), which validation, the epoch
checkpoints and the shipped model use while training goes on from θ."""

from __future__ import annotations

import keras

from rnnzoo.training.config import ConfigError, Field

AVERAGE_MOMENTUM = Field(
    float, default=None, nullable=True, low=0.0, high=1.0, high_open=True,
    doc="Polyak averaging (averaged SGD with the SGD optimizer, Merity et al. 2018, as an "
        "exponential average): the weights' moving average θ̄ ← m·θ̄ + (1 − m)·θ after each "
        "step, with this momentum m (e.g. 0.99), is what validation, early stopping, the "
        "checkpoints and the trained model use (from `average_start` on); null: none")
AVERAGE_START = Field(
    int, default=0, low=0,
    doc="the first epoch (from 0) whose steps are averaged (averaging switched on once "
        "training has converged); before it, validation and the checkpoints see the weights "
        "themselves; needs `average_momentum`")
"""The ``training`` keys of averaging, the same in every task's recipe."""


def check_averaging(training: dict) -> None:
    """A ConfigError when ``training.average_start`` is set without ``average_momentum``."""
    if training["average_start"] and training["average_momentum"] is None:
        raise ConfigError("training.average_start: nothing is averaged without "
                          "training.average_momentum")


class SwapAveragedWeights(keras.callbacks.SwapEMAWeights):
    """Keras's ``SwapEMAWeights(swap_on_epoch=True)`` that also resumes.

    Validation runs on the average, and at each epoch's end the average is swapped into the
    model (the training weights into the optimizer's average slots) before the checkpoint
    callbacks that follow it save the epoch: a checkpoint's model weights and best weights are
    the average, its optimizer state holds θ. A run resumed from such a checkpoint
    (``resumed``) swaps them back before its first step, so that it trains on from θ with θ̄
    averaging on, as an uninterrupted run does. Unlike Keras's callback, the last epoch's
    checkpoint keeps θ too (so that a run can go on for more epochs); the model left in memory
    after ``fit`` then holds θ (Keras's ``finalize_variable_values``), and the averaged weights
    are the checkpoints'.

    Averaging may start at a later epoch (``start``, as averaged SGD is switched on once plain
    SGD has converged, Merity et al. 2018): before it, the average is restarted from the
    weights (θ̄ ← θ) whenever it would be used, so that validation and checkpoints see θ, and
    epoch ``start`` averages from the weights the epoch before it ended with.

    Args:
        resumed: Whether the model was loaded from an epoch checkpoint this callback wrote.
        start: The first epoch (from 0) whose steps are averaged.
    """

    def __init__(self, resumed: bool = False, start: int = 0):
        super().__init__(swap_on_epoch=True)
        self.resumed = resumed
        self.start = start
        self._epoch = 0

    def on_train_begin(self, logs=None):
        if self.resumed:
            self._swap_variables()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        super().on_epoch_begin(epoch, logs)

    def _restart_before_start(self):
        if self._epoch < self.start and not self._ema_weights_in_model:
            self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        self._restart_before_start()
        super().on_test_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._restart_before_start()
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True


def averaging_callbacks(model: keras.Model, resumed: bool,
                        start: int = 0) -> list[keras.callbacks.Callback]:
    """``[SwapAveragedWeights(resumed, start)]`` when ``model``'s optimizer (or the one a
    mixed-precision loss-scale optimizer wraps) keeps the weights' moving average (``use_ema``;
    a resumed model's own, whatever the recipe now says), else ``[]``: a recipe puts it before
    its early stopping and checkpoint callbacks."""
    trained = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    if not getattr(trained, "use_ema", False):
        return []
    return [SwapAveragedWeights(resumed, start)]
