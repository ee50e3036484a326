"""Recipe for sequence taggers: POS on UD English EWT, NER on UNER English EWT.

Splits. ``ud_en_ewt`` and ``uner_en_ewt`` have the official train / dev / test files (UNER's
train file is its first public release, see the data README). The sentences of
``train_files`` train, the test file tests, and ``valid_fraction`` of the training sentences
(seeded by ``split_seed``, else by the recipe's ``seed``) are held out for validation
(``0``: the dev file validates).

Features. Word ids come from the training words, lower-cased when ``vocabulary.lowercase``:
EWT's web text is inconsistently cased, and lower-casing cuts the unknown test tokens of POS
from 9.1 % to 7.5 % while the character features (each word's first ``max_word_chars``
characters) keep the case, which names and proper nouns need.
Model tag ``k`` is line ``k + 3`` of ``tags.txt`` (lines 1–2 are ``<pad>`` and ``<unk>``).
With ``model.scheme: BIOES`` the model learns and outputs BIOES tags, converted from and back
to IOB2; entities are always scored on IOB2 tags (seqeval, strict), the corpus's own scheme.

Validation scores (token accuracy; entity precision, recall and F1 with seqeval, strict) are
computed at each epoch end, logged as ``val_<metric>``, and drive learning-rate decay, early
stopping (best weights kept) and the history.
"""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data import (
    CONLLU_COLUMNS,
    UNK_ID,
    TaggedSentence,
    Vocabulary,
    bucket_batch,
    read_conllu,
    read_iob2,
)
from rnnzoo.data.conll import check_iob2_tag
from rnnzoo.data.corpora import data_file
from rnnzoo.data.files import DataFormatError
from rnnzoo.metrics import entity_scores, token_accuracy
from rnnzoo.saving import load_keras
from rnnzoo.tasks.language_model.model import EMBEDDING, rnn_name
from rnnzoo.tasks.tagger import feature_cache, string_features
from rnnzoo.tasks.tagger import model as tagger
from rnnzoo.tasks.tagger.preprocessing import (
    TAG_OFFSET,
    VOCABULARY_SCHEMA,
    Vocabularies,
    corpus_tags,
    features,
    model_scheme,
    model_tags,
    word_keys,
)
from rnnzoo.training import distributed
from rnnzoo.training.averaging import (
    AVERAGE_MOMENTUM,
    AVERAGE_START,
    averaging_callbacks,
    check_averaging,
)
from rnnzoo.training.checkpoints import EpochCheckpoint, ResumedEarlyStopping
from rnnzoo.training.config import PROBABILITY, ConfigError, Field, validate
from rnnzoo.training.datafiles import (
    FILES_FIELD,
    SPLIT_SEED_FIELD,
    TFDS_FIELD,
    file_splits,
    hold_out,
    split_seed,
    tfds_splits,
)
from rnnzoo.training.options import RunOptions
from rnnzoo.training.recipe import validate_recipe
from rnnzoo.training.runs import (
    callbacks as run_callbacks,
)
from rnnzoo.training.runs import (
    finish,
    open_run,
    read_config,
    save_run_files,
    sections,
    start_model,
    vocabulary,
    write_config,
)

logger = logging.getLogger(__name__)


def _read_ud(path: Path, data: dict) -> list[TaggedSentence]:
    return read_conllu(path, data["column"])


def _read_uner(path: Path, data: dict) -> list[TaggedSentence]:
    return read_iob2(path, token_column=1, tag_column=2, entity_types=("PER", "ORG", "LOC"))


class Corpus(NamedTuple):
    """Where a corpus's split files lie (``{}``: train, dev or test), its reader, and whether
    its tags mark entities (NER) or not (POS)."""

    pattern: str
    read: Callable[[Path, dict], list[TaggedSentence]]
    entities: bool


