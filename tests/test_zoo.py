"""The zoo end to end on a tiny recipe: train, publish, list, load, evaluate, checksums."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import rnnzoo
from rnnzoo.cli import main
from rnnzoo.tasks.language_model import recipe as lm_recipe
from rnnzoo.training.recipe import load_recipe
from rnnzoo.zoo.manifest import ChecksumError
from rnnzoo.zoo.publish import publish
from rnnzoo.zoo.registry import UnknownModelError

RECIPE = {
    "name": "tiny-lm", "task": "language_model", "seed": 0,
    "description": "A tiny character model for the tests.",
    "model": {"level": "char", "cell": "gru", "embedding_dim": 8, "hidden": 16, "num_layers": 1,
              "tie_weights": False},
    "data": {"corpus": "austen", "test": "PERSUASION", "valid_fraction": 0.1},
    "training": {"batch_size": 4, "bptt": 20, "epochs": 1, "learning_rate": 0.01,
                 "eval_bptt": 50},
}


@pytest.fixture(scope="module")
def data_dir(austen_dir):
    return austen_dir


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, data_dir):
    work = tmp_path_factory.mktemp("zoo")
    recipe_file = work / "tiny-lm.yaml"
    recipe_file.write_text(yaml.safe_dump(RECIPE))
    run = work / "run"
    lm_recipe.train(load_recipe(recipe_file), str(data_dir), run)
    home = work / "models"
    publish(run, home, str(data_dir))
    return home, run


@pytest.fixture
def home(zoo, monkeypatch):
    monkeypatch.setenv("RNNZOO_HOME", str(zoo[0]))
    return zoo[0]


def test_published_model_lists_loads_and_generates(home):
    assert rnnzoo.list_models() == ["tiny-lm"]
    model = rnnzoo.load("tiny-lm")
    text = model.generate("It is a", max_tokens=15, seed=0)
    assert isinstance(text, str) and len(text) == 15
    assert model.generate(["a", "b"], max_tokens=3) == [model.generate("a", max_tokens=3),
                                                        model.generate("b", max_tokens=3)]
    assert 1.0 < model.perplexity("It is a truth") < 1000
    assert rnnzoo.info("tiny-lm")["metrics"]["test"]["bits_per_char"] > 0


def test_evaluate_reproduces_the_card(home, data_dir):
    card = json.loads((home / "tiny-lm" / "metrics.json").read_text())
    result = CliRunner().invoke(main, ["evaluate", "tiny-lm", "--split", "test", "--data-dir",
                                       str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["bits_per_char"] == card["test"]["bits_per_char"]
    assert f"{card['test']['bits_per_char']:.4f}" in (home / "tiny-lm" / "README.md").read_text()


def test_flipped_byte_is_refused_naming_the_file(home, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "models"
    shutil.copytree(home, copy)
    weights = copy / "tiny-lm" / "model.keras"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    monkeypatch.setenv("RNNZOO_HOME", str(copy))
    with pytest.raises(ChecksumError, match=r"model\.keras: sha256 .* does not match"):
        rnnzoo.load("tiny-lm")


def test_unknown_names_suggest_close_ones(home):
    with pytest.raises(UnknownModelError, match=r"unknown model 'tiny-lmm'; did you mean tiny-lm"):
        rnnzoo.load("tiny-lmm")
    result = CliRunner().invoke(main, ["info", "tiny_lm"])
    assert result.exit_code == 1
    assert "unknown model 'tiny_lm'; did you mean tiny-lm?" in result.output


@pytest.mark.parametrize("name, error, message", [
    ("", ValueError, "empty model name"),
    ("../x", FileNotFoundError, "not a model folder"),
    ("/etc", FileNotFoundError, "not a model folder"),
    (3, TypeError, "expected a model name or a path"),
])
def test_bad_names(home, name, error, message):
    with pytest.raises(error, match=message):
        rnnzoo.load(name)


def test_resume_continues_from_the_checkpoint(zoo, data_dir, tmp_path, resume_marked):
    history, state = resume_marked(zoo[1], lm_recipe.train, RECIPE, data_dir)
    assert history["marker"] == [42.0] and len(history["loss"]) == 2
    assert state["epochs_done"] == 2 and state["model"] == "checkpoint-2.keras"
    assert [p.name for p in (tmp_path / "resumed" / "checkpoints").glob("*.keras")] == [
        "checkpoint-2.keras"]
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        lm_recipe.train(RECIPE, str(data_dir), tmp_path / "empty", resume=True)


def test_a_finished_run_is_never_trained_over(zoo, data_dir):
    before = (zoo[1] / "model.keras").read_bytes()
    with pytest.raises(FileExistsError, match="pass --resume to continue it"):
        lm_recipe.train(RECIPE, str(data_dir), zoo[1])
    assert (zoo[1] / "model.keras").read_bytes() == before


def test_a_folder_named_like_a_model_does_not_shadow_it(home, tmp_path, monkeypatch, zoo):
    import shutil

    shutil.copytree(zoo[1], tmp_path / "tiny-lm")
    (tmp_path / "tiny-lm" / "config.yaml").write_text(yaml.safe_dump({**RECIPE, "task": "x"}))
    monkeypatch.chdir(tmp_path)
    assert rnnzoo.load("tiny-lm").folder == home / "tiny-lm"
    for local in ("./tiny-lm", Path("tiny-lm")):
        with pytest.raises(ValueError, match="task 'x' cannot be loaded"):
            rnnzoo.load(local)


def test_unlisted_files_are_refused(home, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "models"
    shutil.copytree(home, copy)
    (copy / "tiny-lm" / "extra.py").write_text("print('hi')\n")
    monkeypatch.setenv("RNNZOO_HOME", str(copy))
    with pytest.raises(ChecksumError, match=r"does not list \['extra.py'\]"):
        rnnzoo.load("tiny-lm")


def test_publish_refuses_a_name_with_path_characters(zoo, tmp_path, data_dir):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(zoo[1], run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "name": "../victim"}))
    victim = tmp_path / "victim"
    victim.mkdir()
    with pytest.raises(ValueError, match="invalid model name '../victim'"):
        publish(run, tmp_path / "models", str(data_dir))
    assert victim.is_dir()


def _with_checks(zoo, tmp_path, checks) -> Path:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(zoo[1], run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "checks": checks}))
    return run


def test_publish_evaluates_the_checks_as_evaluate_data_does(zoo, tmp_path, data_dir,
                                                            monkeypatch):
    chapter = Path(__file__).parent / "data" / "finetune" / "persuasion_ch1.txt"
    monkeypatch.chdir(chapter.parent)
    folder = publish(_with_checks(zoo, tmp_path, {"chapter one": chapter.name}),
                     tmp_path / "models", str(data_dir))
    metrics = json.loads((folder / "metrics.json").read_text())
    monkeypatch.setenv("RNNZOO_HOME", str(tmp_path / "models"))
    result = CliRunner().invoke(main, ["evaluate", "tiny-lm", "--data", chapter.name, "--json"])
    assert result.exit_code == 0, result.output
    measured = json.loads(result.output)
    assert metrics["chapter one"]["bits_per_char"] == pytest.approx(measured["bits_per_char"])
    assert metrics["chapter one"]["tokens"] == measured["tokens"] == \
        len(chapter.read_text(encoding="utf-8")) - 1
    card = (folder / "README.md").read_text()
    assert f"| chapter one | bits_per_char | {measured['bits_per_char']:.4f} |" in card
    assert f"the `chapter one` row by `rnnzoo evaluate tiny-lm --data {chapter.name}`" in card


def test_a_missing_check_file_keeps_the_published_model(zoo, tmp_path, data_dir):
    models = tmp_path / "models"
    published = publish(zoo[1], models, str(data_dir))
    before = (published / "model.keras").read_bytes()
    with pytest.raises(FileNotFoundError, match=r"checks.short: no such file nowhere.csv"):
        publish(_with_checks(zoo, tmp_path, {"short": "nowhere.csv"}), models, str(data_dir))
    assert (published / "model.keras").read_bytes() == before
    assert "short" not in json.loads((published / "metrics.json").read_text())


@pytest.mark.parametrize("checks", [{"test": "a.csv"}, {"short": ""}, {"short": 3}])
def test_a_check_needs_a_path_and_a_name_of_its_own(checks):
    from rnnzoo.training.config import ConfigError
    from rnnzoo.training.recipe import validate_recipe

    with pytest.raises(ConfigError, match="give a file path for a name other than train"):
        validate_recipe({**RECIPE, "checks": checks})


def test_missing_corpus_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"austen/austen.txt"):
        lm_recipe.train(RECIPE, str(tmp_path), tmp_path / "run")


SHORT_MESSAGES = Path(__file__).parent / "data" / "short_messages.csv"


def test_the_shipped_spam_filter_holds_on_short_messages_it_never_saw():
    """The hand-written short messages (30 ham, 30 spam; never trained on): the shipped
    model's accuracy is its card's check figure, and at least 0.9."""
    from rnnzoo.data import read_csv_documents

    messages = read_csv_documents(SHORT_MESSAGES)
    assert sorted({m.label for m in messages}) == ["ham", "spam"]
    answers = rnnzoo.load("bilstm-spam").classify([m.text for m in messages])
    accuracy = np.mean([label == m.label for (label, _), m in zip(answers, messages)])
    card = json.loads((Path(__file__).resolve().parents[1] / "saved_models" / "bilstm-spam" /
                       "metrics.json").read_text())
    assert card["short messages"]["accuracy"] == pytest.approx(accuracy)
    assert accuracy >= 0.9


def test_readme_table_matches_the_shipped_cards():
    from rnnzoo.zoo.cards import TABLE_END, TABLE_START, models_table

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    section = readme.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    assert section == models_table(root / "saved_models")


def test_models_table_lists_a_published_model(zoo):
    from rnnzoo.zoo.cards import models_table

    table = models_table(zoo[0])
    assert "| [tiny-lm](saved_models/tiny-lm/README.md) | language_model | bits_per_char" in table


def test_the_card_names_the_machine_that_trained_the_run(zoo, tmp_path):
    from rnnzoo.training.runs import cpu_name
    from rnnzoo.zoo.cards import render

    home, run = zoo
    runtime = json.loads((run / "runtime.json").read_text())
    assert runtime["cpu"] == cpu_name() and runtime["cores"] >= 1
    card = (home / "tiny-lm" / "README.md").read_text()
    assert f"minutes on {cpu_name()} ({runtime['cores']} cores)" in card
    assert "by `rnnzoo train zoo_configs/tiny-lm.yaml --data-dir DATA`" in card
    sample = card.split("## Samples\n\nTemperature 0.8, seed 0, from a fixed prompt:\n\n```\n")[1]
    model = rnnzoo.load(home / "tiny-lm")
    expected = model.continuation("It is a truth universally acknowledged", max_tokens=300,
                                  temperature=0.8, seed=0)
    assert sample.startswith(expected + "\n```")
    config = yaml.safe_load((home / "tiny-lm" / "config.yaml").read_text())
    card = render(config, {}, 10, {"epoch_seconds": [60.0]}, "DATA", {"cpu": "Zen 9", "cores": 64})
    assert "1 epochs, 1.0 minutes on Zen 9 (64 cores)" in card
    elsewhere = render(config, {}, 1, {}, "DATA",
                       {"cpu": "NVIDIA H200", "cores": None, "trainer": "python train_lm.py R"})
    assert "by `python train_lm.py R`" in elsewhere and "minutes on NVIDIA H200\n" in elsewhere


@pytest.mark.parametrize("data, names", [
    ({"corpus": "austen"}, ["Jane Austen's six novels"]),
    ({"folder": "spam_assassin/package/data", "files": None, "tfds": None,
      "short_texts": {"file": "ud_en_ewt/en_ewt-ud-train.conllu", "label": "ham"}},
     ["SpamAssassin public corpus", "UD English EWT"]),
    ({"folder": "spam_assassin/package/data", "files": {"train": "/x.csv"}, "short_texts": None},
     ["files or a tfds dataset"]),
    ({"corpus": None, "tfds": {"name": "imdb_reviews"}}, ["files or a tfds dataset"]),
    ({"corpus": "elsewhere"}, ["elsewhere"]),
    ({"file": "bible_en_es/kjv_rv1909.tsv", "files": None}, ["KJV ↔ Reina-Valera 1909"]),
    ({"corpus": None, "files": None}, ["files or a tfds dataset"]),
    ({"corpus": "english"}, ["UD English EWT", "KJV ↔ Reina-Valera 1909", "Jane Austen's six novels"]),
    ({"corpus": "english", "sources": ["sotu", "email", "ewt"]},
     ["State of the Union addresses 1790-2021", "SpamAssassin public corpus", "UD English EWT"]),
])
def test_the_card_names_each_corpus_the_recipe_reads(data, names):
    from rnnzoo.zoo.cards import data_sources

    assert [name for name, _, _ in data_sources("language_model", data)] == names


@pytest.mark.parametrize("task, corpus, keys", [
    ("language_model", "english", ["corpus", "files", "sources", "valid_fraction"]),
    ("language_model", "austen", ["corpus", "files", "test", "valid_fraction"]),
    ("language_model", "ptb", ["corpus", "files", "valid_fraction"]),
    ("language_model", None, ["corpus", "files", "valid_fraction"]),
    ("tagger", "english", ["corpus", "files", "sources", "test", "valid_fraction"]),
])
def test_the_cards_data_table_leaves_out_what_the_corpus_does_not_read(task, corpus, keys):
    from rnnzoo.zoo.cards import render

    data = {"corpus": corpus, "files": None, "sources": ["ewt"], "test": "PERSUASION",
            "valid_fraction": 0.01}
    config = {"name": "m", "task": task, "description": "d", "seed": 0, "model": {}, "data": data}
    card = render(config, {}, 1, {}, "DATA")
    table = card.split("## Data and split\n\n| key | value |\n|---|---|\n")[1].split("\n\n")[0]
    assert [line.split("`")[1] for line in table.splitlines()] == keys


def test_cli_list_info_and_generate(home):
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["list", "--json"]).output)
    assert listed == [{"name": "tiny-lm", "task": "language_model",
                       "description": RECIPE["description"]}]
    info = json.loads(runner.invoke(main, ["info", "tiny-lm", "--json"]).output)
    assert info["metrics"]["test"]["tokens"] > 0
    result = runner.invoke(main, ["generate", "tiny-lm", "It is", "--max-tokens", "12"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("It is") and len(result.output) == len("It is") + 12 + 1
    piped = runner.invoke(main, ["generate", "tiny-lm", "-", "--max-tokens", "3"], input="a\nb\n")
    assert piped.exit_code == 0 and piped.output.startswith("a")
    bad = runner.invoke(main, ["generate", "tiny-lm", "x", "--top-p", "0"])
    assert bad.exit_code == 2 and "top-p" in bad.output


def test_a_resumed_run_ships_its_best_epoch_even_from_before_the_resume(zoo, data_dir,
                                                                       tmp_path):
    """The checkpoint says epoch 1 was unbeatable (val_loss −1): epoch 2, trained after the
    resume, must not replace it, and the shipped model holds epoch 1's weights."""
    import shutil

    import keras

    run = tmp_path / "run"
    shutil.copytree(zoo[1], run)
    state_file = run / "checkpoints" / "checkpoint.json"
    state = json.loads(state_file.read_text())
    state["history"]["val_loss"] = [-1.0]
    state_file.write_text(json.dumps(state))
    epoch_one = keras.saving.load_model(zoo[1] / "model.keras", safe_mode=True).get_weights()
    recipe = {**RECIPE, "training": {**RECIPE["training"], "epochs": 2}}
    lm_recipe.train(recipe, str(data_dir), run, resume=True)
    shipped = keras.saving.load_model(run / "model.keras", safe_mode=True).get_weights()
    last = keras.saving.load_model(run / "checkpoints" / "checkpoint-2.keras",
                                   safe_mode=True).get_weights()
    for a, b in zip(shipped, epoch_one):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(shipped, last))


