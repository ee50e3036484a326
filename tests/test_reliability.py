"""Bad inputs, one test per row of docs/RELIABILITY.md: each checks the exception (or the exit
code) and what its message says; and the static checks of its security review."""

import ast
import functools
import json
import logging
import math
import re
import shutil
import time
from pathlib import Path

import keras
import pytest
import yaml
from click.testing import CliRunner
from tiny_recipes import TINY_LM

import rnnzoo
from rnnzoo.cli import main
from rnnzoo.data import DataFormatError
from rnnzoo.tasks.base import MAX_INPUT_TOKENS
from rnnzoo.tasks.language_model import model as language_model
from rnnzoo.tasks.language_model import recipe as lm_recipe
from rnnzoo.tasks.seq2seq.recipe import read_pairs_file
from rnnzoo.training.checkpoints import (
    STATE_FILE,
    CheckpointMismatchError,
    check_architecture,
    restore_seed_states,
    seed_states,
)
from rnnzoo.training.config import ConfigError
from rnnzoo.training.recipe import load_recipe
from rnnzoo.zoo import load
from rnnzoo.zoo.manifest import ChecksumError, sha256
from rnnzoo.zoo.registry import UnknownModelError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rnnzoo"
ZOO = ROOT / "saved_models"
WORDS = "the cat sat on the mat ."
LINE = (f"{WORDS} " * 40_000)[:1_000_000]
"""A single 1 MB line of 280,000 words."""
ODD = "🙂 e\u0301 👩\u200d👩\u200d👧 ﷽ x\u0308\u0323 ZWJ\u200d ١٢٣ 中文"
"""Emoji (one with zero-width joiners), combining marks, Arabic digits, CJK."""


@functools.cache
def shipped(name: str):
    """A shipped model, loaded once for the whole module."""
    return load(name)


def run(*args, stdin=None):
    return CliRunner().invoke(main, list(args), input=stdin)


@pytest.fixture
def cached_cli(monkeypatch):
    """The CLI's task commands use the module's loaded models (loading is tested apart)."""
    monkeypatch.setattr(rnnzoo.zoo, "load", shipped)


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# --- model names -------------------------------------------------------------------------------


def test_unknown_model_name_suggests_close_ones():
    with pytest.raises(UnknownModelError, match=r"unknown model 'rnn-lmm'; did you mean rnn-lm"):
        rnnzoo.load("rnn-lmm")
    result = run("generate", "rnn-lmm", "x")
    assert result.exit_code == 1
    assert result.output.startswith("rnnzoo: error: unknown model 'rnn-lmm'")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name, error, message", [
    ("../x", FileNotFoundError, "../x: not a model folder"),
    ("/etc", FileNotFoundError, "/etc: not a model folder"),
    ("rnn-lm/../../etc", FileNotFoundError, "not a model folder"),
    ("..", FileNotFoundError, "not a model folder"),
    ("", ValueError, "empty model name"),
    (" \t", ValueError, "empty model name"),
    ("~nosuchuser", UnknownModelError, "unknown model '~nosuchuser'"),
    ("x" * 300, UnknownModelError, "unknown model 'xxx"),
    ("a/" + "x" * 300, FileNotFoundError, "not a model folder"),
    ("a\x00b", UnknownModelError, "unknown model"),
    ("RNN-LM", UnknownModelError, "did you mean rnn-lm"),
])
def test_names_with_path_characters_are_never_zoo_names(name, error, message):
    with pytest.raises(error, match=re.escape(message)):
        rnnzoo.load(name)


def test_cli_refuses_a_path_in_one_line():
    result = run("tag", "../x", "a b")
    assert result.exit_code == 1
    assert result.output == "rnnzoo: error: ../x: not a model folder (no config.yaml)\n"


# --- model files: checksums, assets ------------------------------------------------------------


def test_truncated_weights_are_refused(zoo_copy):
    weights = zoo_copy / "model.keras"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ChecksumError, match=r"model\.keras: sha256 \w+ does not match manifest"):
        rnnzoo.load("rnn-lm")