CORPORA = {
    "ud_en_ewt": Corpus("ud_en_ewt/en_ewt-ud-{}.conllu", _read_ud, entities=False),
    "uner_en_ewt": Corpus("uner_en_ewt/en_ewt-ud-{}.iob2", _read_uner, entities=True),
}
SPLITS = ("train", "valid", "test")
SPLIT_ALIASES = {"dev": "valid"}

DATA_SCHEMA = {
    "corpus": Field(str, default=None, nullable=True, choices=tuple(CORPORA),
                    doc="UD English EWT (POS tags) or UNER English EWT (PER, ORG, LOC entities), "
                        "official files; null: `files` or `tfds`"),
    "files": FILES_FIELD,
    "tfds": TFDS_FIELD,
    "column": Field(str, default="upos", choices=CONLLU_COLUMNS,
                    doc="the CoNLL-U column of the tags (`ud_en_ewt`, and `.conllu` files)"),
    "train_files": Field(list, default=["train"],
                         check=(lambda f: bool(f) and len(set(f)) == len(f)
                                and all(x in ("train", "dev") for x in f),
                                "must list 'train' and/or 'dev', each once"),
                         doc="the corpus's official files whose sentences train (with `dev`, "
                             "`valid_fraction` must be > 0)"),
    "valid_fraction": Field(float, default=0.0, low=0.0, high=0.5,
                            doc="corpus: the share of the training sentences held out for "
                                "validation (seeded: `split_seed`); 0: the dev file validates"),
    "split_seed": SPLIT_SEED_FIELD,
}
TRAINING_SCHEMA = {
    "batch_size": Field(int, default=32, low=1, doc="the sentences of a training batch"),
    "shuffle": Field(bool, default=True,
                     doc="reshuffle the training sentences each epoch (seeded); false keeps "
                         "their order (within each length bucket)"),
    "bucket_boundaries": Field(list, default=[10, 20, 30, 45, 60],
                               check=(lambda b: bool(b) and b == sorted(set(b))
                                      and all(isinstance(n, int) and n >= 1 for n in b),
                                      "must be increasing positive integers"),
                               doc="sentence lengths that bound the buckets: a batch holds "
                                   "sentences of one bucket, padded to its longest"),
    "epochs": Field(int, default=20, low=1, doc="the most passes over the training sentences"),
    "learning_rate": Field(float, default=1e-3, low=0.0, doc="Adam's initial learning rate"),
    "clipnorm": Field(float, default=5.0, low=0.0,
                      doc="gradient clipping: each gradient's norm clipped to this; 0: none"),
    "word_dropout": Field(default=0.0, **PROBABILITY,
                          doc="the probability that a training word is replaced by `<unk>`, so "
                              "that its embedding is learnt for the unknown words of test time"),
    "singleton_dropout": Field(default=0.0, **PROBABILITY,
                               doc="the same for the words seen once in training, which resemble "
                                   "unknown words most (Lample et al. 2016 use 0.5)"),
    "lr_decay": Field(float, default=0.5, low=0.0, high=1.0,
                      doc="the factor the learning rate is multiplied by (down to 1e-5) when "
                          "the validation score (F1, else accuracy) stalls"),
    "lr_patience": Field(int, default=1, low=0,
                         doc="the epochs without a better validation score before the learning "
                             "rate decays"),
    "patience": Field(int, default=3, low=1,
                      doc="early stopping: the epochs without a better validation score (F1, "
                          "else accuracy) before training stops"),
    "eval_batch_size": Field(int, default=128, low=1,
                             doc="the sentences tagged at once when validating and evaluating"),
    "average_momentum": AVERAGE_MOMENTUM,
    "average_start": AVERAGE_START,
    "cache_string_features": Field(bool, default=True,
                                   doc="with `string_lms`: compute each sentence's string "
                                       "features once and fit the layers above them (the same "
                                       "training, faster); false runs the language models at "
                                       "every step"),
}


