"""tf.distribute, mixed precision and XLA for training runs (each run in a fresh process where
the CPU must first be split into logical devices)."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import austen_folder
from tiny_recipes import TINY_LM

import rnnzoo
from rnnzoo.cli import main
from rnnzoo.tasks.classifier.preprocessing import tokenize
from rnnzoo.training.checkpoints import STATE_FILE

HERE = Path(__file__).parent
NOVELS = HERE / "data" / "finetune" / "novels.jsonl"
TINY = HERE / "data" / "recipes" / "tiny-classifier.yaml"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def even_recipe(tmp_path: Path) -> Path:
    """The tiny classifier on files whose every batch splits evenly between two replicas: short
    sentences only (under 16 tokens: one length bucket), 32 to train and 16 to validate,
    batches of 8, in file order (a distributed dataset's seeded shuffle draws another order
    than the same dataset on one device)."""
    rows = [json.loads(line) for line in NOVELS.read_text().splitlines()]
    short = [r for r, tokens in zip(rows, tokenize([r["text"] for r in rows], True))
             if len(tokens) < 16][:48]
    assert len(short) == 48
    for name, part in (("train", short[:32]), ("valid", short[32:])):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    text = TINY.read_text().replace(
        "files: {train: ../finetune/novels.jsonl, valid_fraction: 0.25}",
        f"files: {{train: {tmp_path / 'train.jsonl'}, valid: {tmp_path / 'valid.jsonl'}}}")
    text = text.replace("batch_size: 16", "batch_size: 8\n  shuffle: false")
    recipe = tmp_path / "even.yaml"
    recipe.write_text(text)
    return recipe


def train_in_process(devices: int, recipe: Path, out: Path, *flags: str, env=None):
    return subprocess.run(
        [sys.executable, str(HERE / "logical_cpus.py"), str(devices), "train", str(recipe),
         "--out", str(out), "--verbose", "0", "--no-tensorboard", *flags],
        env=env or ENV, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_reaches_the_single_device_loss(tmp_path):
    recipe = even_recipe(tmp_path)
    single = train_in_process(2, recipe, tmp_path / "one")
    mirrored = train_in_process(2, recipe, tmp_path / "two", "--strategy", "mirrored")
    assert single.returncode == 0, single.stderr[-3000:]
    assert mirrored.returncode == 0, mirrored.stderr[-3000:]
    runtime = json.loads((tmp_path / "two" / "runtime.json").read_text())
    assert runtime["strategy"] == "mirrored" and runtime["replicas"] == 2
    assert json.loads((tmp_path / "one" / "runtime.json").read_text())["replicas"] == 1
    one = json.loads((tmp_path / "one" / "history.json").read_text())
    two = json.loads((tmp_path / "two" / "history.json").read_text())
    for key in ("loss", "val_loss"):  # the first epoch: later ones may drift (MULTI_WORKER.md)
        np.testing.assert_allclose(two[key][0], one[key][0], rtol=1e-5)
    assert one["loss"][-1] < one["loss"][0]


def test_even_batches_cut_each_batch_to_a_multiple_of_the_replicas(monkeypatch):
    import tensorflow as tf

    from rnnzoo.training.options import RunOptions

    options = RunOptions(strategy="mirrored")
    monkeypatch.setattr(RunOptions, "distribution",
                        lambda self: type("Two", (), {"num_replicas_in_sync": 2})())
    batches = tf.data.Dataset.from_tensor_slices(tf.range(13)).batch(5)
    pairs = batches.map(lambda x: (x, -x))
    assert [len(b) for b in options.even_batches(pairs).map(lambda x, y: x)] == [4, 4, 2]
    assert [b.numpy().tolist() for b, _ in options.even_batches(pairs)][-1] == [10, 11]
    singles = tf.data.Dataset.from_tensor_slices(tf.range(1)).batch(5).map(lambda x: (x, x))
    assert list(options.even_batches(singles)) == []


def lm_recipe(tmp_path: Path, **training) -> tuple[Path, Path]:
    """The tiny character LM (two epochs) and its Austen data folder."""
    data = austen_folder(tmp_path / "data")
    recipe = tmp_path / "lm.yaml"
    recipe.write_text(yaml.safe_dump({**TINY_LM, "training": {**TINY_LM["training"], "epochs": 2,
                                                               **training}}))
    return recipe, data


def tagger_recipe(tmp_path: Path, copies: int, epochs: int) -> tuple[Path, Path]:
    """A POS tagger without dropout on ``copies`` copies of the UD slice (5 sentences each),
    unshuffled, batches of two sentences (one length bucket): every batch splits evenly."""
    data = tmp_path / "data"
    (data / "ud_en_ewt").mkdir(parents=True)
    text = (HERE / "data" / "en_ewt_slice.conllu").read_text()
    for split in ("train", "dev", "test"):
        (data / "ud_en_ewt" / f"en_ewt-ud-{split}.conllu").write_text(
            text * copies if split == "train" else text)
    recipe = tmp_path / "pos.yaml"
    recipe.write_text(yaml.safe_dump(dict(
        name="tiny-pos", task="tagger", description="tests", seed=0,
        model=dict(word_dim=8, char_dim=4, char_hidden=4, hidden=8, dropout=0.0,
                   implementation="builtin", scheme=None),
        data={"corpus": "ud_en_ewt"}, vocabulary={},
        training=dict(epochs=epochs, batch_size=2, learning_rate=0.01, bucket_boundaries=[100],
                      eval_batch_size=4, shuffle=False, patience=5))))
    return recipe, data


def history(out: Path) -> dict:
    return json.loads((out / "history.json").read_text())


@pytest.mark.slow
def test_a_language_model_under_mirrored_on_two_logical_cpus_equals_one_device(tmp_path):
    recipe, data = lm_recipe(tmp_path)
    single = train_in_process(2, recipe, tmp_path / "one", "--data-dir", str(data))
    mirrored = train_in_process(2, recipe, tmp_path / "two", "--data-dir", str(data),
                                "--strategy", "mirrored")
    assert single.returncode == 0, single.stderr[-3000:]
    assert mirrored.returncode == 0, mirrored.stderr[-3000:]
    assert json.loads((tmp_path / "two" / "runtime.json").read_text())["replicas"] == 2
    one, two = history(tmp_path / "one"), history(tmp_path / "two")
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(two[key], one[key], rtol=1e-5)
    assert one["loss"][-1] < one["loss"][0]


def test_a_language_model_batch_must_split_evenly_between_replicas(tmp_path):
    recipe, data = lm_recipe(tmp_path, batch_size=3)
    result = train_in_process(2, recipe, tmp_path / "odd", "--data-dir", str(data),
                              "--strategy", "mirrored")
    assert result.returncode == 1
    assert "training.batch_size 3 does not split evenly between 2 replicas" in result.stderr
    assert not (tmp_path / "odd").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_workers(recipe: Path, data: Path, out: Path, *flags: str,
                  count: int = 2) -> list[subprocess.Popen]:
    """``count`` processes of ``rnnzoo train … --strategy multi-worker`` on 127.0.0.1 (one
    CPU device each), sharing ``out``; each one's stderr goes to ``out``'s sibling
    ``worker-N.log`` (:func:`log`)."""
    cluster = [f"127.0.0.1:{free_port()}" for _ in range(count)]
    processes = []
    for index in range(count):
        with open(out.parent / f"worker-{index}.log", "a") as stderr:
            processes.append(subprocess.Popen(
                [sys.executable, str(HERE / "logical_cpus.py"), "1", "train", str(recipe),
                 "--out", str(out), "--data-dir", str(data), "--verbose", "0",
                 "--no-tensorboard", "--strategy", "multi-worker", *flags],
                env={**ENV, "TF_CONFIG": json.dumps({"cluster": {"worker": cluster},
                                                     "task": {"type": "worker",
                                                              "index": index}})},
                stdout=subprocess.DEVNULL, stderr=stderr))
    return processes


def log(out: Path, index: int) -> str:
    return (out.parent / f"worker-{index}.log").read_text()


@contextlib.contextmanager
def cleaned_up(processes: list[subprocess.Popen]):
    """Every process killed on the way out, whatever happened."""
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def finished(processes: list[subprocess.Popen], out: Path, timeout: float = 600) -> None:
    for index, process in enumerate(processes):
        assert process.wait(timeout=timeout) == 0, log(out, index)[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("task", ["tagger", "language_model"])
def test_two_workers_on_localhost_reach_the_loss_of_one_process(tmp_path, task):
    if task == "tagger":
        recipe, data = tagger_recipe(tmp_path, copies=2, epochs=1)
        keys = ("loss",)
    else:
        recipe, data = lm_recipe(tmp_path)
        keys = ("loss", "val_loss")
    with cleaned_up(start_workers(recipe, data, tmp_path / "shared")) as workers:
        single = train_in_process(1, recipe, tmp_path / "one", "--data-dir", str(data))
        assert single.returncode == 0, single.stderr[-3000:]
        finished(workers, tmp_path / "shared")
    chief = tmp_path / "shared"
    assert json.loads((chief / "runtime.json").read_text())["replicas"] == 2
    for key in keys:
        np.testing.assert_allclose(history(chief)[key], history(tmp_path / "one")[key],
                                   rtol=1e-4)
    assert rnnzoo.load(chief).config["name"] == yaml.safe_load(recipe.read_text())["name"]


@pytest.mark.slow
def test_a_worker_killed_in_epoch_2_is_recovered_by_restarting_both(tmp_path):
    recipe, data = tagger_recipe(tmp_path, copies=4, epochs=3)
    out = tmp_path / "shared"
    state = out / "checkpoints" / STATE_FILE
    with cleaned_up(start_workers(recipe, data, out, "--restartable")) as workers:
        deadline = time.monotonic() + 600
        while not (state.is_file() and json.loads(state.read_text())["epochs_done"] >= 1):
            assert time.monotonic() < deadline and workers[0].poll() is None, "no epoch ended"
            time.sleep(0.01)
        workers[1].send_signal(signal.SIGKILL)
        try:
            assert workers[0].wait(timeout=120) != 0
            # aborted in the collective, eagerly ("[Op:CollectiveReduceV2]") or inside the
            # step function ("{{node CollectiveReduceV2}}"): its peer is gone
            assert re.search(r"\[Op:CollectiveReduceV2\]|\{\{node CollectiveReduceV2\}\}",
                             log(out, 0))
        except subprocess.TimeoutExpired:
            pass  # the chief waits on the dead worker: it is killed on the way out
    first = json.loads(state.read_text())
    assert first["epochs_done"] == 1 and (out / "checkpoints" / first["model"]).is_file()
    with cleaned_up(start_workers(recipe, data, out, "--restartable")) as workers:
        finished(workers, out)
    done = history(out)
    assert len(done["loss"]) == 3 and done["loss"][0] == first["history"]["loss"][0]
    assert json.loads(state.read_text())["epochs_done"] == 3


@pytest.mark.slow
def test_mixed_precision_and_jit_train_to_the_float32_loss(tmp_path):
    def train(name, *flags):
        result = CliRunner().invoke(main, ["train", str(TINY), "--out", str(tmp_path / name),
                                           "--verbose", "0", "--no-tensorboard", *flags])
        assert result.exit_code == 0, result.output
        return (json.loads((tmp_path / name / "runtime.json").read_text()),
                json.loads((tmp_path / name / "history.json").read_text())["loss"])

    _, plain = train("plain")
    runtime, mixed = train("mixed", "--mixed-precision")
    assert runtime["dtype_policy"] == "mixed_bfloat16"
    np.testing.assert_allclose(mixed, plain, rtol=2e-2)
    runtime, jit = train("jit", "--jit")
    assert runtime["jit"] and runtime["dtype_policy"] == "float32"
    np.testing.assert_allclose(jit, plain, rtol=1e-3)

    checkpoint = keras.saving.load_model(
        tmp_path / "mixed" / "checkpoints" / "checkpoint-2.keras", safe_mode=True)
    final = keras.saving.load_model(tmp_path / "mixed" / "model.keras", safe_mode=True)
    assert {layer.dtype_policy.name for layer in checkpoint.layers if layer.weights} == {
        "mixed_bfloat16"}
    assert {layer.dtype_policy.name for layer in final.layers} == {"float32"}


def test_multi_worker_needs_tf_config(monkeypatch):
    from rnnzoo.training.options import RunOptions

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="--strategy multi-worker needs TF_CONFIG"):
        RunOptions(strategy="multi-worker").distribution()
    with pytest.raises(ValueError, match="unknown strategy 'ring'"):
        RunOptions(strategy="ring")
