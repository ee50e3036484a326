"""tools/device: a recipe trained by the stand-alone ``train_lm.py`` (any Keras backend) and
brought back by ``import_lm.py`` is the run ``rnnzoo`` would have made of those weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from rnnzoo.data.text import lm_windows
from rnnzoo.saving import load_keras
from rnnzoo.tasks.language_model import model as language_model
from rnnzoo.tasks.language_model.recipe import TRAINING_SCHEMA
from rnnzoo.training.config import dump_yaml, validate

TOOLS = Path(__file__).resolve().parents[1] / "tools" / "device"
sys.path.insert(0, str(TOOLS))

import train_lm  # noqa: E402

RECIPE = {
    "name": "tiny-gru", "task": "language_model", "description": "tiny", "seed": 0,
    "model": {"level": "char", "cell": "gru", "implementation": "explicit", "embedding_dim": 8,
              "hidden": 12, "num_layers": 2, "dropout": 0.1, "input_dropout": 0.1,
              "tie_weights": False},
    "data": {"corpus": "austen", "test": "PERSUASION", "valid_fraction": 0.2},
    "training": {"batch_size": 4, "bptt": 10, "epochs": 2, "learning_rate": 0.01,
                 "clipnorm": 1.0, "eval_bptt": 50},
}


@pytest.mark.parametrize("batch, bptt", [(1, 1), (3, 7), (4, 10)])
def test_windows_are_rnnzoos_lm_windows(batch, bptt):
    ids = np.arange(1, 200)
    x, y = train_lm.windows(ids, batch, bptt)
    expected = list(lm_windows(ids, batch, bptt).as_numpy_iterator())
    assert len(x) == batch * len(expected)
    for k, (ex, ey) in enumerate(expected):
        np.testing.assert_array_equal(x[k * batch:(k + 1) * batch], ex)
        np.testing.assert_array_equal(y[k * batch:(k + 1) * batch], ey)


def test_windows_of_a_short_stream_are_an_error():
    with pytest.raises(ValueError, match="too short for batch_size=4, bptt=10"):
        train_lm.windows(np.arange(1, 40), 4, 10)


def test_saved_chunks_come_back_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(train_lm, "CHUNK_BYTES", 100)
    weights = [np.full((3, 5), i, dtype="float16") for i in range(12)]
    train_lm.save(tmp_path / "out", weights, 7, {"val_loss": [2.0, 1.5]})
    assert (tmp_path / "out-1.npz").is_file() and not list(tmp_path.glob(".*"))
    back, epoch, history = train_lm.load(tmp_path / "out.npz")
    assert epoch == 7 and history == {"val_loss": [2.0, 1.5]}
    assert [int(w[0, 0]) for w in back] == list(range(12))
    assert all(w.dtype == np.float32 for w in back)


@pytest.mark.slow
@pytest.mark.parametrize("tied", [False, True])
def test_trained_elsewhere_then_imported_is_the_same_model(tmp_path, austen_dir, tied):
    recipe = {**RECIPE, "model": {**RECIPE["model"], "tie_weights": tied}}
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(dump_yaml(recipe))
    subprocess.run([sys.executable, str(TOOLS / "prepare_lm.py"), str(recipe_file),
                    str(tmp_path / "prepared"), "--data-dir", str(austen_dir)],
                   check=True, capture_output=True)
    prepared = yaml.safe_load((tmp_path / "prepared" / "recipe.yaml").read_text())
    assert prepared["training"]["optimizer"] == "adam" and "optimizer" not in recipe["training"]
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, str(TOOLS / "train_lm.py"),
                           str(tmp_path / "prepared" / "recipe.yaml"),
                           str(tmp_path / "prepared" / "ids.npz"), str(tmp_path / "out")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "epoch 2:" in done.stdout
    subprocess.run([sys.executable, str(TOOLS / "import_lm.py"), str(recipe_file),
                    str(tmp_path / "out.npz"), str(tmp_path / "prepared" / "vocab.txt"),
                    str(tmp_path / "run"), "--data-dir", str(austen_dir)],
                   check=True, capture_output=True)
    run = tmp_path / "run"
    weights, _, history = train_lm.load(tmp_path / "out.npz")
    assert json.loads((run / "history.json").read_text()) == history
    assert len(history["val_loss"]) == 2
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics) == {"valid", "test"}

    builtin = train_lm.build(prepared["model"], len(weights[0]), 1)
    builtin.set_weights(weights)
    ids = np.load(tmp_path / "prepared" / "ids.npz")["test"][None, :60].astype("int32")
    imported = load_keras(run / "model.keras")
    assert type(imported.get_layer("rnn_0")).__module__ == "rnnzoo.layers.recurrent"
    assert type(imported.get_layer("embedding")).__name__ == ("TiedEmbedding" if tied
                                                              else "Embedding")
    np.testing.assert_allclose(imported(ids), builtin(ids), atol=1e-5)


def test_import_never_writes_over_a_run(tmp_path):
    (tmp_path / "run").mkdir()
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(dump_yaml(RECIPE))
    done = subprocess.run([sys.executable, str(TOOLS / "import_lm.py"), str(recipe_file),
                           str(tmp_path / "out.npz"), str(tmp_path / "vocab.txt"),
                           str(tmp_path / "run")], capture_output=True, text=True)
    assert done.returncode == 1 and "exists: choose another run folder" in done.stderr


@pytest.mark.slow
def test_a_run_continues_from_an_earlier_calls_best_epoch(tmp_path):
    rng = np.random.default_rng(0)
    ids = tmp_path / "ids.npz"
    np.savez(ids, vocab_size=9, train=rng.integers(1, 9, 2000), valid=rng.integers(1, 9, 500))
    recipe = {"name": "tiny", "seed": 0,
              "model": validate({**RECIPE["model"], "tie_weights": True, "vocab_size": 9},
                                language_model.SCHEMA, "model"),
              "training": validate({"batch_size": 4, "bptt": 10, "epochs": 1,
                                    "learning_rate": 0.01, "clipnorm": 1.0}, TRAINING_SCHEMA,
                                   "training")}
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(dump_yaml(recipe))
    second.write_text(dump_yaml({**recipe, "training": {**recipe["training"], "epochs": 3}}))
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}

    def run(*args):
        return subprocess.run([sys.executable, str(TOOLS / "train_lm.py"), *map(str, args)],
                              env=env, capture_output=True, text=True)

    done = run(first, ids, tmp_path / "a", "--dtype", "float32")
    assert done.returncode == 0, done.stderr[-2000:]
    done = run(second, ids, tmp_path / "b", "--continue-from", tmp_path / "a.npz")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "from epoch 1," in done.stdout and "epoch 3:" in done.stdout
    assert "epoch 1:" not in done.stdout
    _, _, before = train_lm.load(tmp_path / "a.npz")
    _, epoch, after = train_lm.load(tmp_path / "b.npz")
    assert len(after["val_loss"]) == 3 and after["val_loss"][0] == before["val_loss"][0]
    assert epoch == int(np.argmin(after["val_loss"])) + 1
