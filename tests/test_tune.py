"""rnnzoo tune: keras-tuner over a recipe's tune section, in one process and as a chief with a
worker on 127.0.0.1; the best configuration trains."""

import os
import socket
import subprocess
import sys
import time

import pytest
import yaml
from click.testing import CliRunner
from test_cli import ROOT, example

from rnnzoo.cli import main
from rnnzoo.training.config import ConfigError
from rnnzoo.zoo.tuning import tune_section

TINY = ROOT / "tests" / "data" / "recipes" / "tiny-classifier.yaml"


@pytest.mark.slow
def test_the_help_example_tunes_and_its_best_config_trains(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = [a.replace("/tmp/", f"{tmp_path}/") for a in example(["tune"])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = tmp_path / "rnnzoo-tune"
    table = (out / "trials.md").read_text().splitlines()
    assert table[0] == "| trial | model.hidden | training.learning_rate | status | valid_accuracy |"
    assert len(table) == 4 and sum("(best)" in row for row in table) == 1
    assert all("COMPLETED" in row for row in table[2:])
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert "tune" not in best and best["model"]["hidden"] in (8, 16)
    assert 0.001 <= best["training"]["learning_rate"] <= 0.02
    trained = CliRunner().invoke(main, ["train", str(out / "best.yaml"), "--out",
                                        str(tmp_path / "best"), "--verbose", "0"])
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "best" / "model.keras").is_file()

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1
    assert "holds a tuning run already: pass --resume" in again.output


@pytest.mark.parametrize("change, message", [
    ({"tuner": "grid"}, "tune.tuner: must be one of"),
    ({"space": {}}, "tune.space: must declare at least one hyperparameter"),
    ({"space": {"hidden": {"choice": [8]}}}, "keys are SECTION.KEY"),
    ({"space": {"model.hidden": {"int": [8]}}}, "int takes [low, high]"),
    ({"space": {"model.hidden": {"int": [8, 16], "choice": [8]}}}, "exactly one of"),
    ({"objective": {"metric": "accuracy"}}, "tune.objective.direction: required key"),
])
def test_bad_tune_sections_name_the_key(change, message):
    recipe = yaml.safe_load(TINY.read_text())
    recipe["tune"] = {**recipe["tune"], **change}
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        tune_section(recipe)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_distributed_tuning_with_a_chief_and_a_worker_on_localhost(tmp_path):
    out = tmp_path / "tune"
    port = str(free_port())
    command = [sys.executable, "-c", "from rnnzoo.cli import main; main()", "tune", str(TINY),
               "--out", str(out), "--verbose", "0", "--no-tensorboard"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": port}
    def start(tuner_id):
        log = open(tmp_path / f"{tuner_id}.log", "w")
        return subprocess.Popen(command, env={**env, "KERASTUNER_TUNER_ID": tuner_id},
                                stdout=log, stderr=subprocess.STDOUT, text=True)

    worker = start("tuner0")
    time.sleep(3)
    chief = start("chief")
    deadline = time.monotonic() + 600
    while worker.poll() is None and chief.poll() in (None, 0) and time.monotonic() < deadline:
        time.sleep(0.5)
    if worker.poll() is None:
        worker.kill()
    worker.wait()
    chief.wait(timeout=120)
    chief_log, worker_log = ((tmp_path / f"{i}.log").read_text() for i in ("chief", "tuner0"))
    assert chief.returncode == 0, chief_log[-3000:]
    assert worker.returncode == 0, worker_log[-3000:]
    table = (out / "trials.md").read_text().splitlines()
    assert len(table) == 4 and all("COMPLETED" in row for row in table[2:])
    assert "best configuration:" in chief_log and "best configuration:" not in worker_log
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["0", "1"]
    assert (out / "best.yaml").is_file()


@pytest.mark.parametrize("kind, tuner_class", [("random", "RandomSearch"),
                                               ("hyperband", "Hyperband"),
                                               ("bayesian", "BayesianOptimization")])
def test_each_tuner_is_built_over_the_declared_space(tmp_path, kind, tuner_class):
    import keras_tuner as kt

    from rnnzoo.training.options import RunOptions
    from rnnzoo.zoo.tuning import RecipeTuner

    recipe = yaml.safe_load(TINY.read_text())
    recipe["data"]["files"]["train"] = str(ROOT / "tests" / "data" / "finetune" / "novels.jsonl")
    recipe["tune"] = {**recipe["tune"], "tuner": kind, "max_epochs": 4}
    tuner = RecipeTuner(recipe, None, tmp_path, RunOptions()).build(resume=False)
    assert isinstance(tuner, getattr(kt, tuner_class))
    assert tuner.oracle.objective.name == "valid_accuracy"
    assert tuner.oracle.objective.direction == "max"
    assert sorted(hp.name for hp in tuner.oracle.hyperparameters.space) == [
        "model.hidden", "training.learning_rate"]
    if kind == "hyperband":
        assert tuner.oracle.max_epochs == 4
