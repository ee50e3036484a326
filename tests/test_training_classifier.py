"""The classifier recipe end to end on a tiny e-mail corpus made from the committed fixtures."""

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import yaml
from task_contract import TaskContract

from rnnzoo.data import email_text
from rnnzoo.tasks.classifier import preprocessing
from rnnzoo.tasks.classifier import recipe as classifier
from rnnzoo.training.recipe import validate_recipe

FIXTURES = Path(__file__).parent / "data" / "spamassassin"
FOLDER = "spam_assassin/package/data"
RECIPE = {
    "name": "tiny-spam",
    "task": "classifier",
    "description": "test",
    "seed": 0,
    "model": {"implementation": "builtin", "embedding_dim": 8, "hidden": 8, "attention_units": 4},
    "data": {"max_tokens": 40},
    "vocabulary": {"min_count": 1},
    "training": {"batch_size": 4, "epochs": 1, "eval_batch_size": 3},
}
RUN_FILES = {"model.keras", "config.yaml", "vocab.txt", "labels.txt", "metrics.json",
             "history.json", "checkpoints"}


def write_corpus(root: Path, copies: int = 6) -> None:
    """The three fixture e-mails and, for each, ``copies`` plain-text variants (its body's words
    shuffled), in the npm package's layout."""
    rng = random.Random(0)
    for path in sorted(FIXTURES.glob("*/*.json")):
        record = json.loads(path.read_text())
        group = root / FOLDER / path.parent.name
        group.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, group / path.name)
        words = email_text(record["text"]).split()
        for k in range(copies):
            rng.shuffle(words)
            text = "From: someone@example.com\nSubject: variant\n\n" + " ".join(words[:60])
            variant = {**record, "id": f"{record['id']}-{k}", "text": text}
            (group / f"{path.stem}-{k}.json").write_text(json.dumps(variant))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_corpus(root)
    return root


@pytest.fixture(scope="module")
def run(data_dir, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run")
    return out, classifier.train(RECIPE, str(data_dir), out)


def test_tokenize_splits_punctuation_and_lowercases():
    assert preprocessing.tokenize(["FREE money!!! Click", "Hi,  Bob", ""], True) == [
        ["free", "money", "!", "!", "!", "click"], ["hi", ",", "bob"], []]
    assert preprocessing.tokenize(["Hi,  Bob"], False) == [["Hi", ",", "Bob"]]
    assert preprocessing.tokenize([], False) == []


def test_unique_heads_drops_empty_and_repeated():
    assert classifier.unique_heads([["a"], [], ["b"], ["a"], ["a", "b"]]) == [0, 2, 4]
    assert classifier.unique_heads([]) == []


def test_stratified_split_is_seeded_disjoint_and_stratified():
    labels = ["ham"] * 40 + ["spam"] * 20
    split = classifier.stratified_split(labels, 0.1, 0.25, seed=3)
    assert split == classifier.stratified_split(labels, 0.1, 0.25, seed=3)
    assert sorted(sum(split.values(), [])) == list(range(60))
    assert [labels[i] for i in split["test"]].count("spam") == 2
    assert [labels[i] for i in split["valid"]].count("ham") == 9
    assert split != classifier.stratified_split(labels, 0.1, 0.25, seed=4)


def test_run_folder_and_metrics(run):
    out, metrics = run
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    assert (out / "labels.txt").read_text() == "ham\nspam\n"
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["model"]["num_classes"] == 2
    assert config["model"]["vocab_size"] == len((out / "vocab.txt").read_text().splitlines())
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert set(metrics) == {"valid", "test"}
    assert metrics["test"]["examples"] == 2
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert len(json.loads((out / "history.json").read_text())["loss"]) == 1


def test_missing_data_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="spam_assassin/package/data"):
        classifier.train(RECIPE, str(tmp_path), tmp_path / "run")


def test_short_views_are_seeded_crops_of_each_training_document():
    from rnnzoo.data.documents import Document

    docs = [Document(" ".join(f"w{k}" for k in range(50)), "spam"),
            Document("a b", "ham")]
    views = classifier.short_views(docs, 3, seed=0)
    assert [v.label for v in views] == ["spam"] * 3 + ["ham"] * 3
    low, high = classifier.SHORT_VIEW_TOKENS
    long_views = [v.text.split(" ") for v in views[:3]]
    assert long_views[0][0] == "w0"
    for tokens in long_views:
        assert low <= len(tokens) <= high
        first = int(tokens[0][1:])
        assert tokens == [f"w{k}" for k in range(first, first + len(tokens))]
    assert [v.text for v in views[3:]] == ["a b"] * 3
    assert views == classifier.short_views(docs, 3, seed=0)
    assert classifier.short_views(docs, 0, seed=0) == []


