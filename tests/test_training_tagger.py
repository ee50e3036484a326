"""The tagger recipe end to end on the committed slices: run folder, metrics, resume, errors."""

import json
import shutil
from pathlib import Path

import keras
import pytest
import tensorflow as tf
import yaml
from task_contract import TaskContract

from rnnzoo.data import Vocabulary
from rnnzoo.tasks.tagger import preprocessing
from rnnzoo.tasks.tagger import recipe as recipe_module
from rnnzoo.training.checkpoints import STATE_FILE
from rnnzoo.training.config import ConfigError, validate

SLICES = Path(__file__).parent / "data"
MODEL = dict(word_dim=8, char_dim=4, char_hidden=4, hidden=8, dropout=0.1,
             implementation="builtin")
TRAINING = dict(epochs=1, batch_size=8, learning_rate=0.01, word_dropout=0.1,
                singleton_dropout=0.5, bucket_boundaries=[100], eval_batch_size=4)
"""One bucket: each epoch's batches share a shape, so that the train step is traced once."""
POS = dict(name="tiny-pos", task="tagger", description="POS on the slice", seed=0,
           model={**MODEL, "scheme": None}, data={"corpus": "ud_en_ewt"}, vocabulary={},
           training=TRAINING)
NER = dict(name="tiny-ner", task="tagger", description="NER on the slice", seed=0,
           model={**MODEL, "scheme": "BIOES", "char_features": "cnn"},
           data={"corpus": "uner_en_ewt"},
           vocabulary={"lowercase": False}, training=TRAINING)


def _data_dir(root: Path) -> Path:
    """A data dir laid out like the real one, every split file a copy of the slice."""
    for folder, suffix, splits, slice_name in [
        ("ud_en_ewt", "conllu", ("train", "dev", "test"), "en_ewt_slice.conllu"),
        ("uner_en_ewt", "iob2", ("train", "dev", "test"), "uner_en_ewt_slice.iob2"),
    ]:
        (root / folder).mkdir(parents=True)
        for split in splits:
            shutil.copy(SLICES / slice_name, root / folder / f"en_ewt-ud-{split}.{suffix}")
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return _data_dir(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def pos_run(tmp_path_factory, data_dir):
    """One epoch, a marker put into the checkpoint's history, then resumed to two epochs."""
    out = tmp_path_factory.mktemp("pos")
    recipe_module.train(POS, str(data_dir), out)
    state_path = out / "checkpoints" / STATE_FILE
    state = json.loads(state_path.read_text())
    state["history"]["loss"] = [123.0]
    state_path.write_text(json.dumps(state))
    resumed = {**POS, "training": {**TRAINING, "epochs": 2}}
    metrics = recipe_module.train(resumed, str(data_dir), out, resume=True)
    return out, metrics


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("ner")
    return out, recipe_module.train(NER, str(data_dir), out)


def test_run_folder_holds_model_vocabularies_config_metrics_history(pos_run):
    out, metrics = pos_run
    names = {p.name for p in out.iterdir()}
    assert {"model.keras", "config.yaml", "words.txt", "chars.txt", "tags.txt",
            "metrics.json", "history.json", "checkpoints"} <= names
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert set(metrics) == {"valid", "test"} and set(metrics["test"]) == {"accuracy"}
    config = yaml.safe_load((out / "config.yaml").read_text())
    words = Vocabulary.load(out / "words.txt")
    tags = Vocabulary.load(out / "tags.txt")
    assert config["model"]["word_vocab_size"] == len(words)
    assert config["model"]["num_tags"] == len(tags) - 2
    assert "the" in words.tokens and "The" not in words.tokens
    assert "T" in Vocabulary.load(out / "chars.txt", "char").tokens
    assert isinstance(keras.saving.load_model(out / "model.keras", safe_mode=True),
                      keras.Model)


def test_resume_continues_from_the_checkpoint(pos_run):
    out, _ = pos_run
    history = json.loads((out / "history.json").read_text())
    assert history["loss"][0] == 123.0 and len(history["loss"]) == 2
    assert len(history["val_accuracy"]) == 2
    state = json.loads((out / "checkpoints" / STATE_FILE).read_text())
    assert state["epochs_done"] == 2


def test_evaluate_reproduces_the_pos_metrics(pos_run, data_dir):
    out, metrics = pos_run
    assert recipe_module.evaluate(out, str(data_dir), "test") == metrics["test"]
    assert recipe_module.evaluate(out, str(data_dir), "dev") == metrics["valid"]


def test_ner_metrics_and_splits(ner_run, data_dir):
    out, metrics = ner_run
    assert set(metrics["test"]) == {"accuracy", "precision", "recall", "f1"}
    assert all(0.0 <= v <= 1.0 for split in metrics.values() for v in split.values())
    history = json.loads((out / "history.json").read_text())
    assert {"loss", "val_f1", "val_precision", "val_recall", "val_accuracy"} <= set(history)
    data = validate(NER["data"], recipe_module.DATA_SCHEMA, "data")
    splits = recipe_module.corpus_splits(data, 0, str(data_dir))
    assert {k: len(v) for k, v in splits.items()} == {"train": 6, "valid": 6, "test": 6}
    assert set(recipe_module.evaluate(out, str(data_dir), "train")) == set(metrics["test"])


def test_bioes_tags_round_trip_and_the_model_learns_them(ner_run):
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "I-ORG", "I-ORG"]
    bioes = preprocessing.model_tags(tags, "BIOES")
    assert bioes == ["B-PER", "E-PER", "O", "S-LOC", "B-ORG", "I-ORG", "E-ORG"]
    assert preprocessing.corpus_tags(bioes, "BIOES") == tags
    assert "E-LOC" in Vocabulary.load(ner_run[0] / "tags.txt").tokens


