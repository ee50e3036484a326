"""One contract every task's runs keep (as flair's ``BaseModelTest`` or keras-hub's
``run_task_test``): a test module subclasses :class:`TaskContract` as ``Test…Contract``, sets
the recipe and the questions, and provides the fixtures ``run`` (``(run folder, metrics)`` of a
one-epoch training run of ``RECIPE``) and ``data_dir``; ``resume_marked`` is tests/conftest.py's."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

import rnnzoo
from rnnzoo.tasks.registry import get_task

RUN_FILES = {"model.keras", "config.yaml", "metrics.json", "history.json", "runtime.json",
             "checkpoints"}


class TaskContract:
    RECIPE: dict = {}
    OWN_FILES: set[str] = set()
    """The task's own files in a run folder (its vocabularies, labels)."""

    def in_process(self, model) -> list:
        """The loaded model's answers to the module's questions."""
        raise NotImplementedError

    def served(self, signatures) -> list:
        """The same answers from the exported SavedModel's signatures."""
        raise NotImplementedError

    @property
    def recipe_module(self):
        return get_task(self.RECIPE["task"]).recipe()

    def test_run_folder_holds_the_model_its_vocabularies_and_records(self, run):
        out, metrics = run
        assert RUN_FILES | self.OWN_FILES <= {p.name for p in out.iterdir()}
        assert json.loads((out / "metrics.json").read_text()) == metrics
        assert set(metrics) == {"valid", "test"}
        history = json.loads((out / "history.json").read_text())
        assert len(history["loss"]) == self.RECIPE["training"]["epochs"]

    def test_evaluate_reproduces_metrics_json(self, run, data_dir):
        out, metrics = run
        for split in ("valid", "test"):
            assert self.recipe_module.evaluate(out, str(data_dir), split) == metrics[split]

    def test_resume_goes_on_from_the_last_checkpoint(self, run, data_dir, resume_marked):
        out, _ = run
        history, state = resume_marked(out, self.recipe_module.train, self.RECIPE, data_dir)
        assert state["epochs_done"] == 2
        assert history["marker"] == [42.0] and len(history["loss"]) == 2
        assert history["loss"][0] == json.loads((out / "history.json").read_text())["loss"][0]

    def test_never_trains_over_an_existing_run(self, run, data_dir):
        out, _ = run
        before = (out / "model.keras").read_bytes()
        with pytest.raises(FileExistsError, match="holds a training run already"):
            self.recipe_module.train(self.RECIPE, str(data_dir), out)
        assert (out / "model.keras").read_bytes() == before

    def test_loads_and_answers(self, run):
        answers = self.in_process(rnnzoo.load(run[0]))
        assert answers and all(a is not None for a in answers)

    def test_export_answers_as_in_process(self, run, tmp_path):
        model = rnnzoo.load(run[0])
        loaded = tf.saved_model.load(str(model.export(tmp_path / "serving")))
        served, local = self.served(loaded.signatures), self.in_process(model)
        assert len(served) == len(local)
        for got, want in zip(served, local):
            if isinstance(want, float):
                np.testing.assert_allclose(got, want, rtol=1e-4)
            else:
                assert got == want
