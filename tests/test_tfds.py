"""A recipe's ``data.tfds`` reads a TensorFlow Datasets dataset: every task trains and evaluates
on one end to end through ``rnnzoo train`` and ``rnnzoo evaluate``, offline under
``tfds.testing.mock_data`` (random examples with the dataset's real features)."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import yaml
from click.testing import CliRunner

from rnnzoo.cli import main
from rnnzoo.data.tfds import TfdsFeatureError, read_tfds
from rnnzoo.training.config import ConfigError
from rnnzoo.training.datafiles import tfds_splits

SMALL = {"embedding_dim": 8, "hidden": 8}
RECIPES = {
    "language_model": ({"level": "char", "cell": "gru", "num_layers": 1, "tie_weights": False,
                        **SMALL},
                       {"tfds": {"name": "tiny_shakespeare",
                                 "splits": {"train": "train", "valid": "validation",
                                            "test": "test"}}},
                       {"batch_size": 2, "bptt": 10, "epochs": 1, "eval_bptt": 20}),
    "tagger": ({"cell": "lstm", "word_dim": 8, "hidden": 8, "char_features": None,
                "scheme": None},
               {"tfds": {"name": "conll2003", "features": {"tags": "pos"},
                         "splits": {"train": "train", "test": "test"}, "valid_fraction": 0.25}},
               {"batch_size": 4, "epochs": 1}),
    "seq2seq": ({"cell": "gru", **SMALL, "beam_size": 2},
                {"tfds": {"name": "ted_hrlr_translate/pt_to_en",
                          "features": {"source": "pt", "target": "en"},
                          "splits": {"train": "train", "valid": "validation", "test": "test"}}},
                {"batch_size": 4, "epochs": 1}),
    "classifier": ({"cell": "gru", **SMALL, "pooling": "max"},
                   {"tfds": {"name": "imdb_reviews",
                             "splits": {"train": "train", "valid": "test[:50%]",
                                        "test": "test[50%:]"}}},
                   {"batch_size": 4, "epochs": 1}),
}
HEADLINE = {"language_model": "bits_per_char", "tagger": "accuracy", "seq2seq": "bleu",
            "classifier": "accuracy"}


def aligned_conll2003(self, *args, **kwargs):
    """CoNLL-2003 examples whose tag sequences are as long as their tokens (TFDS's random
    mock draws each sequence's length alone) and whose entity tags are valid IOB2."""
    rng = np.random.default_rng(0)
    entity = [1, 2, 2]  # B-PER I-PER I-PER

    def examples():
        for number in range(40):
            length = 3 + number % 5
            yield {"tokens": [f"w{k}".encode() for k in rng.integers(0, 20, length)],
                   "pos": rng.integers(0, 47, length), "chunks": rng.integers(0, 23, length),
                   "ner": (entity + [0] * length)[:length]}

    return tf.data.Dataset.from_generator(examples, output_types=self.info.features.dtype,
                                          output_shapes=self.info.features.shape)


def mock_data(task):
    if task == "tagger":
        return tfds.testing.mock_data(as_dataset_fn=aligned_conll2003)
    return tfds.testing.mock_data(num_examples=40)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("task", sorted(RECIPES))
def test_rnnzoo_train_reads_a_tfds_dataset_and_evaluate_reproduces_it(task, tmp_path):
    model, data, training = RECIPES[task]
    recipe = {"name": f"tfds-{task.replace('_', '-')}", "task": task, "seed": 0,
              "description": "a TFDS test recipe", "model": model, "data": data,
              "vocabulary": {"min_count": 1} if task != "seq2seq" else {},
              "training": training}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with mock_data(task):
        trained = run("train", path, "--out", tmp_path / "run", "--verbose", "0")
        assert trained.exit_code == 0, trained.output
        metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
        assert sorted(metrics) == ["test", "valid"]
        evaluated = run("evaluate", tmp_path / "run", "--split", "test", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    key = HEADLINE[task]
    assert json.loads(evaluated.stdout)[key] == pytest.approx(metrics["test"][key], rel=1e-6)


def test_read_tfds_gives_names_of_class_labels_and_decoded_text():
    with tfds.testing.mock_data(num_examples=3):
        reviews = read_tfds("imdb_reviews", "test", {"text": "text", "label": "label"})
    with mock_data("tagger"):
        sentences = read_tfds("conll2003", "train", {"tokens": "tokens", "tags": "ner"})
    assert len(reviews) == 3 and {r["label"] for r in reviews} <= {"neg", "pos"}
    assert all(isinstance(r["text"], str) for r in reviews)
    ner = {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"}
    assert all(len(s["tokens"]) == len(s["tags"]) and set(s["tags"]) <= ner for s in sentences)
    assert sentences[0] == {"tokens": sentences[0]["tokens"], "tags": ["B-PER", "I-PER", "I-PER"]}


def test_a_field_mapped_to_a_missing_feature_names_the_features():
    with tfds.testing.mock_data(num_examples=2), pytest.raises(
            TfdsFeatureError, match=r"imdb_reviews has no feature 'body' \(its features: "
                                    r"\['label', 'text'\]\)"):
        read_tfds("imdb_reviews", "test", {"text": "body", "label": "label"})


@pytest.mark.parametrize("spec, message", [
    ({"name": "imdb_reviews", "splits": {"valid": "test"}}, "data.tfds.splits: must map train"),
    ({"name": "imdb_reviews", "splits": {"train": "train", "dev": "test"}},
     "data.tfds.splits: must map train"),
    ({"name": "imdb_reviews", "splits": {"train": "train"}, "features": {"body": "text"}},
     "data.tfds.features: unknown field 'body'; the task's fields are \\['text', 'label'\\]"),
])
def test_a_bad_tfds_section_is_refused_before_anything_is_read(spec, message):
    with pytest.raises(ConfigError, match=message):
        tfds_splits(spec, ("text", "label"), list, seed=0)


def test_without_a_valid_split_the_training_examples_give_one():
    with tfds.testing.mock_data(num_examples=20):
        splits = tfds_splits({"name": "imdb_reviews", "splits": {"train": "train"},
                              "valid_fraction": 0.25}, ("text", "label"), list, seed=0)
    assert sorted(splits) == ["train", "valid"]
    assert (len(splits["train"]), len(splits["valid"])) == (15, 5)