def test_missing_data_file_is_named(tmp_path):
    root = _data_dir(tmp_path)
    (root / "ud_en_ewt" / "en_ewt-ud-test.conllu").unlink()
    with pytest.raises(FileNotFoundError, match="en_ewt-ud-test.conllu"):
        recipe_module.train(POS, str(root), tmp_path / "run")


def test_resume_without_checkpoint_fails(tmp_path, data_dir):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        recipe_module.train(POS, str(data_dir), tmp_path / "run", resume=True)


@pytest.mark.parametrize("recipe,key", [
    ({**POS, "model": {**MODEL, "scheme": "IOB2"}}, "model.scheme"),
    ({**NER, "model": {**MODEL, "scheme": None}}, "model.scheme"),
    ({**NER, "data": {**NER["data"], "train_files": ["train", "dev"], "valid_fraction": 0.0}},
     "data.valid_fraction"),
    ({**POS, "data": {"corpus": "ud_en_ewt", "train_files": []}}, "data.train_files"),
    ({**POS, "data": {"corpus": "ud_en_ewt", "train_files": ["train", "dev", "dev"],
                      "valid_fraction": 0.1}}, "data.train_files: must list .* each once"),
    ({**POS, "training": {**TRAINING, "bucket_boundaries": [20, 10]}},
     "training.bucket_boundaries"),
])
def test_contradictory_recipes_name_the_key(tmp_path, recipe, key):
    with pytest.raises(ConfigError, match=key):
        recipe_module.train(recipe, str(tmp_path), tmp_path / "run")


def test_train_and_dev_files_train_together_with_a_seeded_hold_out(tmp_path):
    import re

    root = _data_dir(tmp_path)
    dev = root / "uner_en_ewt" / "en_ewt-ud-dev.iob2"
    dev.write_text(re.sub(r"(?m)^(\d+)\t", r"\1\tdev-", dev.read_text()))
    data = validate({"corpus": "uner_en_ewt", "train_files": ["train", "dev"],
                     "valid_fraction": 0.25}, recipe_module.DATA_SCHEMA, "data")
    files = {name: recipe_module.read_split_file(data, name, str(root))
             for name in ("train", "dev", "test")}
    splits = recipe_module.corpus_splits(data, 0, str(root), "BIOES")
    pooled = files["train"] + files["dev"]
    words = lambda sentences: sorted(" ".join(s.tokens) for s in sentences)  # noqa: E731
    assert words(splits["train"] + splits["valid"]) == words(pooled)
    assert len(splits["valid"]) == round(len(pooled) * 0.25)
    for split in ("train", "valid"):
        assert {s.tokens[0].startswith("dev-") for s in splits[split]} == {True, False}
    assert words(splits["test"]) == words(files["test"])
    assert recipe_module.corpus_splits(data, 0, str(root), "BIOES") == splits
    assert recipe_module.corpus_splits(data, 1, str(root), "BIOES")["valid"] != splits["valid"]
    fixed = {**data, "split_seed": 0}
    assert recipe_module.corpus_splits(fixed, 1, str(root), "BIOES") == splits
    assert (recipe_module.corpus_splits({**data, "split_seed": 1}, 0, str(root), "BIOES")
            == recipe_module.corpus_splits(data, 1, str(root), "BIOES"))
    with pytest.raises(ConfigError, match=r"data\.split_seed: must be >= 0"):
        validate({**data, "split_seed": -1}, recipe_module.DATA_SCHEMA, "data")


