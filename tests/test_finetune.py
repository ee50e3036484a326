"""Fine-tuning zoo models on small committed files: the run folder works like a zoo model,
perplexity drops, vocabularies are kept or extended, and a killed run resumes."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner

import rnnzoo
from rnnzoo.cli import main
from rnnzoo.training.runs import copy_weights
from rnnzoo.zoo.registry import resolve

DATA = Path(__file__).parent / "data" / "finetune"
CHAPTER = DATA / "persuasion_ch1.txt"
NOVELS = DATA / "novels.jsonl"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def evaluate_json(model, data):
    result = run("evaluate", model, "--data", data, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.slow
def test_finetuned_gru_lm_lowers_perplexity_and_loads_evaluates_and_exports(tmp_path):
    out = tmp_path / "ft"
    result = run("finetune", "gru-lm", "--data", CHAPTER, "--out", out, "--epochs", 1,
                 "--batch-size", 8, "--set", "training.bptt=50", "--verbose", 0)
    assert result.exit_code == 0, result.output

    before = evaluate_json("gru-lm", CHAPTER)
    after = evaluate_json(str(out), CHAPTER)
    assert after["tokens"] == before["tokens"] == len(CHAPTER.read_text()) - 1
    assert after["perplexity"] < before["perplexity"]
    assert after["bits_per_char"] < before["bits_per_char"]

    model = rnnzoo.load(out)
    text = model.generate("Sir Walter", max_tokens=30, seed=0)
    assert isinstance(text, str) and len(text) == 30
    assert (out / "vocab.txt").read_text() == (resolve("gru-lm") / "vocab.txt").read_text()

    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == len(history["val_loss"]) == 1
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "logs").rglob("*"))
    export = model.export(tmp_path / "serving", version=1)
    assert (Path(export) / "saved_model.pb").is_file()


@pytest.mark.slow
def test_finetune_keeps_the_classes_unless_extend_vocab(tmp_path):
    refused = run("finetune", "bilstm-spam", "--data", NOVELS, "--out", tmp_path / "a",
                  "--epochs", 1, "--verbose", 0)
    assert refused.exit_code == 1
    assert "labels the model does not know: ['emma', 'persuasion']" in refused.output
    assert "--extend-vocab" in refused.output

    out = tmp_path / "b"
    result = run("finetune", "bilstm-spam", "--data", NOVELS, "--out", out, "--epochs", 1,
                 "--extend-vocab", "--verbose", 0)
    assert result.exit_code == 0, result.output
    assert (out / "labels.txt").read_text().split() == ["ham", "spam", "emma", "persuasion"]
    described = rnnzoo.info(out)
    assert described["description"] == f"bilstm-spam fine-tuned on {Path(NOVELS).name}."
    assert described["config"]["notes"].startswith(rnnzoo.info("bilstm-spam")["description"])
    base = (resolve("bilstm-spam") / "vocab.txt").read_text().splitlines()
    grown = (out / "vocab.txt").read_text().splitlines()
    assert grown[: len(base)] == base and len(grown) > len(base)
    assert "elliot" in grown[len(base):]
    model = rnnzoo.load(out)
    probabilities = model.probabilities(["Anne walked to Kellynch Hall."])
    assert probabilities.shape == (1, 4)
    assert np.isclose(probabilities.sum(), 1.0, atol=1e-5)


def test_copy_weights_fills_grown_vocabulary_rows_and_refuses_other_shapes():
    def model(vocab, units):
        inputs = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(vocab, 3, name="embed")(inputs)
        return keras.Model(inputs, keras.layers.Dense(units, name="out")(x))

    small, grown = model(5, 4), model(7, 4)
    fresh = keras.ops.convert_to_numpy(grown.get_layer("embed").embeddings)
    copy_weights(small, grown)
    table = keras.ops.convert_to_numpy(grown.get_layer("embed").embeddings)
    np.testing.assert_array_equal(table[:5], keras.ops.convert_to_numpy(
        small.get_layer("embed").embeddings))
    np.testing.assert_array_equal(table[5:], fresh[5:])
    with pytest.raises(ValueError, match="not the same architecture"):
        copy_weights(model(5, 6), model(5, 4))


def _checkpoint_is_whole(checkpoints: Path) -> int:
    """Epochs done by the committed checkpoint (0 if none yet); fails if the checkpoint JSON or
    the model file it names is not complete."""
    state_file = checkpoints / "checkpoint.json"
    if not state_file.exists():
        return 0
    state = json.loads(state_file.read_text())
    with zipfile.ZipFile(checkpoints / state["model"]) as archive:
        assert archive.testzip() is None
    return state["epochs_done"]


@pytest.mark.slow
def test_finetune_killed_in_the_second_epoch_resumes_and_keeps_every_epoch(tmp_path):
    out = tmp_path / "ft"
    command = [sys.executable, "-c", "from rnnzoo.cli import main; main()", "finetune", "rnn-lm",
               "--data", str(CHAPTER), "--out", str(out), "--epochs", "3", "--batch-size", "4",
               "--set", "training.bptt=50", "--verbose", "0", "--no-tensorboard"]
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _checkpoint_is_whole(out / "checkpoints") < 1:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint after 240 s"
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    done = _checkpoint_is_whole(out / "checkpoints")
    assert done in (1, 2)
    assert not (out / "model.keras").exists()

    again = run(*command[3:], "--resume")
    assert again.exit_code == 0, again.output
    state = json.loads((out / "checkpoints" / "checkpoint.json").read_text())
    assert state["epochs_done"] == 3
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == len(history["val_loss"]) == 3
    assert [p.name for p in (out / "checkpoints").glob("*.keras")] == ["checkpoint-3.keras"]
    assert len(rnnzoo.load(out).generate("Anne", max_tokens=5, seed=0)) == 5


def ctrl_c_enabled() -> None:
    """In the child: SIGINT's default action, so that Python turns it into KeyboardInterrupt
    even when the tests run in the background (which starts them with SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_in_finetune_says_which_epoch_is_saved_and_how_to_resume(tmp_path):
    out = tmp_path / "ft"
    # More epochs than it can train before the signal, and no early stopping: the run is still
    # training when Ctrl-C comes, however fast the machine.
    args = ["finetune", "rnn-lm", "--data", str(CHAPTER), "--out", str(out), "--epochs", "50",
            "--batch-size", "4", "--set", "training.bptt=50", "--set", "training.patience=50",
            "--verbose", "0", "--no-tensorboard"]
    process = subprocess.Popen([sys.executable, "-c", "from rnnzoo.cli import main; main()",
                                *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=ctrl_c_enabled)
    deadline = time.monotonic() + 240
    while _checkpoint_is_whole(out / "checkpoints") < 1:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint after 240 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    last = process.communicate(timeout=120)[1].decode().strip().splitlines()[-1]
    assert process.returncode == 130
    done = _checkpoint_is_whole(out / "checkpoints")
    assert last == (f"rnnzoo: interrupted; epoch {done} is saved in {out}; continue with: "
                    f"{shlex.join(['rnnzoo', *args, '--resume'])}")


@pytest.mark.slow
def test_finetune_refuses_resume_without_checkpoint_and_training_over_a_run(tmp_path):
    args = ("finetune", "rnn-lm", "--data", CHAPTER, "--out", tmp_path / "ft", "--epochs", 1,
            "--batch-size", 8, "--set", "training.bptt=50", "--verbose", 0, "--no-tensorboard")
    missing = run(*args, "--resume")
    assert missing.exit_code == 1
    assert "no checkpoint to resume from" in missing.output
    assert run(*args).exit_code == 0
    again = run(*args)
    assert again.exit_code == 1
    assert "holds a training run already: pass --resume" in again.output


@pytest.mark.parametrize("setting, message", [
    ("bptt=40", "expected SECTION.KEY=VALUE"),
    ("model.hidden=8", "expected SECTION.KEY=VALUE"),
    ("training.bptt=[", "not valid YAML"),
])
def test_finetune_rejects_bad_settings(tmp_path, setting, message):
    result = run("finetune", "rnn-lm", "--data", CHAPTER, "--out", tmp_path / "ft",
                 "--set", setting)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "ft").exists()


def test_finetune_rejects_an_unknown_training_key(tmp_path):
    result = run("finetune", "rnn-lm", "--data", CHAPTER, "--out", tmp_path / "ft",
                 "--set", "training.bptt_typo=40")
    assert result.exit_code == 1
    assert "training.bptt_typo: unknown key" in result.output


@pytest.mark.slow
def test_finetuned_tagger_starts_from_the_trained_weights(tmp_path):
    conllu = Path(__file__).parent / "data" / "en_ewt_slice.conllu"
    out = tmp_path / "pos"
    result = run("finetune", "bilstm-crf-pos", "--data", conllu, "--out", out, "--epochs", 1,
                 "--learning-rate", 1e-7, "--valid-fraction", 0.4, "--verbose", 0,
                 "--no-tensorboard")
    assert result.exit_code == 0, result.output
    before = evaluate_json("bilstm-crf-pos", conllu)["accuracy"]
    after = evaluate_json(str(out), conllu)["accuracy"]
    assert before > 0.9
    assert after == pytest.approx(before, abs=0.01)


def test_data_files_errors_name_the_file(tmp_path):
    from rnnzoo.training.datafiles import file_splits

    with pytest.raises(FileNotFoundError, match=r"data.files.train: .*nothing.txt: no such file"):
        file_splits({"train": str(tmp_path / "nothing.txt")}, lambda p: p.read_text(), 0)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"data.files.train: .*empty.txt holds no examples"):
        file_splits({"train": str(empty)}, lambda p: p.read_text(), 0)
    text = tmp_path / "labels.txt"
    text.write_text("spam\tWin money\n")
    result = run("finetune", "bilstm-spam", "--data", text, "--out", tmp_path / "ft")
    assert result.exit_code == 1
    assert "give a .csv (columns text and label) or a .jsonl file" in result.output


