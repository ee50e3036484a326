"""The tagger: every cell × implementation × head, conversion, learning, saving, configs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnzoo.layers import convert_model
from rnnzoo.layers.crf import CRFModel
from rnnzoo.metrics import entity_scores, token_accuracy
from rnnzoo.tasks.tagger import model as tagger
from rnnzoo.training.config import CELLS, IMPLEMENTATIONS, ConfigError

TAGS = ["O", "B-PER", "B-LOC"]
TINY = dict(word_vocab_size=30, char_vocab_size=12, num_tags=3, word_dim=6, char_dim=4,
            char_hidden=3, hidden=5)


def _inputs(rng, n=4, steps=5, vocab=30):
    """Word ids right-padded with 0; each word spelled by its two decimal digits (+1)."""
    words = rng.integers(1, vocab, size=(n, steps))
    lengths = rng.integers(1, steps + 1, size=n)
    words[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    chars = np.stack([words // 10 + 1, words % 10 + 1, np.zeros_like(words)], axis=-1)
    chars[words == 0] = 0
    return {"words": words.astype("int32"), "chars": chars.astype("int32")}


def _randomise(model, rng):
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                       for w in model.get_weights()])


@pytest.mark.parametrize("head", ["crf", "softmax"])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_builds_every_cell_implementation_and_head(cell, implementation, head):
    model = tagger.build({**TINY, "cell": cell, "implementation": implementation, "head": head,
                          "char_features": None})
    x = {"words": _inputs(np.random.default_rng(0))["words"]}
    out = np.asarray(model(x))
    assert isinstance(model, CRFModel) == (head == "crf")
    assert out.shape == ((4, 5) if head == "crf" else (4, 5, 3))


@pytest.mark.parametrize("char_features", ["cnn", "bilstm", None])
def test_character_features(char_features):
    model = tagger.build({**TINY, "char_features": char_features, "num_layers": 2})
    assert sorted(model.input) == (["chars", "words"] if char_features else ["words"])
    x = _inputs(np.random.default_rng(1))
    ids = tagger.tagging_function(model, TAGS, None)({k: x[k] for k in model.input}).numpy()
    assert ids.shape == (4, 5) and ((ids >= 0) & (ids < len(TAGS))).all()


@pytest.mark.parametrize("head", ["crf", "softmax"])
@pytest.mark.parametrize("char_features", ["cnn", "bilstm", None])
def test_a_sentence_is_tagged_alike_alone_and_in_a_padded_batch(char_features, head):
    model = tagger.build({**TINY, "char_features": char_features, "head": head})
    rng = np.random.default_rng(3)
    _randomise(model, rng)
    x = {k: v for k, v in _inputs(rng, n=6, steps=7).items() if k in model.input}
    batch = np.asarray(model(x))
    for row in range(6):
        length = int((x["words"][row] != 0).sum())
        alone = {k: v[row:row + 1, :length] for k, v in x.items()}
        np.testing.assert_allclose(np.asarray(model(alone))[0], batch[row, :length],
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell,char_features,head", [("lstm", "bilstm", "crf"),
                                                     ("gru", "cnn", "softmax")])
def test_explicit_model_converts_to_builtin(cell, char_features, head):
    rng = np.random.default_rng(2)
    model = tagger.build({**TINY, "cell": cell, "char_features": char_features, "head": head,
                          "implementation": "explicit"})
    _randomise(model, rng)
    builtin = convert_model(model, to="builtin")
    recurrent = [layer.forward_layer for layer in builtin.layers
                 if isinstance(layer, keras.layers.Bidirectional)]
    assert recurrent and all(type(layer).__module__.startswith("keras.") for layer in recurrent)
    assert type(builtin) is type(model)
    x = {k: v for k, v in _inputs(rng, n=8).items() if k in model.input}
    np.testing.assert_array_equal(tagger.tagging_function(builtin, TAGS, None)(x),
                                  tagger.tagging_function(model, TAGS, None)(x))
    if head == "softmax":
        np.testing.assert_allclose(builtin.predict(x, verbose=0), model.predict(x, verbose=0),
                                   atol=1e-5)


@pytest.mark.parametrize("head,char_features", [("crf", "bilstm"), ("softmax", "cnn")])
def test_learns_a_toy_task(head, char_features):
    """tag = word mod 3 (O, B-PER, B-LOC), readable from the word or from its last digit."""
    rng = np.random.default_rng(3)
    keras.utils.set_random_seed(3)
    train, test = _inputs(rng, n=256, steps=8), _inputs(rng, n=64, steps=8)
    gold = np.where(train["words"] > 0, train["words"] % 3, 0)
    model = tagger.build({**TINY, "head": head, "char_features": char_features, "dropout": 0.1,
                          "hidden": 16})
    tagger.compile_for_training(model, learning_rate=0.02)
    history = model.fit(train, gold, epochs=6, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < 0.2 * history[0]
    names = tagger.tag_strings(np.where(test["words"] > 0, test["words"] % 3, 0),
                               test["words"], TAGS)
    tag = tagger.tagging_function(model, TAGS, "IOB2")
    predicted = tagger.tag_strings(tag(test).numpy(), test["words"], TAGS)
    assert token_accuracy(names, predicted) > 0.95
    assert entity_scores(names, predicted, "IOB2")["f1"] > 0.9


@pytest.mark.parametrize("head,char_features", [("crf", "bilstm"), ("softmax", "cnn")])
def test_keras_file_round_trip(tmp_path, head, char_features):
    rng = np.random.default_rng(4)
    model = tagger.build({**TINY, "head": head, "char_features": char_features})
    _randomise(model, rng)
    x = _inputs(rng, n=6)
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_tag_strings_drop_padding():
    words = np.array([[3, 4, 0], [5, 0, 0]])
    assert tagger.tag_strings(np.array([[1, 0, 2], [2, 1, 1]]), words, TAGS) == [
        ["B-PER", "O"], ["B-LOC"]]


@pytest.mark.parametrize("change,key", [
    ({"colour": "red"}, "tagger.colour"),
    ({"hidden": "8"}, "tagger.hidden"),
    ({"num_layers": 0}, "tagger.num_layers"),
    ({"head": "mlp"}, "tagger.head"),
    ({"cell": "transformer"}, "tagger.cell"),
    ({"dropout": 1.0}, "tagger.dropout"),
    ({"char_features": "bilstm", "char_vocab_size": None}, "tagger.char_vocab_size"),
    ({"word_vocab_size": None}, "tagger.word_vocab_size"),
])
def test_bad_configs_name_the_key(change, key):
    config = {**TINY, **change}
    if change.get("word_vocab_size", 0) is None:
        del config["word_vocab_size"]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        tagger.build(config)


def test_the_preprocessor_splits_on_white_space_and_spells_each_token():
    from rnnzoo.tasks.tagger.preprocessing import TaggerPreprocessor

    pre = TaggerPreprocessor(["<pad>", "<unk>", "paris"], ["<pad>", "<unk>", "P", "a"],
                             lowercase=True, max_word_chars=2, max_tokens=2)
    out = pre(tf.constant(["Paris is nice", "pa"]))
    assert out["words"].numpy().tolist() == [[2, 1], [1, 0]]
    assert out["tokens"].numpy().tolist() == [[b"Paris", b"is"], [b"pa", b""]]
    assert out["chars"].numpy().tolist() == [[[2, 3], [1, 1]], [[1, 3], [0, 0]]]
    again = TaggerPreprocessor.from_config(pre.get_config())
    assert again(tf.constant(["PARIS"]))["words"].numpy().tolist() == [[2]]


@pytest.mark.parametrize("scheme, probabilities, want", [
    (None, [[0.1, 0.9, 0.0], [0.2, 0.1, 0.7]], ["I-PER", "O"]),
    ("IOB2", [[0.1, 0.9, 0.0], [0.2, 0.1, 0.7]], ["B-PER", "O"]),
])
def test_tag_answers_decode_among_the_allowed_paths(scheme, probabilities, want):
    from rnnzoo.tasks.tagger.preprocessing import TagAnswers

    names = ["B-PER", "I-PER", "O"]
    out = TagAnswers(names, scheme)(tf.constant([probabilities + [[1.0, 0.0, 0.0]]]),
                                    tf.constant([[3, 4, 0]]), tf.constant([["a", "b", ""]]))
    assert [t.decode() for t in out["tags"].numpy()[0]] == [*want, ""]
    assert out["lengths"].numpy().tolist() == [2]
