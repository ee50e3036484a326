"""tf.distribute, mixed precision and XLA for training runs (each run in a fresh process where
the CPU must first be split into logical devices)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from rnnzoo.cli import main
from rnnzoo.tasks.classifier.preprocessing import tokenize

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
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(two[key], one[key], rtol=1e-5)
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


def test_language_models_refuse_a_strategy(tmp_path):
    chapter = HERE / "data" / "finetune" / "persuasion_ch1.txt"
    result = CliRunner().invoke(main, ["finetune", "rnn-lm", "--data", str(chapter), "--out",
                                       str(tmp_path / "ft"), "--strategy", "mirrored"])
    assert result.exit_code == 1
    assert "state carried across batches" in result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MultiWorkerFailure(Exception):
    """Keras 3's fit under MultiWorkerMirroredStrategy failed the known way."""


KNOWN_FAILURE = "Attempt to convert a value (PerReplica:"


@pytest.mark.xfail(raises=MultiWorkerFailure, strict=True, reason=(
    "Keras 3.15 (TensorFlow backend): fit() under MultiWorkerMirroredStrategy calls "
    "Trainer._maybe_symbolic_build, which averages the first input batch across replicas with "
    "strategy.reduce('MEAN', ...); CollectiveAllReduceStrategy cannot convert the PerReplica "
    "batch and raises ValueError: Attempt to convert a value (PerReplica:{...}) with an "
    "unsupported type to a Tensor"))
def test_multi_worker_training_with_two_processes_on_localhost(tmp_path):
    recipe = even_recipe(tmp_path)
    workers = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(subprocess.Popen(
            [sys.executable, str(HERE / "logical_cpus.py"), "1", "train", str(recipe), "--out",
             str(tmp_path / f"worker{index}"), "--verbose", "0", "--no-tensorboard",
             "--strategy", "multi-worker"],
            env={**ENV, "TF_CONFIG": json.dumps(config)}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    results = [(p.wait(timeout=600), p.stderr.read()) for p in processes]
    for code, stderr in results:
        if code != 0 and KNOWN_FAILURE in stderr:
            raise MultiWorkerFailure(stderr[-1500:])
        assert code == 0, stderr[-3000:]
    chief = tmp_path / "worker0"
    assert json.loads((chief / "runtime.json").read_text())["replicas"] == 2
    assert (chief / "model.keras").is_file()
    assert not (tmp_path / "worker1" / "model.keras").exists()


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
