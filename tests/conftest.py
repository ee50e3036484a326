"""Shared test helpers."""

import json
import shutil

import pytest

from rnnzoo.training.checkpoints import STATE_FILE


@pytest.fixture
def resume_marked(tmp_path):
    """``resume_marked(run, train, recipe, data_dir)``: copies a finished one-epoch run, marks
    its checkpoint's history, trains it on to two epochs with ``resume=True`` and returns the
    run's final history and checkpoint state (the marker proves the checkpoint was read)."""

    def resume(run, train, recipe, data_dir):
        copy = tmp_path / "resumed"
        shutil.copytree(run, copy)
        state_file = copy / "checkpoints" / STATE_FILE
        state = json.loads(state_file.read_text())
        state["history"]["marker"] = [42.0]
        state_file.write_text(json.dumps(state))
        train({**recipe, "training": {**recipe["training"], "epochs": 2}}, str(data_dir), copy,
              resume=True)
        return (json.loads((copy / "history.json").read_text()),
                json.loads(state_file.read_text()))

    return resume
