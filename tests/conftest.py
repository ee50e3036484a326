"""Shared test helpers."""

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from rnnzoo.data.corpora import AUSTEN_TITLES
from rnnzoo.training.checkpoints import STATE_FILE

# make mutate: a failing example ends the run at once (no shrinking), since only pass or fail counts.
settings.register_profile("mutate", phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


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


@pytest.fixture
def zoo_copy(tmp_path, monkeypatch):
    """``$RNNZOO_HOME`` holding a copy of rnn-lm; returns the copy's folder."""
    home = tmp_path / "models"
    shutil.copytree(Path(__file__).resolve().parents[1] / "saved_models" / "rnn-lm",
                    home / "rnn-lm")
    monkeypatch.setenv("RNNZOO_HOME", str(home))
    return home / "rnn-lm"


@pytest.fixture(scope="module")
def austen_dir(tmp_path_factory):
    """A data folder whose austen.txt holds six tiny novels cut from the committed slice."""
    return austen_folder(tmp_path_factory.mktemp("data"))


def austen_folder(root: Path) -> Path:
    """``root`` made a data folder whose austen.txt holds six tiny novels cut from the committed
    slice."""
    text = (Path(__file__).parent / "data" / "lm_tiny.txt").read_text()
    novels = [f"{title.title() if title == 'PERSUASION' else title}\n\n\nby\n\nJane Austen\n\n"
              f"{text[k * 500:(k + 2) * 500]}\n" for k, title in enumerate(AUSTEN_TITLES)]
    (root / "austen").mkdir(parents=True)
    (root / "austen" / "austen.txt").write_text("".join(novels))
    return root