def test_unknown_split(pos_run, data_dir):
    with pytest.raises(ValueError, match="unknown split"):
        recipe_module.evaluate(pos_run[0], str(data_dir), "holdout")


def test_loaded_run_tags_text_and_lists_entities(ner_run):
    import rnnzoo

    model = rnnzoo.load(ner_run[0])
    pairs = model.tag("Mary works for Google in London .")
    assert [token for token, _ in pairs] == ["Mary", "works", "for", "Google", "in", "London", "."]
    assert all(tag == "O" or tag[:2] in ("B-", "I-") for _, tag in pairs)
    assert model.tag(["a", "b"]) == model.tag("a b")
    assert len(model.tag([["a"], ["b", "c"]])) == 2
    with pytest.raises(ValueError, match="no tokens"):
        model.tag("   ")


def test_entities_are_the_iob2_spans(ner_run, monkeypatch):
    import rnnzoo

    model = rnnzoo.load(ner_run[0])
    tags = ["B-PER", "I-PER", "O", "B-ORG", "B-LOC", "I-LOC", "I-PER", "O"]
    monkeypatch.setattr(model, "tag", lambda text: list(zip(text.split(), tags)))
    assert model.entities("Mary Smith works Acme in New York .") == [
        ("Mary Smith", "PER", 0, 2), ("Acme", "ORG", 3, 4), ("in New", "LOC", 4, 6),
        ("York", "PER", 6, 7)]


SENTENCES = ["John Smith flew to Paris on Monday .", "Bank of America", "x"]


class TestTaggerContract(TaskContract):
    RECIPE = NER
    OWN_FILES = {"words.txt", "chars.txt", "tags.txt"}

    @pytest.fixture
    def run(self, ner_run):
        return ner_run

    def in_process(self, model):
        return [[tag for _, tag in model.tag(sentence)] for sentence in SENTENCES]

    def served(self, signatures):
        out = signatures["serving_default"](sentences=tf.constant(SENTENCES))
        return [[t.decode() for t in row[:n]]
                for row, n in zip(out["tags"].numpy(), out["lengths"].numpy())]


def _averaged(momentum, start=0, epochs=1) -> dict:
    training = {**TRAINING, "epochs": epochs, "batch_size": 2, "shuffle": False, "word_dropout": 0.0,
                "singleton_dropout": 0.0, "average_momentum": momentum,
                "average_start": start}
    return {**POS, "training": training}


def _trained(recipe, data_dir, out, resume=False):
    recipe_module.train(recipe, str(data_dir), out, resume=resume)
    history = json.loads((out / "history.json").read_text())
    return history, keras.saving.load_model(out / "model.keras").get_weights()


def _largest_difference(weights, others) -> float:
    return max(float(abs(a - b).max()) for a, b in zip(weights, others))


def test_an_averaged_tagger_keeps_the_average_from_its_start_epoch_on(data_dir, tmp_path):
    plain, plain_weights = _trained(_averaged(None), data_dir, tmp_path / "plain")
    averaged, averaged_weights = _trained(_averaged(0.9), data_dir, tmp_path / "averaged")
    unstarted, unstarted_weights = _trained(_averaged(0.9, start=1), data_dir,
                                            tmp_path / "unstarted")
    assert averaged["loss"] == pytest.approx(plain["loss"], rel=1e-5)
    assert _largest_difference(averaged_weights, plain_weights) > 1e-3
    assert unstarted["val_accuracy"] == pytest.approx(plain["val_accuracy"], rel=1e-6)
    assert _largest_difference(unstarted_weights, plain_weights) < 1e-6


@pytest.mark.parametrize("momentum, start",
                         [(None, 0), pytest.param(0.9, 1, marks=pytest.mark.slow)])
def test_an_averaged_tagger_resumed_trains_on_as_an_uninterrupted_one(data_dir, tmp_path,
                                                                      momentum, start):
    whole, whole_weights = _trained(_averaged(momentum, start, epochs=2), data_dir,
                                    tmp_path / "whole")
    _trained(_averaged(momentum, start, epochs=1), data_dir, tmp_path / "parts")
    parts, parts_weights = _trained(_averaged(momentum, start, epochs=2), data_dir,
                                    tmp_path / "parts", resume=True)
    assert parts["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    assert parts["val_accuracy"] == pytest.approx(whole["val_accuracy"], rel=1e-6)
    assert _largest_difference(parts_weights, whole_weights) < 1e-5


def test_a_tagger_averaging_start_without_a_momentum_is_refused(data_dir, tmp_path):
    with pytest.raises(ConfigError, match="training.average_start: nothing is averaged"):
        recipe_module.train(_averaged(None, start=1), str(data_dir), tmp_path / "run")
