"""Release blockers a security review found, one test (or more) per item: crafted model
folders and inputs are refused, checkpoints commit in order, and the zoo is stored compactly."""

import errno
import json
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from click.testing import CliRunner
from tiny_recipes import TINY_LM

import rnnzoo
from rnnzoo.cli import main
from rnnzoo.data import DataFormatError
from rnnzoo.data.conll import MAX_SENTENCE_TOKENS, read_iob2
from rnnzoo.data.documents import read_jsonl_documents
from rnnzoo.data.files import default_mode
from rnnzoo.saving import MIN_KERAS, UnsafeKerasError, check_keras, store_float16, version_tuple
from rnnzoo.serving.layout import check_name as check_export_name
from rnnzoo.serving.layout import write_version
from rnnzoo.training.checkpoints import (
    STATE_FILE,
    DiskFullError,
    EpochCheckpoint,
    atomic_write,
    best_weights,
    load_model_weights,
)
from rnnzoo.training.config import ConfigError, dump_yaml, load_yaml
from rnnzoo.training.recipe import MAX_DESCRIPTION, check_name, load_recipe
from rnnzoo.zoo.manifest import MANIFEST, ChecksumError, write_manifest
from rnnzoo.zoo.publish import publish
from rnnzoo.zoo.registry import UnknownModelError, list_models, resolve

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "saved_models"


def run(*args):
    return CliRunner().invoke(main, list(args))


def replace_model(folder: Path, model: keras.Model) -> None:
    """``folder``'s model.keras replaced by ``model``, the manifest rewritten to cover it."""
    model.save(folder / "model.keras")
    write_manifest(folder, [p.name for p in folder.iterdir() if p.name != MANIFEST])


# --- 1. a Keras whose safe mode holds -----------------------------------------------------------


@pytest.mark.parametrize("version, safe", [
    ("3.8.0", False), ("3.13.2", False), ("3.15.0", False), ("3.15.1", True), ("3.16.0rc1", True),
    ("4.0.0.dev2027", True), ("3.15.1+local", True),
])
def test_keras_versions_before_3_15_1_are_refused(version, safe):
    if safe:
        check_keras(version)
        return
    with pytest.raises(UnsafeKerasError, match=rf"Keras {version} is installed, but rnnzoo loads "
                                               r"model files only with Keras >= 3\.15\.1"):
        check_keras(version)


def test_the_installed_keras_is_safe_and_the_requirement_says_so():
    check_keras()
    assert version_tuple(keras.__version__) >= MIN_KERAS
    assert "keras>=3.15.1" in (ROOT / "setup.cfg").read_text()


def test_an_old_keras_found_at_run_time_refuses_to_load(zoo_copy, monkeypatch):
    monkeypatch.setattr(keras, "__version__", "3.8.0")
    with pytest.raises(UnsafeKerasError, match="Keras 3.8.0 is installed.*>= 3.15.1"):
        rnnzoo.load("rnn-lm")
    result = run("generate", "rnn-lm", "It is")
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert "Keras 3.8.0 is installed" in result.output and "3.15.1" in result.output


def test_a_lambda_that_runs_a_command_is_refused(zoo_copy, tmp_path):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    inputs = keras.Input((None,), dtype="int32")
    outputs = keras.layers.Lambda(lambda x: (os.system(command), x)[1])(inputs)
    marker.unlink(missing_ok=True)  # building the model ran the lambda once
    replace_model(zoo_copy, keras.Model(inputs, outputs))
    with pytest.raises(ValueError, match="deserialization of a `Lambda` layer"):
        rnnzoo.load("rnn-lm")
    assert not marker.exists()


def test_a_tfsmlayer_naming_a_savedmodel_is_refused(zoo_copy, tmp_path, monkeypatch):
    import tensorflow as tf

    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 2])])
        def serve(self, x):
            return x * 2

    tf.saved_model.save(Doubler(), str(tmp_path / "attacker"))
    model = keras.Sequential([keras.Input((2,)),
                              keras.layers.TFSMLayer(str(tmp_path / "attacker"), "serve")])
    replace_model(zoo_copy, model)
    loaded = []
    monkeypatch.setattr(tf.saved_model, "load", lambda *a, **k: loaded.append(a))
    with pytest.raises(ValueError, match="deserialization of a `TFSMLayer`"):
        rnnzoo.load("rnn-lm")
    assert loaded == []


# --- 2. YAML: no anchors or aliases, bounded values ---------------------------------------------


