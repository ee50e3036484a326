"""Classifier builder, pooling layers and the classification metrics."""

import keras
import numpy as np
import pytest

from rnnzoo import metrics
from rnnzoo.layers import convert_model
from rnnzoo.layers.pooling import AttentionPooling, MaskedMaxPooling
from rnnzoo.tasks.classifier import model as classifier
from rnnzoo.training.config import ConfigError


def toy_data(n=256, length=12, vocab=30, seed=0):
    """Label 1 iff token 7 occurs: a task a recurrent encoder solves quickly."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, length + 1, size=n)
    ids = np.zeros((n, length), "int32")
    labels = np.zeros(n, "int32")
    for k, size in enumerate(lengths):
        ids[k, :size] = rng.integers(8, vocab, size=size)
        if rng.random() < 0.5:
            ids[k, rng.integers(0, size)] = 7
            labels[k] = 1
    return ids, labels


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("implementation", ["explicit", "builtin"])
@pytest.mark.parametrize("pooling", ["last", "max", "attention"])
def test_builder_every_cell_implementation_and_pooling(cell, implementation, pooling):
    model = classifier.build({"vocab_size": 30, "num_classes": 3, "embedding_dim": 8,
                              "hidden": 6, "cell": cell, "implementation": implementation,
                              "pooling": pooling})
    ids, _ = toy_data(n=4)
    probabilities = np.asarray(model(ids))
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    other = convert_model(model, to="builtin" if implementation == "explicit" else "explicit")
    np.testing.assert_allclose(other(ids), probabilities, atol=1e-5)


def test_classifier_learns_toy_task():
    keras.utils.set_random_seed(0)
    ids, labels = toy_data()
    model = classifier.compile_for_training(
        classifier.build({"vocab_size": 30, "num_classes": 2, "embedding_dim": 16, "hidden": 16}),
        learning_rate=1e-2,
    )
    model.fit(ids[:200], labels[:200], batch_size=32, epochs=15, verbose=0)
    predicted = model.predict(ids[200:], verbose=0).argmax(axis=1)
    assert metrics.accuracy(labels[200:], predicted) >= 0.9
    assert metrics.macro_f1(labels[200:], predicted) >= 0.9


def test_padding_does_not_change_pooled_outputs():
    x = np.random.default_rng(1).normal(size=(1, 4, 3)).astype("float32")
    padded = np.concatenate([x, 100 * np.ones((1, 2, 3), "float32")], axis=1)
    mask = np.array([[1, 1, 1, 1, 0, 0]], bool)
    for layer in (MaskedMaxPooling(), AttentionPooling(5)):
        np.testing.assert_allclose(layer(padded, mask=mask), layer(x), atol=1e-6)


def test_macro_f1_and_accuracy_values():
    gold, predicted = ["a", "a", "b", "b"], ["a", "b", "b", "b"]
    assert metrics.accuracy(gold, predicted) == 0.75
    assert metrics.macro_f1(gold, predicted) == pytest.approx((2 / 3 + 0.8) / 2)
    with pytest.raises(ValueError, match="as many predictions"):
        metrics.accuracy(gold, predicted[:3])


@pytest.mark.parametrize("config, message", [
    ({"vocab_size": 10, "num_classes": 2, "pool": "max"}, "classifier.pool: unknown key"),
    ({"vocab_size": 10, "num_classes": 1}, "classifier.num_classes: must be >= 2"),
    ({"vocab_size": 10, "num_classes": 2, "pooling": "mean"}, "classifier.pooling: must be one of"),
    ({"vocab_size": 10, "num_classes": 2, "hidden": 2.5}, "classifier.hidden: expected int"),
])
def test_bad_configs_name_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        classifier.build(config)


def test_the_preprocessor_reads_raw_texts_as_the_recipe_does():
    import tensorflow as tf

    from rnnzoo.tasks.classifier.preprocessing import ClassifierPreprocessor, tokenize

    vocabulary = ["<pad>", "<unk>", "free", "!", "money"]
    pre = ClassifierPreprocessor(vocabulary, lowercase=True, max_tokens=3)
    ids = pre(tf.constant(["FREE money!!", "", "Money"])).numpy()
    assert ids.tolist() == [[2, 4, 3], [1, 0, 0], [4, 0, 0]]
    assert [vocabulary[i] for i in ids[0]] == tokenize(["FREE money!!"], True)[0][:3]
    again = ClassifierPreprocessor.from_config(pre.get_config())
    assert again(tf.constant(["money"])).numpy().tolist() == [[4]]


def test_label_answers_name_the_most_probable_class():
    import tensorflow as tf

    from rnnzoo.tasks.classifier.preprocessing import LabelAnswers

    out = LabelAnswers(["ham", "spam"])(tf.constant([[0.2, 0.8], [0.9, 0.1]]))
    assert out["label"].numpy().tolist() == [b"spam", b"ham"]
    np.testing.assert_allclose(out["probability"].numpy(), [0.8, 0.9])
