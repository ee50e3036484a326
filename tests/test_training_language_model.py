"""The language-model recipe keeps the task contract (tests/task_contract.py) on a one-epoch
character GRU of the tiny Austen fixture."""

import json

import numpy as np
import pytest
import tensorflow as tf
from task_contract import TaskContract
from tiny_recipes import TINY_LM

from rnnzoo.saving import load_keras
from rnnzoo.tasks.language_model import recipe
from rnnzoo.training.config import ConfigError

TEXTS = ["It is a truth", "Emma", ""]


@pytest.fixture(scope="module")
def run(austen_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return out, recipe.train(TINY_LM, str(austen_dir), out)


class TestLanguageModelContract(TaskContract):
    RECIPE = TINY_LM
    OWN_FILES = {"vocab.txt"}

    @pytest.fixture
    def data_dir(self, austen_dir):
        return austen_dir

    def in_process(self, model):
        return [model.log_likelihood(text)[0] for text in TEXTS]

    def served(self, signatures):
        out = signatures["score"](texts=tf.constant(TEXTS))
        return out["log_likelihood"].numpy().tolist()


def _averaged(momentum, epochs=2, start=0) -> dict:
    return {**TINY_LM, "training": {**TINY_LM["training"], "epochs": epochs,
                                    "average_momentum": momentum, "average_start": start}}


def _trained(lm_recipe, data_dir, out, resume=False):
    recipe.train(lm_recipe, str(data_dir), out, resume=resume)
    history = json.loads((out / "history.json").read_text())
    return history, load_keras(out / "model.keras").get_weights()


@pytest.mark.parametrize("momentum, start", [(None, 0), (0.9, 0), (0.9, 1), (0.9, 2)])
def test_an_averaged_language_model_resumed_trains_on_as_an_uninterrupted_one(
        austen_dir, tmp_path, momentum, start):
    whole, whole_weights = _trained(_averaged(momentum, start=start), austen_dir,
                                    tmp_path / "whole")
    _trained(_averaged(momentum, epochs=1, start=start), austen_dir, tmp_path / "parts")
    parts, parts_weights = _trained(_averaged(momentum, start=start), austen_dir,
                                    tmp_path / "parts", resume=True)
    np.testing.assert_allclose(parts["val_loss"], whole["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(parts["loss"], whole["loss"], rtol=1e-5)
    for got, want in zip(parts_weights, whole_weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_averaging_a_language_model_changes_what_is_validated_never_what_is_trained(
        austen_dir, tmp_path):
    plain, _ = _trained(_averaged(None), austen_dir, tmp_path / "plain")
    averaged, _ = _trained(_averaged(0.9), austen_dir, tmp_path / "averaged")
    np.testing.assert_allclose(averaged["loss"], plain["loss"], rtol=1e-5)
    assert all(abs(a - p) > 1e-4 for a, p in zip(averaged["val_loss"], plain["val_loss"]))


def test_averaging_from_a_later_epoch_starts_from_the_weights_the_epoch_before_ended_with(
        austen_dir, tmp_path):
    plain, _ = _trained(_averaged(None), austen_dir, tmp_path / "plain")
    from_start, _ = _trained(_averaged(0.999), austen_dir, tmp_path / "from_start")
    later, _ = _trained(_averaged(0.999, start=1), austen_dir, tmp_path / "later")
    np.testing.assert_allclose(later["loss"], plain["loss"], rtol=1e-5)
    np.testing.assert_allclose(later["val_loss"][0], plain["val_loss"][0], rtol=1e-5)
    assert abs(later["val_loss"][1] - plain["val_loss"][1]) > 1e-4
    # At momentum 0.999 an average of one epoch's steps stays near where it started: the
    # weights epoch 0 ended with, not the first step's, which an average from epoch 0 keeps.
    assert abs(later["val_loss"][1] - plain["val_loss"][0]) < 0.02 * plain["val_loss"][0]
    assert from_start["val_loss"][1] > later["val_loss"][1] + 0.1


@pytest.mark.parametrize("change, message", [
    ({"average_start": 1}, "training.average_start: nothing is averaged without "
                           "training.average_momentum"),
    ({"decay_end": 3}, "training.decay_end: only the exponential schedule has an end, not "
                       "'plateau'"),
])
def test_schedule_keys_that_mean_nothing_beside_the_others_are_refused(
        austen_dir, tmp_path, change, message):
    bad = {**TINY_LM, "training": {**TINY_LM["training"], **change}}
    with pytest.raises(ConfigError, match=message):
        recipe.train(bad, str(austen_dir), tmp_path / "run")