BILLION_LAUGHS = "\n".join(
    ["task: language_model", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{k}: &a{k} [{','.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 9)]
    + ["description: *a8"]) + "\n"


def test_billion_laughs_config_is_refused_by_info(zoo_copy):
    (zoo_copy / "config.yaml").write_text(BILLION_LAUGHS)
    write_manifest(zoo_copy, [p.name for p in zoo_copy.iterdir() if p.name != MANIFEST])
    assert len(BILLION_LAUGHS) < 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run("info", str(zoo_copy))
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert f"{zoo_copy / 'config.yaml'}:2: YAML anchors and aliases" in result.output
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


@pytest.mark.parametrize("text, message", [
    ("a: &x 1\nb: *x\n", r"r.yaml:1: YAML anchors and aliases \(&name, \*name\) are not allowed"),
    ("a: 1\nb: !!merge {}\n<<: &y {c: 1}\n", "r.yaml:3: YAML anchors and aliases"),
    ("a: " + "[" * 17 + "]" * 17 + "\n", "r.yaml:1: nested deeper than 16 levels"),
    ("a: " + "x" * 4097 + "\n", "r.yaml:1: a value of 4097 characters; at most 4096"),
    ("x" * (1 << 20) + "y", r"r.yaml: larger than 1048576 bytes"),
])
def test_yaml_anchors_deep_nesting_and_huge_values_are_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        load_yaml(text, "r.yaml")


def test_yaml_at_the_limits_is_read():
    assert load_yaml("a: " + "[" * 15 + "]" * 15 + "\n", "r.yaml")["a"] is not None
    assert load_yaml("a: " + "x" * 4096 + "\n", "r.yaml") == {"a": "x" * 4096}


def test_what_rnnzoo_writes_it_reads_back():
    shared = {"files": ["a", "b"]}
    text = dump_yaml({"data": shared, "copy": shared})
    assert "&" not in text and "*" not in text
    assert load_yaml(text, "config.yaml") == {"data": shared, "copy": shared}


def test_a_recipe_with_an_alias_or_a_long_description_is_refused(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: &n tiny-lm\ntask: language_model\ndescription: *n\n")
    with pytest.raises(ConfigError, match="r.yaml:1: YAML anchors and aliases"):
        load_recipe(recipe)
    recipe.write_text(dump_yaml({**TINY_LM, "description": "x" * (MAX_DESCRIPTION + 1)}))
    with pytest.raises(ConfigError, match=f"description: must be 1 to {MAX_DESCRIPTION} char"):
        load_recipe(recipe)
    recipe.write_text(dump_yaml({**TINY_LM, "description": "x" * MAX_DESCRIPTION}))
    assert load_recipe(recipe)["description"] == "x" * MAX_DESCRIPTION


# --- 3. publish never follows links -------------------------------------------------------------


def fake_run(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.yaml").write_text(dump_yaml(TINY_LM))
    (folder / "model.keras").write_bytes(b"weights")
    return folder


@pytest.mark.parametrize("target", ["absolute", "relative", "inside"])
def test_publish_refuses_a_symbolic_link_in_the_run_folder(tmp_path, target):
    secret = tmp_path / "private_key.txt"
    secret.write_text("secret")
    run_dir = fake_run(tmp_path / "run")
    (run_dir / "vocab.txt").write_text("ok")
    link = {"absolute": secret, "relative": Path("..") / "private_key.txt",
            "inside": Path("vocab.txt")}[target]
    (run_dir / "notes.txt").symlink_to(link)
    with pytest.raises(ValueError, match=r"notes.txt: a symbolic link; publish copies only"):
        publish(run_dir, tmp_path / "models", None)
    assert not (tmp_path / "models" / "tiny-lm").exists()
    result = run("publish", str(run_dir), "--models-dir", str(tmp_path / "models"))
    assert result.exit_code == 1 and "a symbolic link" in result.output


def test_publish_refuses_a_run_folder_that_is_a_link(tmp_path):
    real = fake_run(tmp_path / "real")
    (tmp_path / "run").symlink_to(real)
    with pytest.raises(ValueError, match="not a run folder"):
        publish(tmp_path / "run", tmp_path / "models", None)


# --- 4. inputs are cut before they are tokenised ------------------------------------------------


PEAK_RSS = """
import rnnzoo
text = {text}
model = rnnzoo.load({name!r})
answer = model.{call}(text)
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(len(answer), peak.split()[1])
"""
"""The peak is this process's VmHWM (KiB): ``ru_maxrss`` would carry over the parent's peak, which
Linux keeps across the exec of a vfork'd child."""


@pytest.mark.slow
@pytest.mark.parametrize("name, call, text", [
    ("rnn-lm", "generate", "'It is' + '\\u0301' * 100_000_000"),
    ("bilstm-crf-pos", "tag", "'word ' * 20_000_000"),
    ("bilstm-spam", "classify", "'free money ' * 9_000_000"),
])
def test_a_100mb_input_is_answered_in_bounded_memory(name, call, text):
    code = PEAK_RSS.format(text=text, name=name, call=call)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    answered, peak_kib = map(int, result.stdout.split()[-2:])
    assert answered > 0
    assert peak_kib < 1.5 * 2**20, f"peak RSS {peak_kib / 2**20:.2f} GiB"


def iob2_file(path: Path, tokens: int) -> Path:
    path.write_text("".join(f"w{k}\tO\n" for k in range(tokens)) + "\n")
    return path


def test_a_tagged_sentence_over_the_limit_is_refused(tmp_path):
    assert len(read_iob2(iob2_file(tmp_path / "ok.iob2", MAX_SENTENCE_TOKENS))[0].tokens) == 1000
    with pytest.raises(DataFormatError, match=rf"long.iob2:{MAX_SENTENCE_TOKENS + 1}: a sentence "
                                              rf"of more than {MAX_SENTENCE_TOKENS} tokens"):
        read_iob2(iob2_file(tmp_path / "long.iob2", MAX_SENTENCE_TOKENS + 1))
    result = run("evaluate", "bilstm-crf-ner", "--data", str(tmp_path / "long.iob2"))
    assert result.exit_code == 1 and "a sentence of more than 1000 tokens" in result.output


# --- 5, 6. checkpoints commit in order, and a full disk loses nothing ---------------------------


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((50,)), keras.layers.Dense(200)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def end_epoch(callback: EpochCheckpoint, epoch: int, val_loss: float) -> None:
    callback.on_epoch_begin(epoch)
    callback.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})


def hidden_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_best_weights_are_committed_with_their_epoch(tmp_path, monkeypatch):
    model = tiny_model()
    callback = EpochCheckpoint(tmp_path)
    callback.set_model(model)
    end_epoch(callback, 0, 1.0)
    first = [w.copy() for w in model.get_weights()]
    assert best_weights(tmp_path) == tmp_path / "best-1.weights.h5"
    model.set_weights([w + 1 for w in first])
    monkeypatch.setattr("rnnzoo.training.checkpoints.write_json",
                        lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):  # killed after epoch 2's files, before its commit
        end_epoch(callback, 1, 0.5)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["epochs_done"] == 1 and state["best"] == "best-1.weights.h5"
    assert best_weights(tmp_path) == tmp_path / "best-1.weights.h5"
    fresh = tiny_model()
    load_model_weights(fresh, best_weights(tmp_path))
    for got, want in zip(fresh.get_weights(), first):
        np.testing.assert_array_equal(got, want)


def test_a_later_epoch_that_is_not_the_best_keeps_the_best_file(tmp_path):
    model = tiny_model()
    callback = EpochCheckpoint(tmp_path)
    callback.set_model(model)
    end_epoch(callback, 0, 1.0)
    end_epoch(callback, 1, 0.5)
    end_epoch(callback, 2, 0.7)
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["best-2.weights.h5"]
    assert best_weights(tmp_path) == tmp_path / "best-2.weights.h5"
    checkpoint = (tmp_path / "checkpoint-3.keras").stat().st_size  # weights and Adam's m, v
    assert (tmp_path / "best-2.weights.h5").stat().st_size < 0.4 * checkpoint
    resumed = EpochCheckpoint(tmp_path, json.loads((tmp_path / STATE_FILE).read_text())["history"])
    resumed.set_model(model)
    end_epoch(resumed, 3, 0.9)
    assert best_weights(tmp_path) == tmp_path / "best-2.weights.h5"
    end_epoch(resumed, 4, 0.4)
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["best-5.weights.h5"]


def test_no_room_for_a_checkpoint_is_one_clear_error_and_keeps_the_last(tmp_path, monkeypatch):
    model = tiny_model()
    callback = EpochCheckpoint(tmp_path)
    callback.set_model(model)
    end_epoch(callback, 0, 1.0)
    state = (tmp_path / STATE_FILE).read_text()
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=1000))
    with pytest.raises(DiskFullError, match=r"best-2.weights.h5: no space left on the device; "
                                            r"nothing was written over"):
        end_epoch(callback, 1, 0.5)
    assert (tmp_path / STATE_FILE).read_text() == state
    assert hidden_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best-1.weights.h5", "checkpoint-1.keras", STATE_FILE]