def build_vocabularies(sentences: Sequence[TaggedSentence], vocab_cfg: dict,
                       scheme: str | None, init: dict | None = None) -> Vocabularies:
    """The vocabularies of the training ``sentences``, tags in the model's ``scheme``; or,
    starting from a trained model (``init``), that model's (see :func:`runs.vocabulary`)."""
    tokens = [t for s in sentences for t in s.tokens]
    built = {
        "words": Vocabulary.build(word_keys(tokens, vocab_cfg), "word",
                                  min_count=vocab_cfg["min_count"], specials=()),
        "chars": Vocabulary.build((c for t in tokens for c in t), "char", specials=()),
        "tags": Vocabulary.build((t for s in sentences for t in model_tags(s.tags, scheme)),
                                 "word", specials=()),
    }
    return Vocabularies(**{name: vocabulary(init, f"{name}.txt", vocab, closed=name == "tags",
                                            what=name)
                           for name, vocab in built.items()})


def string_lm_folders(model: dict) -> dict[str, Path] | None:
    """The recipe model's ``string_lms`` folders by direction (checked), or None."""
    folders = model.get("string_lms")
    if folders is None:
        return None
    if not isinstance(folders, dict) or set(folders) != set(string_features.DIRECTIONS) or \
            not all(isinstance(f, str) and f for f in folders.values()):
        raise ConfigError("model.string_lms: give {forward: FOLDER, backward: FOLDER}, two "
                          f"trained character language models; got {folders!r}")
    return {direction: Path(folders[direction]) for direction in string_features.DIRECTIONS}


def string_lms(folders: dict[str, Path]) -> tuple[dict, Vocabulary]:
    """The shared architecture (``model.string_lm``) and character vocabulary of the
    ``string_lms`` language models; a ConfigError unless both are character language models
    of one architecture and vocabulary, the backward one trained on reversed text."""
    found = {}
    for direction, folder in folders.items():
        where = f"model.string_lms.{direction} ({folder})"
        if not (folder / "config.yaml").is_file():
            raise ConfigError(f"{where}: not a trained model folder (no config.yaml)")
        config = read_config(folder)
        model, data = config.get("model", {}), config.get("data", {})
        if config.get("task") != "language_model" or model.get("level") != "char":
            raise ConfigError(f"{where}: not a character language model")
        if bool(data.get("reverse")) != (direction == "backward"):
            raise ConfigError(f"{where}: trained on text read "
                              f"{'backwards' if data.get('reverse') else 'forwards'}")
        found[direction] = ({key: model[key] for key in string_features.SCHEMA if key in model},
                            Vocabulary.load(folder / "vocab.txt", "char"))
    (forward, forward_vocab), (backward, backward_vocab) = found.values()
    if forward != backward or forward_vocab.tokens != backward_vocab.tokens:
        raise ConfigError("model.string_lms: the forward and backward language models differ in "
                          "architecture or character vocabulary")
    return validate(forward, string_features.SCHEMA, "model.string_lm"), forward_vocab


def string_lms_to_train(recipe: dict) -> tuple[dict, Vocabulary]:
    """The string language models' architecture and vocabulary: from their folders, or, when
    starting from a trained tagger (``init``, e.g. ``rnnzoo finetune``), from that tagger,
    which holds their weights (its ``model.string_lm`` and ``lm_chars.txt``)."""
    if not recipe["init"]:
        return string_lms(string_lm_folders(recipe["model"]))
    base = Path(recipe["init"]["from"])
    architecture = read_config(base).get("model", {}).get("string_lm")
    if architecture is None or not (base / "lm_chars.txt").is_file():
        raise ConfigError(f"init.from: {base} is a tagger without string language models, "
                          "which model.string_lms asks for")
    return (validate(architecture, string_features.SCHEMA, "model.string_lm"),
            Vocabulary.load(base / "lm_chars.txt", "char"))


def copy_string_lms(model: keras.Model, folders: dict[str, Path], num_layers: int) -> None:
    """The trained language models' embedding and recurrent weights copied into ``model``'s
    string-feature layers."""
    for direction, folder in folders.items():
        lm = load_keras(folder / "model.keras")
        sources = [EMBEDDING, *(rnn_name(k) for k in range(num_layers))]
        for source, target in zip(sources, string_features.layer_names(direction, num_layers)):
            model.get_layer(target).set_weights(lm.get_layer(source).get_weights())