def test_every_shipped_model_travels_in_the_wheel_and_is_recipe_trained():
    import configparser

    from rnnzoo.training.recipe import validate_recipe

    root = Path(__file__).resolve().parents[1]
    parser = configparser.ConfigParser()
    parser.read(root / "setup.cfg")
    listed = set(parser["options.data_files"])
    for folder in (root / "saved_models").iterdir():
        if (folder / "manifest.json").is_file():
            assert f"share/rnnzoo/saved_models/{folder.name}" in listed, folder.name
            recipe = load_recipe(root / "zoo_configs" / f"{folder.name}.yaml")
            shipped = yaml.safe_load((folder / "config.yaml").read_text())
            assert (shipped["task"], shipped["seed"], validate_recipe(shipped)["target"]) == \
                (recipe["task"], recipe["seed"], recipe["target"]), folder.name
            for section in ("model", "data", "vocabulary", "training"):
                assert {k: shipped[section].get(k) for k in recipe[section]} == recipe[section], \
                    (folder.name, section)


def test_every_recipe_in_flight_is_a_valid_recipe():
    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "inflight").glob("*.yaml")):
        assert load_recipe(path)["name"] == path.stem, path.name


@pytest.mark.parametrize("target, metrics, line", [
    ({"metric": "perplexity", "at_most": 100}, {"test": {"perplexity": 93.24}},
     "test perplexity ≤ 100: met (93.24)"),
    ({"metric": "f1", "at_least": 0.6, "reference": "seqeval"}, {"test": {"f1": 0.5647}},
     "test f1 ≥ 0.6: missed (0.5647); seqeval"),
    ({"split": "valid", "metric": "bleu", "at_least": 20}, {"test": {}},
     "valid bleu ≥ 20: not measured"),
])
def test_target_line(target, metrics, line):
    from rnnzoo.zoo.cards import target_line

    assert target_line({"target": target}, metrics) == line