def test_split_seed_fixes_the_split_and_leaves_the_short_views_to_the_seed(data_dir):
    def splits(seed, **data):
        return classifier.corpus_splits(preprocessing_data({"short_views": 1, **data}),
                                        str(data_dir), seed=seed)

    def held_out(result):
        return {name: result[name] for name in ("valid", "test")}

    base, reseeded = splits(0), splits(3, split_seed=0)
    emails = len(base["train"]) // 2
    assert splits(0, split_seed=0) == base
    assert held_out(reseeded) == held_out(base)
    assert reseeded["train"][:emails] == base["train"][:emails]
    assert reseeded["train"][emails:] != base["train"][emails:]
    assert held_out(splits(0, split_seed=3)) == held_out(splits(3)) != held_out(base)
    with pytest.raises(ValueError, match="split_seed"):
        preprocessing_data({"split_seed": -1})


def _averaged(momentum, epochs=2) -> dict:
    return {**RECIPE, "training": {**RECIPE["training"], "epochs": epochs, "shuffle": False,
                                   "average_momentum": momentum}}


def _trained(recipe, data_dir, out, resume=False):
    classifier.train(recipe, str(data_dir), out, resume=resume)
    history = json.loads((out / "history.json").read_text())
    from rnnzoo.saving import load_keras

    return history, load_keras(out / "model.keras").get_weights()


def test_averaging_changes_what_is_validated_and_kept_never_what_is_trained(data_dir, tmp_path):
    plain, plain_weights = _trained(_averaged(None), data_dir, tmp_path / "plain")
    averaged, averaged_weights = _trained(_averaged(0.9), data_dir, tmp_path / "averaged")
    np.testing.assert_allclose(averaged["loss"], plain["loss"], rtol=1e-5)
    assert all(abs(a - p) > 1e-4 for a, p in zip(averaged["val_loss"], plain["val_loss"]))
    assert max(np.abs(a - p).max() for a, p in zip(averaged_weights, plain_weights)) > 1e-3


@pytest.mark.parametrize("momentum", [None, pytest.param(0.9, marks=pytest.mark.slow)])
def test_an_averaged_run_resumed_trains_on_as_an_uninterrupted_one(data_dir, tmp_path, momentum):
    whole, whole_weights = _trained(_averaged(momentum), data_dir, tmp_path / "whole")
    _trained(_averaged(momentum, epochs=1), data_dir, tmp_path / "parts")
    parts, parts_weights = _trained(_averaged(momentum), data_dir, tmp_path / "parts", resume=True)
    np.testing.assert_allclose(parts["val_loss"], whole["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(parts["loss"], whole["loss"], rtol=1e-5)
    for got, want in zip(parts_weights, whole_weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


EWT_SLICE = Path(__file__).parent / "data" / "en_ewt_slice.conllu"


def _short_texts_splits(data_dir, short_texts):
    shutil.copy(EWT_SLICE, data_dir / "slice.conllu")
    recipe = {**RECIPE, "data": {**RECIPE["data"], "short_texts": short_texts}}
    return classifier._prepared(validate_recipe(recipe), str(data_dir))[2]


def test_short_texts_join_the_training_split_only(data_dir, tmp_path):
    splits = _short_texts_splits(data_dir, {"file": "slice.conllu", "label": "ham",
                                            "sent_id": "answers"})
    plain = classifier.corpus_splits(preprocessing_data({}), str(data_dir), seed=0)
    added = splits["train"][len(plain["train"]):]
    assert splits["train"][:len(plain["train"])] == plain["train"]
    assert [d.label for d in added] == ["ham"]
    assert added[0].text.startswith("i would really love to hear what the french")
    assert splits["valid"] == plain["valid"] and splits["test"] == plain["test"]
    (data_dir / "slice.conllu").unlink()
    evaluated = classifier.corpus_splits(preprocessing_data({"short_texts": {
        "file": "slice.conllu", "label": "ham"}}), str(data_dir), seed=0)
    assert evaluated == plain


@pytest.mark.parametrize("short_texts, message", [
    ({"file": "slice.conllu"}, r"data.short_texts.*label"),
    ({"file": "slice.conllu", "label": "ham", "sent_id": "email"},
     r"no sentence text whose sent_id starts with 'email'"),
    ({"file": "slice.conllu", "label": "Ham"},
     r"data.short_texts.label: 'Ham' is not one of the corpus's labels \['ham', 'spam'\]"),
])
def test_short_texts_refuse_a_missing_key_an_unmatched_prefix_and_a_new_label(
        data_dir, short_texts, message):
    with pytest.raises(Exception, match=message):
        _short_texts_splits(data_dir, short_texts)


def preprocessing_data(extra: dict) -> dict:
    from rnnzoo.training.config import validate

    return validate({**RECIPE["data"], **extra}, preprocessing.DATA_SCHEMA, "data")


QUESTIONS = ["Buy cheap meds now, click here!", "hello", "", "win money"]


class TestClassifierContract(TaskContract):
    RECIPE = RECIPE
    OWN_FILES = {"vocab.txt", "labels.txt"}

    def in_process(self, model):
        answers = model.classify(QUESTIONS)
        np.testing.assert_allclose(model.probabilities(QUESTIONS).sum(axis=1), 1.0, atol=1e-5)
        return [label for label, _ in answers] + [p for _, p in answers]

    def served(self, signatures):
        out = signatures["serving_default"](texts=tf.constant(QUESTIONS))
        return ([label.decode() for label in out["label"].numpy()]
                + out["probability"].numpy().tolist())

