"""Polyak averaging of the weights during training: the optimizer keeps an exponential moving
average of them, θ̄_t = m·θ̄_{t−1} + (1 − m)·θ_t (θ̄_1 = θ_1), which validation, the epoch
checkpoints and the shipped model use while training goes on from θ."""

from __future__ import annotations

import keras


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

    Args:
        resumed: Whether the model was loaded from an epoch checkpoint this callback wrote.
    """

    def __init__(self, resumed: bool = False):
        super().__init__(swap_on_epoch=True)
        self.resumed = resumed

    def on_train_begin(self, logs=None):
        if self.resumed:
            self._swap_variables()

    def on_epoch_end(self, epoch, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True


def averaging_callbacks(model: keras.Model, resumed: bool) -> list[keras.callbacks.Callback]:
    """``[SwapAveragedWeights(resumed)]`` when ``model``'s optimizer keeps the weights' moving
    average (``use_ema``; a resumed model's own, whatever the recipe now says), else ``[]``: a
    recipe puts it before its early stopping and checkpoint callbacks."""
    return [SwapAveragedWeights(resumed)] if getattr(model.optimizer, "use_ema", False) else []