@pytest.mark.parametrize("target, message", [
    ({"metric": "f1"}, "target: give exactly one of at_most and at_least"),
    ({"metric": "f1", "at_most": 1, "at_least": 0}, "give exactly one"),
    ({"metric": "f1", "at_most": "high"}, "target.at_most"),
    ({"at_most": 1}, "target.metric"),
])
def test_bad_targets_name_the_problem(target, message):
    from rnnzoo.training.config import ConfigError
    from rnnzoo.training.recipe import validate_recipe

    with pytest.raises(ConfigError, match=message):
        validate_recipe({**RECIPE, "target": target})


def test_write_card_rewrites_a_published_card_from_its_stored_figures(zoo, tmp_path):
    from rnnzoo.zoo.manifest import MANIFEST, verify
    from rnnzoo.zoo.publish import write_card

    folder = shutil.copytree(zoo[0] / "tiny-lm", tmp_path / "tiny-lm")
    published = (folder / "README.md").read_text()
    metrics = json.loads((folder / "metrics.json").read_text())
    shown = f"| test | bits_per_char | {metrics['test']['bits_per_char']:.4f} |"
    metrics["test"]["bits_per_char"] = 0.123456
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "README.md").write_text("stale")
    write_card(folder)
    card = (folder / "README.md").read_text()
    assert shown in published
    assert card == published.replace(shown, "| test | bits_per_char | 0.1235 |")
    listed = json.loads((folder / MANIFEST).read_text())["files"]
    assert MANIFEST not in listed and "README.md" in listed and "metrics.json" in listed
    assert sorted(verify(folder)) == sorted(listed)