@pytest.mark.parametrize("failure", [
    OSError(errno.ENOSPC, "No space left on device"),
    RuntimeError("Can't write data (file write failed: ..., errno = 28, error message = 'No "
                 "space left on device')"),
])
def test_a_write_that_runs_out_of_space_removes_its_temporary_file(tmp_path, failure):
    target = tmp_path / "checkpoint-2.keras"

    def write(tmp):
        Path(tmp).write_bytes(b"half a file")
        raise failure

    error = DiskFullError if isinstance(failure, OSError) else RuntimeError
    with pytest.raises(error):
        atomic_write(target, write)
    assert list(tmp_path.iterdir()) == []


def test_cli_train_out_of_space_is_one_line_and_keeps_the_last_epoch(tmp_path, austen_dir,
                                                                      monkeypatch):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(dump_yaml({**TINY_LM, "training": {**TINY_LM["training"], "epochs": 2}}))
    out = tmp_path / "run"
    real = shutil.disk_usage
    calls = []

    def disk_usage(path):
        calls.append(path)
        usage = real(path)
        return usage._replace(free=1000) if len(calls) > 2 else usage

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    result = run("train", str(recipe), "--data-dir", str(austen_dir), "--out", str(out),
                 "--verbose", "0", "--no-tensorboard")
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1, result.output
    assert "no space left on the device" in result.output
    state = json.loads((out / "checkpoints" / STATE_FILE).read_text())
    assert state["epochs_done"] == 1
    assert hidden_files(out / "checkpoints") == []