@pytest.mark.parametrize("file, content", [
    ("model.keras", (ZOO / "bilstm-crf-ner" / "model.keras").read_bytes()),
    ("config.yaml", b"!!python/object/apply:os.system ['echo pwned']\n"),
])
def test_tampered_files_are_refused_before_anything_is_read(zoo_copy, monkeypatch, file,
                                                              content):
    read = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: read.append(a))
    monkeypatch.setattr("rnnzoo.zoo.registry.load_yaml", lambda *a, **k: read.append(a))
    (zoo_copy / file).write_bytes(content)
    with pytest.raises(ChecksumError, match=rf"{file.replace('.', '[.]')}: sha256 .* the file is "
                                            "corrupted or was changed"):
        rnnzoo.load("rnn-lm")
    assert read == []


@pytest.mark.parametrize("absolute", [False, True])
def test_manifest_entries_cannot_point_outside_the_folder(zoo_copy, absolute):
    secret = zoo_copy.parent / "secret.txt"
    secret.write_text("x")
    entry = str(secret) if absolute else "../secret.txt"
    manifest = json.loads((zoo_copy / "manifest.json").read_text())
    manifest["files"][entry] = sha256(secret)
    (zoo_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ChecksumError, match=rf"entry {re.escape(repr(entry))} points outside"):
        rnnzoo.load("rnn-lm")


def test_a_zoo_folder_without_manifest_is_refused(zoo_copy):
    (zoo_copy / "manifest.json").unlink()
    assert rnnzoo.list_models() == []
    with pytest.raises(UnknownModelError, match="unknown model 'rnn-lm'"):
        rnnzoo.load("rnn-lm")
    with pytest.raises(ChecksumError, match="no manifest.json; refusing to load unverified"):
        rnnzoo.load(zoo_copy)


def test_missing_vocabulary_is_refused(zoo_copy, tmp_path):
    run_folder = tmp_path / "run"
    shutil.copytree(zoo_copy, run_folder)
    (run_folder / "manifest.json").unlink()
    for folder in (zoo_copy, run_folder):
        (folder / "vocab.txt").unlink()
    with pytest.raises(ChecksumError, match=r"vocab\.txt: listed in manifest\.json but missing"):
        rnnzoo.load("rnn-lm")
    with pytest.raises(FileNotFoundError, match=r"run/vocab\.txt"):
        rnnzoo.load(run_folder)