def first_singleton(vocabs: Vocabularies, sentences: Sequence[TaggedSentence],
                    vocab_cfg: dict) -> int:
    """The first word id of the words seen once in ``sentences`` (the training split): ids
    go by decreasing count, so these are the last ids."""
    counts = collections.Counter(word_keys((t for s in sentences for t in s.tokens), vocab_cfg))
    once = vocabs.words.ids(word for word, count in counts.items() if count == 1)
    return len(vocabs.words) - int(np.sum(once != UNK_ID))


def read_split_file(data: dict, name: str, data_dir: str | None) -> list[TaggedSentence]:
    """The sentences of the corpus's ``name`` file (train, dev or test)."""
    corpus = CORPORA[data["corpus"]]
    return corpus.read(data_file(corpus.pattern.format(name), data_dir), data)


def read_tagged_file(path: Path, data: dict) -> list[TaggedSentence]:
    """A user's tagged file: CoNLL-U (``.conllu``, tags of ``data.column``) or IOB2 (token and
    tag in the first two columns)."""
    if path.suffix == ".conllu":
        return read_conllu(path, data["column"])
    return read_iob2(path, token_column=0, tag_column=1)


def tfds_sentences(examples: list[dict], name: str, entities: bool) -> list[TaggedSentence]:
    """Tagged sentences of TFDS examples (``tokens``, ``tags``); with ``entities``, each tag
    checked as an IOB2 file's are (errors name the dataset and the example's index)."""
    sentences = []
    for number, example in enumerate(examples, 1):
        tokens, tags = list(example["tokens"]), list(example["tags"])
        if len(tokens) != len(tags):
            raise DataFormatError(f"tfds:{name}", number,
                                  f"{len(tokens)} tokens but {len(tags)} tags")
        if entities:
            for k, tag in enumerate(tags):
                check_iob2_tag(tag, tags[k - 1] if k else "O", None, f"tfds:{name}", number)
        if tokens:
            sentences.append(TaggedSentence(tokens, tags))
    return sentences


def corpus_splits(data: dict, seed: int, data_dir: str | None,
                  scheme: str | None = None) -> dict[str, list]:
    """train / valid / test sentences as ``data`` cuts them (see the module docstring), or
    those of its ``files``, or of its ``tfds`` dataset (entity tags checked when the model has
    a ``scheme``). Random hold-outs are seeded by ``data.split_seed``, else by ``seed``."""
    seed = split_seed(data, seed)
    if data["files"]:
        return file_splits(data["files"], partial(read_tagged_file, data=data), seed, hold_out)
    if data["tfds"]:
        return tfds_splits(data["tfds"], ("tokens", "tags"),
                           partial(tfds_sentences, name=data["tfds"]["name"],
                                   entities=scheme is not None), seed, hold_out)
    test = read_split_file(data, "test", data_dir)
    train = [s for name in data["train_files"] for s in read_split_file(data, name, data_dir)]
    if data["valid_fraction"] > 0:
        train, valid = hold_out(train, data["valid_fraction"], seed)
    else:
        valid = read_split_file(data, "dev", data_dir)
    return {"train": train, "valid": valid, "test": test}


def check_recipe(data: dict, scheme: str | None) -> None:
    """Raises :class:`ConfigError` for settings that contradict each other."""
    if data["valid_fraction"] == 0 and "dev" in data["train_files"]:
        raise ConfigError("data.valid_fraction: must be > 0 when the dev file trains "
                          "(data.train_files)")
    if data["files"] or data["tfds"]:
        return
    if data["corpus"] is None:
        raise ConfigError("data: give a corpus (one of "
                          f"{sorted(CORPORA)}), files or a tfds dataset")
    if CORPORA[data["corpus"]].entities != (scheme is not None):
        need = "IOB2 or BIOES" if CORPORA[data["corpus"]].entities else "null"
        raise ConfigError(f"model.scheme: must be {need} for corpus {data['corpus']}")