# --- 7. names are matched whole -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc\n", "gru-lm\n", "a\nb", "\nabc"])
def test_names_with_a_newline_are_refused_everywhere(name, tmp_path):
    with pytest.raises(ValueError, match="invalid model name"):
        check_name(name)
    with pytest.raises(ValueError, match="export name"):
        check_export_name(name)
    with pytest.raises(ValueError, match="export name"):
        write_version(tmp_path, name, 1, lambda folder: None)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises((UnknownModelError, FileNotFoundError)):
        resolve(name)


# --- 8. what rnnzoo writes is readable by others -------------------------------------------------


def test_written_files_and_export_versions_get_the_umasks_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.json", lambda tmp: Path(tmp).write_text("{}"))
        assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
        version = write_version(tmp_path / "serving", "m", 1,
                                lambda folder: (folder / "saved_model.pb").write_text("x"))
        assert version.stat().st_mode & 0o777 == 0o755
        os.umask(0o077)
        assert default_mode() == 0o600 and default_mode(folder=True) == 0o700
    finally:
        os.umask(old)


def test_shipped_files_are_world_readable():
    for path in ZOO.rglob("*"):
        assert path.stat().st_mode & 0o004, path


# --- 9. listed names are loadable names; deep JSON is a documented error -----------------------


def test_list_models_lists_only_names_resolve_takes(zoo_copy):
    other = zoo_copy.parent / "My_Model"
    shutil.copytree(zoo_copy, other)
    assert list_models() == ["rnn-lm"]
    for name in list_models():
        assert resolve(name) == zoo_copy.parent / name


def test_a_deeply_nested_manifest_is_a_checksum_error(zoo_copy):
    (zoo_copy / MANIFEST).write_text('{"files": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ChecksumError, match="unreadable manifest.*nested too deeply"):
        rnnzoo.load("rnn-lm")


def test_a_deeply_nested_jsonl_line_is_a_data_format_error(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(DataFormatError, match="docs.jsonl:2: invalid JSON: nested too deeply"):
        read_jsonl_documents(path)


# --- 10. weights stored compactly ----------------------------------------------------------------


def stored_dtypes(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive, h5py.File(archive.open("model.weights.h5")) as f:
        found = set()
        f.visititems(lambda _, item: found.add(str(item.dtype))
                     if isinstance(item, h5py.Dataset) else None)
    return found


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path):
    model = keras.Sequential([keras.Input((50,)), keras.layers.Dense(3000),
                              keras.layers.Dense(2)])
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.stat().st_size
    store_float16(path)
    assert path.stat().st_size < 0.6 * before
    assert stored_dtypes(path) == {"float16"}
    loaded = keras.saving.load_model(path, safe_mode=True)
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want.astype(np.float16).astype(np.float32))
    assert hidden_files(tmp_path) == []


def test_a_weight_beyond_float16_is_refused_and_the_file_kept(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.layers[0].kernel.assign(np.full((2, 2), 1e6, "float32"))
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="does not fit in float16"):
        store_float16(path)
    assert path.read_bytes() == before


def test_the_shipped_zoo_is_stored_in_float16_and_fits_pypi():
    for folder in sorted(p for p in ZOO.iterdir() if p.is_dir()):
        assert stored_dtypes(folder / "model.keras") - {"int64"} == {"float16"}, folder.name
    total = sum(p.stat().st_size for p in ZOO.rglob("*") if p.is_file())
    assert total < 95 * 2**20, f"{total / 2**20:.1f} MB (the wheel must stay under PyPI's 100 MB)"