def test_evaluate_data_with_unknown_labels_names_them():
    result = run("evaluate", "bilstm-spam", "--data", NOVELS)
    assert result.exit_code == 1
    assert "labels the model does not know: ['emma', 'persuasion']" in result.output


@pytest.mark.slow
def test_finetune_with_defaults_fits_the_batch_to_short_data_and_says_so(tmp_path):
    out = tmp_path / "ft"
    result = run("finetune", "gru-lm", "--data", CHAPTER, "--out", out, "--verbose", 0,
                 "--no-tensorboard")
    assert result.exit_code == 0, result.output
    assert ("rnnzoo: the valid split has 1515 tokens, too few for batch_size 64 × bptt 100: "
            "fine-tuning with batch_size 8, bptt 100") in result.stderr
    assert len(json.loads((out / "history.json").read_text())["loss"]) == 3


def test_a_run_that_fails_before_its_first_epoch_leaves_no_folder(tmp_path):
    from rnnzoo.tasks.language_model.recipe import fitted_windows

    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"It is a truth \xff universally acknowledged\n")
    out = tmp_path / "never"
    result = run("finetune", "gru-lm", "--data", broken, "--out", out, "--verbose", 0)
    assert result.exit_code == 1 and "invalid UTF-8" in result.output
    assert not out.exists()
    kept = tmp_path / "mine"
    kept.mkdir()
    assert run("finetune", "gru-lm", "--data", broken, "--out", kept).exit_code == 1
    assert kept.is_dir()
    with pytest.raises(ValueError, match="the valid split has 1 token"):
        fitted_windows({"batch_size": 1, "bptt": 1}, {"train": np.zeros(9), "valid": np.zeros(1)},
                       True)
    streams = {"train": np.zeros(1001), "valid": np.zeros(201)}
    assert fitted_windows({"batch_size": 2, "bptt": 100}, streams, False) == (2, 100)
    with pytest.raises(ValueError, match=r"the valid split has 201 tokens, too few for "
                                         r"batch_size=4 × bptt=100: set training.batch_size "
                                         r"to at most 2 or training.bptt to at most 50"):
        fitted_windows({"batch_size": 4, "bptt": 100}, streams, False)
    assert fitted_windows({"batch_size": 4, "bptt": 100}, streams, True) == (2, 100)
    assert fitted_windows({"batch_size": 4, "bptt": 300}, streams, True) == (1, 200)


def test_a_finetune_recipe_leaves_the_models_target_tune_and_checks_behind(tmp_path):
    from rnnzoo.zoo.finetune import finetune_recipe
    from rnnzoo.zoo.registry import resolve

    texts = tmp_path / "mine.csv"
    texts.write_text("text,label\nhello,ham\n")
    recipe = finetune_recipe("bilstm-spam", texts)
    assert rnnzoo.info("bilstm-spam")["config"]["checks"]
    assert (recipe["target"], recipe["tune"], recipe["checks"]) == (None, None, {})
    assert recipe["init"]["from"] == str(resolve("bilstm-spam").resolve())
    assert recipe["data"]["files"]["train"] == str(texts.resolve())