@pytest.mark.parametrize("content, message", [
    ("!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    ("task: [unclosed\n", "not valid YAML"),
    ("- a list\n", "not a recipe"),
])
def test_a_run_folder_with_a_bad_config_is_refused(zoo_copy, tmp_path, content, message):
    folder = tmp_path / "run"
    shutil.copytree(zoo_copy, folder)
    (folder / "manifest.json").unlink()
    (folder / "config.yaml").write_text(content)
    with pytest.raises(ValueError, match=message):
        rnnzoo.load(folder)


# --- recipes (YAML) ----------------------------------------------------------------------------


@pytest.mark.parametrize("change, message", [
    ({"colour": "red"}, "bad.colour: unknown key (allowed: checks, data, description"),
    ({"seed": "zero"}, "bad.seed: expected int, got str 'zero'"),
    ({"seed": -1}, "bad.seed: must be >= 0, got -1"),
    ({"seed": True}, "bad.seed: expected int, got bool"),
    ({"task": "poetry"}, "bad.task: must be one of ['classifier', 'language_model'"),
    ({"name": "../x"}, "bad.name: must be 1 to 64 lower-case ASCII letters"),
    ({"training": None}, "bad.training: expected dict, got NoneType"),
])
def test_recipe_errors_name_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_recipe(write_yaml(tmp_path / "bad.yaml", {**TINY_LM, **change}))


@pytest.mark.parametrize("text", ["name: [unclosed\n",
                                  "!!python/object/apply:os.system ['echo pwned']\n"])
def test_recipe_that_is_not_safe_yaml_is_refused(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_recipe(path)


@pytest.mark.parametrize("section, change, message", [
    ("training", {"epoch": 3},
     "training.epoch: unknown key (allowed: average_momentum, average_start, batch_size, bptt"),
    ("training", {"epochs": 0}, "training.epochs: must be >= 1, got 0"),
    ("training", {"learning_rate": "fast"},
     "training.learning_rate: expected float, got str 'fast'"),
    ("data", {"valid_fraction": 0.9}, "data.valid_fraction: must be <= 0.5, got 0.9"),
])
def test_cli_train_names_the_bad_key_in_one_line(tmp_path, section, change, message):
    recipe = {**TINY_LM, section: {**TINY_LM[section], **change}}
    config = write_yaml(tmp_path / "bad.yaml", recipe)
    result = run("train", str(config), "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert result.output.startswith(f"rnnzoo: error: {message}")


# --- data files --------------------------------------------------------------------------------


def test_tsv_row_missing_a_column_names_the_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("en\tes\none\tuno\ntwo\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"pairs\.tsv:3: expected 2 tab-separated columns "
                                              r"\(source and target\), got 1"):
        read_pairs_file(path, {"source_column": "en", "target_column": "es"})


# --- text: empty, long, unknown, odd, undecodable ------------------------------------------------


def test_empty_and_whitespace_text_per_task():
    lm, pos = shipped("rnn-lm"), shipped("bilstm-crf-pos")
    spam, translator = shipped("bilstm-spam"), shipped("lstm-seq2seq-en-es")
    for text in ("", " \t\n "):
        assert isinstance(lm.generate(text, max_tokens=3), str)
        with pytest.raises(ValueError, match="nothing to tag: a sentence holds no tokens"):
            pos.tag(text)
        label, probability = spam.classify(text)
        assert label in spam.labels and 0 < probability <= 1
        assert isinstance(translator.translate(text, beam_size=1), str)
    with pytest.raises(ValueError, match="perplexity needs at least one token, got 0"):
        lm.perplexity("")
    assert lm.perplexity(" ") >= 1
    with pytest.raises(ValueError, match="empty token"):
        pos.tag(["a", ""])


def test_texts_that_are_not_strings_are_refused():
    calls = [lambda: shipped("bilstm-spam").classify(["ok", 1]),
             lambda: shipped("rnn-lm").generate([b"bytes"]),
             lambda: shipped("lstm-seq2seq-en-es").translate([None])]
    for call in calls:
        with pytest.raises(TypeError, match="expected a string or a list of strings"):
            call()


def test_cli_answers_empty_text(cached_cli):
    tagged = run("tag", "bilstm-crf-pos", "-", "--json", stdin="a b\n   \n\n")
    assert tagged.exit_code == 0, tagged.output
    assert [len(json.loads(line)) for line in tagged.stdout.splitlines()] == [2, 0, 0]
    label, probability = shipped("bilstm-spam").classify("")
    translation = shipped("lstm-seq2seq-en-es").translate("")
    generated = shipped("rnn-lm").continuation("", max_tokens=3, temperature=0)
    for args, expected in [(("classify", "bilstm-spam"), f"{label}\t{probability:.4f}\n"),
                           (("translate", "lstm-seq2seq-en-es"), f"{translation}\n"),
                           (("generate", "rnn-lm", "--max-tokens", "3", "--temperature", "0"),
                            f"{generated}\n")]:
        result = run(*args[:2], "", *args[2:])
        assert (result.exit_code, result.stdout) == (0, expected), result.output
        assert run(*args[:2], "-", *args[2:], stdin="").stdout == ""


def _timed(call):
    start = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - start


def test_a_1mb_line_is_cut_and_answered_quickly(caplog):
    words = LINE.split()
    head = " ".join(words[:MAX_INPUT_TOKENS])
    caplog.set_level(logging.WARNING, "rnnzoo.tasks.base")
    lm = shipped("rnn-lm")
    generated, seconds = _timed(lambda: lm.generate(LINE, max_tokens=5, temperature=0))
    assert generated == lm.generate(LINE[-MAX_INPUT_TOKENS:], max_tokens=5, temperature=0)
    assert seconds < 30
    score, seconds = _timed(lambda: lm.perplexity(LINE))
    assert score == lm.perplexity(LINE[:MAX_INPUT_TOKENS]) and seconds < 30
    pos = shipped("bilstm-crf-pos")
    tagged, seconds = _timed(lambda: pos.tag(LINE))
    assert [t for t, _ in tagged] == words[:MAX_INPUT_TOKENS] and seconds < 30
    assert tagged == pos.tag(head)
    spam = shipped("bilstm-spam")
    assert spam.max_input_tokens == 400
    label, seconds = _timed(lambda: spam.classify(LINE))
    assert label == spam.classify(" ".join(words[:400])) and seconds < 30
    translator = shipped("lstm-seq2seq-en-es")
    translation, seconds = _timed(lambda: translator.translate(LINE, beam_size=1))
    assert translation == translator.translate(head, beam_size=1) and seconds < 30
    cuts = [r.getMessage() for r in caplog.records]
    assert ("<LanguageModel 'rnn-lm'>: an input of 1000000 characters is cut to its last 100000 "
            "before it is tokenised") in cuts
    assert "<LanguageModel 'rnn-lm'>: an input of 100000 tokens is cut to its last 1000" in cuts
    assert ("<Tagger 'bilstm-crf-pos'>: an input of 1000000 characters is cut to its first "
            "100000 before it is tokenised") in cuts
    assert "<Tagger 'bilstm-crf-pos'>: an input of 28000 tokens is cut to its first 1000" in cuts


def test_cli_tags_a_1mb_line_cut_to_the_limit(cached_cli):
    result = run("tag", "bilstm-crf-ner", LINE, "--json")
    assert result.exit_code == 0, result.output[-500:]
    pairs = json.loads(result.stdout)
    assert [p["token"] for p in pairs] == LINE.split()[:MAX_INPUT_TOKENS]


def test_text_of_unknown_tokens_only():
    text = "qzxv wqpzk ☃☃ xxyzzy"
    lm, ner = shipped("rnn-lm"), shipped("bilstm-crf-ner")
    assert isinstance(lm.generate("☃☃☃", max_tokens=3), str)
    assert math.isfinite(lm.perplexity("☃☃☃"))
    assert [t for t, _ in ner.tag(text)] == text.split()
    assert all(kind in ("PER", "ORG", "LOC") for _, kind, _, _ in ner.entities(text))
    probabilities = shipped("bilstm-spam").probabilities([text])
    assert probabilities.shape == (1, 2) and abs(probabilities.sum() - 1) < 1e-5
    assert isinstance(shipped("lstm-seq2seq-en-es").translate(text, beam_size=1), str)


def test_emoji_and_combining_characters():
    pos = shipped("bilstm-crf-pos")
    tagged = pos.tag(ODD)
    assert [t for t, _ in tagged] == ODD.split()
    assert {tag for _, tag in tagged} <= set(pos.vocabs.tag_names)
    assert isinstance(shipped("rnn-lm").generate(ODD, max_tokens=3), str)
    assert shipped("bilstm-spam").classify(ODD)[0] in ("ham", "spam")
    assert isinstance(shipped("lstm-seq2seq-en-es").translate(ODD, beam_size=1), str)


def test_undecodable_bytes_decoded_as_surrogates_are_answered():
    text = b"caf\xe9 \xff\xfe ok".decode("utf-8", "surrogateescape")
    assert [t for t, _ in shipped("bilstm-crf-pos").tag(text)] == text.split()
    assert isinstance(shipped("rnn-lm").generate(text, max_tokens=3), str)
    assert shipped("bilstm-spam").classify(text)[0] in ("ham", "spam")
    assert isinstance(shipped("lstm-seq2seq-en-es").translate(text, beam_size=1), str)


def test_cli_stdin_that_is_not_utf8_fails_in_one_line(cached_cli):
    result = run("tag", "bilstm-crf-pos", "-", stdin=b"caf\xe9\n")
    assert result.exit_code == 1
    assert result.output == ("rnnzoo: error: 'utf-8' codec can't decode byte 0xe9 in position "
                             "3: invalid continuation byte\n")


@pytest.mark.parametrize("settings, message", [
    ({"temperature": math.nan}, "temperature must be a number, got nan"),
    ({"max_tokens": 2**31}, "max_tokens and top_k must be < 2\\*\\*31"),
    ({"top_k": 2**63}, "max_tokens and top_k must be < 2\\*\\*31"),
    ({"seed": 2**64}, "seed must be a 64-bit integer"),
    ({"max_tokens": -1}, "max_tokens must be >= 0"),
])
def test_sampling_settings_out_of_range(settings, message):
    with pytest.raises(ValueError, match=message):
        shipped("rnn-lm").generate("a", **{"max_tokens": 2, **settings})


def test_cli_refuses_a_nan_temperature_in_one_line(cached_cli):
    result = run("generate", "rnn-lm", "a", "--temperature", "nan")
    assert result.exit_code == 1
    assert result.output == "rnnzoo: error: temperature must be a number, got nan\n"


# --- training: resume ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, austen_dir):
    """A finished one-epoch run of the tiny recipe (its checkpoint after epoch 1)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    lm_recipe.train(TINY_LM, str(austen_dir), out)
    return out


def test_cli_resume_without_checkpoint_fails_in_one_line(tmp_path, austen_dir):
    config = write_yaml(tmp_path / "tiny.yaml", TINY_LM)
    out = tmp_path / "run"
    result = run("train", str(config), "--data-dir", str(austen_dir), "--out", str(out),
                 "--resume")
    assert result.exit_code == 1
    assert result.output.startswith(f"rnnzoo: error: {out / 'checkpoints'}: no checkpoint to "
                                    "resume from")
    assert len(result.output.splitlines()) == 1


@pytest.mark.parametrize("model, detail", [
    pytest.param({"hidden": 32}, "(weight shape (8, 48) in the checkpoint, weight shape (8, 96) "
                                 "in the recipe's model)", id="hidden"),
    pytest.param({"cell": "lstm"}, "(layer GRU in the checkpoint, layer LSTM in the recipe's "
                                   "model)", id="cell"),
])
def test_resume_from_a_checkpoint_of_another_architecture_is_refused(tiny_run, tmp_path,
                                                                     austen_dir, model, detail):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    state = (run_dir / "checkpoints" / STATE_FILE).read_text()
    recipe = {**TINY_LM, "model": {**TINY_LM["model"], **model}}
    with pytest.raises(CheckpointMismatchError, match="checkpoint-1.keras: the checkpoint holds "
                                                      "another architecture than the recipe"):
        lm_recipe.train(recipe, str(austen_dir), run_dir, resume=True)
    config = write_yaml(tmp_path / "other.yaml", recipe)
    result = run("train", str(config), "--data-dir", str(austen_dir), "--out", str(run_dir),
                 "--resume")
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1, result.output
    assert detail in result.output and "resume with the recipe that started this run" in \
        result.output
    assert (run_dir / "checkpoints" / STATE_FILE).read_text() == state


def test_a_model_matches_its_own_saved_checkpoint(tmp_path):
    config = {**TINY_LM["model"], "vocab_size": 30}
    model = language_model.build(config, batch_size=4, stateful=True)
    model.save(tmp_path / "m.keras")
    check_architecture(keras.saving.load_model(tmp_path / "m.keras", safe_mode=True),
                       language_model.build(config, batch_size=4, stateful=True), tmp_path)
    with pytest.raises(CheckpointMismatchError, match=r"input shape \(4, None\) in the "
                                                      r"checkpoint, input shape \(8, None\)"):
        check_architecture(model, language_model.build(config, batch_size=8, stateful=True),
                           tmp_path)


def test_seed_states_are_restored_and_a_wrong_count_is_left_unused(caplog):
    config = {**TINY_LM["model"], "vocab_size": 30, "dropout": 0.5}
    model, other = (language_model.build(config, batch_size=4, stateful=True) for _ in "ab")
    states, others = seed_states(model), seed_states(other)
    assert states and states != others
    restore_seed_states(other, states[1:])
    assert seed_states(other) == others
    assert f"holds {len(states) - 1} seed states for a model of {len(states)}" in caplog.text
    restore_seed_states(other, states)
    assert seed_states(other) == states


# --- security: static checks of the package source -----------------------------------------------


@functools.cache
def _calls_and_imports() -> list:
    """(file, node) for every call, attribute and import in the package source."""
    kinds = (ast.Call, ast.Import, ast.ImportFrom, ast.Attribute)
    return [(path.relative_to(ROOT), node) for path in sorted(PACKAGE.rglob("*.py"))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, kinds)]


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def test_no_pickle_or_eval_in_the_package():
    unsafe = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
    found = []
    for path, node in _calls_and_imports():
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""]
            found += [(path, m) for m in modules if m.split(".")[0] in unsafe]
        if isinstance(node, ast.Call):
            if _dotted(node.func) in ("eval", "exec", "np.load", "numpy.load"):
                found.append((path, _dotted(node.func)))
            found += [(path, k.arg) for k in node.keywords
                      if k.arg == "allow_pickle" and not (isinstance(k.value, ast.Constant)
                                                          and k.value.value is False)]
    assert found == []


def test_yaml_is_read_by_the_safe_loader_in_one_place_only():
    allowed = {"yaml.SafeLoader", "yaml.SafeDumper", "yaml.dump", "yaml.YAMLError",
               "yaml.AliasEvent", "yaml.CollectionStartEvent", "yaml.CollectionNode",
               "yaml.ScalarNode"}
    uses = [(str(path), _dotted(node)) for path, node in _calls_and_imports()
            if isinstance(node, ast.Attribute) and _dotted(node).startswith("yaml.")]
    assert {path for path, _ in uses} == {"rnnzoo/training/config.py"}
    assert {name for _, name in uses} <= allowed
    assert not [(path, node.module) for path, node in _calls_and_imports()
                if isinstance(node, ast.ImportFrom) and node.module == "yaml"]


def test_keras_files_load_in_safe_mode_only():
    loads = [(path, node) for path, node in _calls_and_imports() if isinstance(node, ast.Call)
             and _dotted(node.func).split(".")[-1] in ("load_model", "load")
             and "keras" in _dotted(node.func)]
    unsafe = [path for path, node in loads
              if not any(k.arg == "safe_mode" and isinstance(k.value, ast.Constant)
                         and k.value.value is True for k in node.keywords)]
    assert [str(path) for path, _ in loads] == ["rnnzoo/saving.py"] and unsafe == []
    callers = {str(path) for path, node in _calls_and_imports()
               if isinstance(node, ast.ImportFrom) and node.module == "rnnzoo.saving"
               and "load_keras" in [a.name for a in node.names]}
    assert callers == {"rnnzoo/tasks/base.py", "rnnzoo/training/checkpoints.py",
                       "rnnzoo/training/runs.py", "rnnzoo/tasks/language_model/recipe.py",
                       "rnnzoo/tasks/tagger/recipe.py", "rnnzoo/tasks/classifier/recipe.py",
                       "rnnzoo/tasks/seq2seq/recipe.py"}
    assert not [path for path, node in _calls_and_imports() if isinstance(node, ast.Attribute)
                and node.attr == "enable_unsafe_deserialization"]


def test_no_python_ops_in_traced_code():
    python_ops = {"py_function", "numpy_function", "py_func"}
    assert not [(path, node.attr) for path, node in _calls_and_imports()
                if isinstance(node, ast.Attribute) and node.attr in python_ops]


def test_task_objects_write_no_files(zoo_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p for p in tmp_path.rglob("*"))
    model = rnnzoo.load("rnn-lm")
    model.generate("It is", max_tokens=3)
    model.perplexity("It is a truth")
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_checkpoint_state_names_the_best_epoch_and_no_best_before_one(tmp_path):
    from rnnzoo.training.checkpoints import EpochCheckpoint, best_weights

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    callback = EpochCheckpoint(tmp_path, monitor="val_loss")
    callback.set_model(model)
    for epoch, loss in enumerate([None, 2.0, 3.0]):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {} if loss is None else {"val_loss": loss})
        state = json.loads((tmp_path / "checkpoint.json").read_text())
        if loss is None:
            assert "best" not in state and best_weights(tmp_path) is None
        else:
            assert state["best"] == "best-2.weights.h5"
            assert best_weights(tmp_path) == tmp_path / "best-2.weights.h5"
            assert best_weights(tmp_path).is_file()


class _Stub:
    stop_training = False
    metrics = []


@pytest.mark.parametrize("past, mode, epoch_value, stops", [
    ([1.0, 0.9, 0.95, 0.96], "min", 0.97, True),    # best at epoch 2, 2 waited: the 3rd stops
    ([1.0, 0.9, 0.95, 0.96], "min", 0.89, False),   # a new best resets the wait
    ([1.0, 0.9, 0.95], "min", 0.97, False),         # only 2 waited after this epoch
    ([0.5, 0.7, 0.6, 0.65], "max", 0.69, True),     # max mode: best 0.7 at epoch 2
    ([], "min", 5.0, False),                         # a new run: the first epoch is the best
])
def test_early_stopping_continues_a_resumed_run(past, mode, epoch_value, stops):
    from rnnzoo.training.checkpoints import ResumedEarlyStopping

    callback = ResumedEarlyStopping({"val_loss": past}, "val_loss", patience=3, mode=mode)
    callback.set_model(_Stub())
    callback.on_train_begin()
    callback.on_epoch_end(len(past), {"val_loss": epoch_value})
    assert callback.model.stop_training is stops
    uninterrupted = keras.callbacks.EarlyStopping("val_loss", patience=3, mode=mode)
    uninterrupted.set_model(_Stub())
    uninterrupted.on_train_begin()
    for epoch, value in enumerate([*past, epoch_value]):
        uninterrupted.on_epoch_end(epoch, {"val_loss": value})
    assert uninterrupted.model.stop_training is stops
    assert (callback.best, callback.wait) == (uninterrupted.best, uninterrupted.wait)