def tag_ids(sentences: Sequence[TaggedSentence], vocabs: Vocabularies,
            scheme: str | None) -> tf.RaggedTensor:
    """(N, None) int32 model tag ids of the (training) sentences."""
    ids = vocabs.tags.ids(t for s in sentences for t in model_tags(s.tags, scheme)) - TAG_OFFSET
    return tf.RaggedTensor.from_row_lengths(ids.astype("int32"), [len(s.tags) for s in sentences])


def _dense(x, y):
    as_dense = lambda t: t.to_tensor() if isinstance(t, tf.RaggedTensor) else t  # noqa: E731
    return tf.nest.map_structure(as_dense, x), as_dense(y)


def _drop_words(training: dict, first_singleton: int, x, y):
    words = x["words"]
    probability = tf.where(words >= first_singleton,
                           max(training["word_dropout"], training["singleton_dropout"]),
                           training["word_dropout"])
    keep = tf.random.uniform(tf.shape(words)) >= probability
    return {**x, "words": tf.where(keep, words, UNK_ID)}, y


def batch_count(lengths: np.ndarray, batch_size: int, boundaries: Sequence[int]) -> int:
    """How many batches :func:`bucket_batch` makes of sequences of ``lengths``: each bucket
    ``[boundaries[i-1], boundaries[i])`` gives its full batches and one partial batch."""
    sizes = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
    return int(np.sum(-(-sizes // batch_size)))


def training_dataset(inputs: dict, tags: tf.RaggedTensor, training: dict, seed: int,
                     first_singleton: int) -> tf.data.Dataset:
    """Shuffled (seeded, unless ``training.shuffle`` is false), word-dropped, length-bucketed
    padded batches ``(inputs, tag ids)``, their number known (for progress bars); word ids
    from ``first_singleton`` on are those of the words seen once."""
    ds = tf.data.Dataset.from_tensor_slices((inputs, tags))
    if training["shuffle"]:
        ds = ds.shuffle(int(tags.nrows()), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(_dense)
    if training["word_dropout"] > 0 or training["singleton_dropout"] > 0:
        ds = ds.map(partial(_drop_words, training, first_singleton))
    batches = bucket_batch(ds, training["batch_size"], training["bucket_boundaries"])
    count = batch_count(tags.row_lengths().numpy(), training["batch_size"],
                        training["bucket_boundaries"])
    return batches.apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)


def scores(tag: Callable[[dict], tf.Tensor], inputs: dict, gold: Sequence[Sequence[str]],
           tag_names: Sequence[str], scheme: str | None, batch_size: int) -> dict:
    """Token accuracy against the ``gold`` tags as read and, when the model's ``scheme`` is
    not ``None``, entity precision, recall and F1 (seqeval, strict IOB2)."""
    predicted = [corpus_tags(tags, scheme)
                 for tags in tagger.predict_tags(tag, inputs, tag_names, batch_size)]
    result = {"accuracy": token_accuracy(gold, predicted)}
    if scheme is not None:
        result.update({k: float(v) for k, v in entity_scores(gold, predicted, "IOB2").items()})
    return result


class ValidationScores(keras.callbacks.Callback):
    """At each epoch end, adds ``val_<metric>`` of ``score(tag)`` to the epoch's logs, ``tag``
    being the model's :func:`tagging_function` (``tag_names`` and ``scheme`` its)."""

    def __init__(self, score: Callable[[Callable], dict], tag_names: Sequence[str],
                 scheme: str | None):
        super().__init__()
        self.score, self.tag_names, self.scheme = score, tag_names, scheme
        self.tag = None

    def on_train_begin(self, logs=None):
        self.tag = tagger.tagging_function(self.model, self.tag_names, self.scheme)

    def on_epoch_end(self, epoch, logs=None):
        result = {f"val_{k}": v for k, v in self.score(self.tag).items()}
        logger.info("epoch %d: %s", epoch + 1, result)
        if logs is not None:
            logs.update(result)


def _callbacks(score: Callable, monitor: str, training: dict, checkpoint: EpochCheckpoint,
               tag_names: Sequence[str], scheme: str | None):
    return [
        ValidationScores(score, tag_names, scheme),
        keras.callbacks.ReduceLROnPlateau(monitor, mode="max", factor=training["lr_decay"],
                                          patience=training["lr_patience"], min_lr=1e-5),
        ResumedEarlyStopping(checkpoint.history, monitor, training["patience"], mode="max"),
        checkpoint,
    ]


BATCH_TOKENS = "non-pad words"
"""What the tokens of a training batch are (the training benchmarks' tokens/s)."""


def batch_tokens(x, y) -> int:
    """The tokens of a training batch ``(inputs, tags)``: its non-padding words."""
    return int(np.count_nonzero(x["words"]))


def _prepared(recipe: dict, data_dir: str | None) -> tuple:
    """The recipe's sections, tag scheme, splits, vocabularies and model config."""
    data, vocab_cfg, training = sections(recipe, DATA_SCHEMA, VOCABULARY_SCHEMA, TRAINING_SCHEMA)
    scheme = model_scheme(recipe["model"])
    check_recipe(data, scheme)
    check_averaging(training)
    splits = corpus_splits(data, recipe["seed"], data_dir, scheme)
    vocabs = build_vocabularies(splits["train"], vocab_cfg, scheme, recipe["init"])
    sizes = {"word_vocab_size": len(vocabs.words), "char_vocab_size": len(vocabs.chars),
             "num_tags": len(vocabs.tag_names)}
    if string_lm_folders(recipe["model"]) is not None:
        sizes["string_lm"], lm_chars = string_lms_to_train(recipe)
        vocabs = vocabs._replace(lm_chars=lm_chars)
    model_config = validate({**recipe["model"], **sizes}, tagger.SCHEMA, "model")
    return data, vocab_cfg, training, scheme, splits, vocabs, model_config


def _training_batches(prepared: tuple, seed: int,
                      inputs: Callable[[dict], dict] = lambda x: x) -> tf.data.Dataset:
    """The training batches of the prepared recipe, their inputs passed through ``inputs``."""
    _, vocab_cfg, training, scheme, splits, vocabs, model_config = prepared
    chars = model_config["char_features"] is not None
    return training_dataset(
        inputs(features(splits["train"], vocabs, vocab_cfg, chars)),
        tag_ids(splits["train"], vocabs, scheme),
        training, seed, first_singleton(vocabs, splits["train"], vocab_cfg))


def _compiled(model_config: dict, training: dict, lm_weights: bool = True) -> keras.Model:
    """The compiled tagger, with the string language models' weights when it has them and
    ``lm_weights`` (not when its weights come from a trained tagger)."""
    model = tagger.build(model_config)
    folders = string_lm_folders(model_config)
    if folders is not None and lm_weights:
        copy_string_lms(model, folders, model_config["string_lm"]["num_layers"])
    return tagger.compile_for_training(model, training["learning_rate"], training["clipnorm"],
                                       training["average_momentum"])


def _fitted(model: keras.Model, model_config: dict, training: dict,
            options: RunOptions) -> tuple[keras.Model, Callable[[dict], dict]]:
    """The model to fit and what its inputs are made of the tagger's: with cached string
    features, the tagger's head (:mod:`feature_cache`) and its cached inputs; else the tagger
    and its inputs unchanged."""
    if model_config["string_lm"] is None or not training["cache_string_features"]:
        return model, lambda x: x
    with options.model_scope(options.distribution()):
        head = distributed.prepare(feature_cache.head_model(model), options.distribution())
    return head, partial(feature_cache.cached_inputs, model,
                         batch_size=training["eval_batch_size"])


def training_setup(recipe: dict, data_dir: str | None,
                   replicas: int = 1) -> tuple[keras.Model, tf.data.Dataset]:
    """The compiled model and the training batches :func:`train` fits, without a run folder:
    what the training benchmarks time (``replicas`` does not change a tagger)."""
    recipe = validate_recipe(recipe)
    prepared = _prepared(recipe, data_dir)
    fitted, inputs = _fitted(_compiled(prepared[-1], prepared[2]), prepared[-1], prepared[2],
                             RunOptions())
    return fitted, _training_batches(prepared, recipe["seed"], inputs)


def train(recipe: dict, data_dir: str | None, out_dir: str | os.PathLike,
          resume: bool = False, options: RunOptions = RunOptions()) -> dict:
    """Trains the recipe's tagger into ``out_dir``; returns valid and test metrics."""
    recipe, out = open_run(recipe, out_dir, resume)
    prepared = _prepared(recipe, data_dir)
    data, vocab_cfg, training, scheme, splits, vocabs, model_config = prepared
    chars = model_config["char_features"] is not None
    resolved = {**recipe, "model": model_config, "data": data, "vocabulary": vocab_cfg,
                "training": training}

    def save_files():
        vocabs.save(out)
        write_config(out, resolved)

    save_run_files(save_files)

    checkpoints = out / "checkpoints"
    model, initial_epoch, history = start_model(
        checkpoints, resume, lambda: _compiled(model_config, training, not recipe["init"]),
        recipe["init"], options)
    fitted, inputs = _fitted(model, model_config, training, options)
    train_ds = options.even_batches(_training_batches(prepared, recipe["seed"], inputs))
    score = partial(scores, inputs=inputs(features(splits["valid"], vocabs, vocab_cfg, chars)),
                    gold=[s.tags for s in splits["valid"]], tag_names=vocabs.tag_names,
                    scheme=scheme, batch_size=training["eval_batch_size"])
    monitor = "val_f1" if scheme is not None else "val_accuracy"
    checkpoint = EpochCheckpoint(checkpoints, history, monitor=monitor, mode="max", saved=model)
    fitted.fit(train_ds, epochs=training["epochs"], initial_epoch=initial_epoch, shuffle=False,
               callbacks=[*run_callbacks(out, options),
                          *averaging_callbacks(model, resumed=initial_epoch > 0,
                                               start=training["average_start"]),
                          *_callbacks(score, monitor, training, checkpoint, vocabs.tag_names,
                                      scheme)],
               verbose=options.verbose)

    return finish(out, model, lambda: tagger.build(model_config), evaluate, data_dir,
                  checkpoint.history, data)


def evaluate(run_dir: str | os.PathLike, data_dir: str | None, split: str = "test",
             data: dict | None = None) -> dict:
    """Token accuracy and, for NER, entity precision, recall and F1 (seqeval, strict) of a
    trained run on ``split``: train, valid (or dev) or test, cut as its config.yaml says (or
    as ``data``, a data section in its place)."""
    name = SPLIT_ALIASES.get(split, split)
    if name not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {[*SPLITS, *SPLIT_ALIASES]}")
    run = Path(run_dir)
    recipe = read_config(run)
    if data is not None:
        recipe = {**recipe, "data": data}
    data, vocab_cfg, training = sections(recipe, DATA_SCHEMA, VOCABULARY_SCHEMA, TRAINING_SCHEMA)
    model_config = validate(recipe["model"], tagger.SCHEMA, "model")
    splits = corpus_splits(data, recipe["seed"], data_dir, model_config["scheme"])
    if name not in splits:
        raise ValueError(f"no {split} split: the data give {sorted(splits)}")
    sentences = splits[name]
    vocabs = Vocabularies.load(run)
    model = load_keras(run / "model.keras")
    inputs = features(sentences, vocabs, vocab_cfg, model_config["char_features"] is not None)
    tag = tagger.tagging_function(model, vocabs.tag_names, model_config["scheme"])
    return scores(tag, inputs, [s.tags for s in sentences], vocabs.tag_names,
                  model_config["scheme"], training["eval_batch_size"])
