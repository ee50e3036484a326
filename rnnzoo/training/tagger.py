"""Recipe for sequence taggers: POS on UD English EWT, NER on UNER English EWT.

Splits. ``ud_en_ewt`` has the official train / dev / test files. ``uner_en_ewt`` has only dev
and test offline, so the recipe's ``data`` says how to cut them: the sentences of
``train_files`` and the first ``test_head_for_training`` test sentences train, the rest of the
test file tests, and ``valid_fraction`` of the training sentences (seeded) are held out for
validation (``0``: the dev file validates).

Features. Word ids come from the training words, lower-cased when ``vocabulary.lowercase``
(the character features keep the case); characters are each word's first ``max_word_chars``.
Model tag ``k`` is line ``k + 3`` of ``tags.txt`` (lines 1–2 are ``<pad>`` and ``<unk>``).
With ``model.scheme: BIOES`` the IOB2 tags are converted to BIOES for training and scoring.

Validation scores (token accuracy; entity precision, recall and F1 with seqeval, strict) are
computed at each epoch end, logged as ``val_<metric>``, and drive learning-rate decay, early
stopping (best weights kept) and the history.
"""

from __future__ import annotations

import json
import logging
import os
from functools import partial
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf
import yaml

from rnnzoo.data import (
    CONLLU_COLUMNS,
    UNK_ID,
    TaggedSentence,
    Vocabulary,
    bucket_batch,
    iob2_to_bioes,
    read_conllu,
    read_iob2,
)
from rnnzoo.data.corpora import data_file
from rnnzoo.metrics import entity_scores, token_accuracy
from rnnzoo.models import tagger
from rnnzoo.models.config import PROBABILITY, ConfigError, Field, check_value, validate
from rnnzoo.training.checkpoints import EpochCheckpoint, load_checkpoint, write_json

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
TAG_OFFSET = 2
"""Tag vocabulary ids of the model's tags 0, 1, ...: after ``<pad>`` and ``<unk>``."""

DATA_SCHEMA = {
    "corpus": Field(str, choices=tuple(CORPORA)),
    "column": Field(str, default="upos", choices=CONLLU_COLUMNS),
    "train_files": Field(list, default=["train"],
                         check=(lambda f: bool(f) and set(f) <= {"train", "dev"},
                                "must list 'train' and/or 'dev'")),
    "test_head_for_training": Field(int, default=0, low=0),
    "valid_fraction": Field(float, default=0.0, low=0.0, high=0.5),
}
"""``column``: the CoNLL-U column of the tags (``ud_en_ewt``)."""
VOCABULARY_SCHEMA = {
    "lowercase": Field(bool, default=True),
    "min_count": Field(int, default=1, low=1),
    "max_word_chars": Field(int, default=30, low=1),
}
TRAINING_SCHEMA = {
    "batch_size": Field(int, default=32, low=1),
    "bucket_boundaries": Field(list, default=[10, 20, 30, 45, 60],
                               check=(lambda b: bool(b) and b == sorted(set(b))
                                      and all(isinstance(n, int) and n >= 1 for n in b),
                                      "must be increasing positive integers")),
    "epochs": Field(int, default=20, low=1),
    "learning_rate": Field(float, default=1e-3, low=0.0),
    "clipnorm": Field(float, default=5.0, low=0.0),
    "word_dropout": Field(default=0.0, **PROBABILITY),
    "lr_decay": Field(float, default=0.5, low=0.0, high=1.0),
    "lr_patience": Field(int, default=1, low=0),
    "patience": Field(int, default=3, low=1),
    "eval_batch_size": Field(int, default=128, low=1),
}
"""``word_dropout``: probability that a training word is replaced by ``<unk>`` (so that its
embedding is learnt for the unknown words of test time)."""


class Vocabularies(NamedTuple):
    """Words, characters and tags of the training split; saved as ``NAME.txt`` in the run."""

    words: Vocabulary
    chars: Vocabulary
    tags: Vocabulary

    @classmethod
    def build(cls, sentences: Sequence[TaggedSentence], vocab_cfg: dict) -> "Vocabularies":
        tokens = [t for s in sentences for t in s.tokens]
        words = (t.lower() if vocab_cfg["lowercase"] else t for t in tokens)
        return cls(
            Vocabulary.build(words, "word", min_count=vocab_cfg["min_count"], specials=()),
            Vocabulary.build((c for t in tokens for c in t), "char", specials=()),
            Vocabulary.build((t for s in sentences for t in s.tags), "word", specials=()),
        )

    @classmethod
    def load(cls, run: Path) -> "Vocabularies":
        return cls(*(Vocabulary.load(run / f"{name}.txt", level)
                     for name, level in zip(cls._fields, ("word", "char", "word"))))

    def save(self, run: Path) -> None:
        for name, vocab in zip(self._fields, self):
            vocab.save(run / f"{name}.txt")

    @property
    def tag_names(self) -> list[str]:
        """The model's tags, in id order."""
        return self.tags.tokens[TAG_OFFSET:]


def read_split_file(data: dict, name: str, data_dir: Optional[str]) -> list[TaggedSentence]:
    """The sentences of the corpus's ``name`` file (train, dev or test)."""
    corpus = CORPORA[data["corpus"]]
    return corpus.read(data_file(corpus.pattern.format(name), data_dir), data)


def hold_out(sentences: list, fraction: float, seed: int) -> tuple[list, list]:
    """(kept, held out): a seeded random ``fraction`` of ``sentences`` held out, order kept."""
    count = max(1, round(len(sentences) * fraction))
    held = set(np.random.default_rng(seed).permutation(len(sentences))[:count].tolist())
    return ([s for i, s in enumerate(sentences) if i not in held],
            [s for i, s in enumerate(sentences) if i in held])


def corpus_splits(data: dict, seed: int, data_dir: Optional[str]) -> dict[str, list]:
    """train / valid / test sentences as ``data`` cuts them (see the module docstring)."""
    test = read_split_file(data, "test", data_dir)
    head = data["test_head_for_training"]
    if head >= len(test):
        raise ValueError(f"data.test_head_for_training: {head} leaves none of the "
                         f"{len(test)} test sentences for testing")
    train = [s for name in data["train_files"] for s in read_split_file(data, name, data_dir)]
    train += test[:head]
    if data["valid_fraction"] > 0:
        train, valid = hold_out(train, data["valid_fraction"], seed)
    else:
        valid = read_split_file(data, "dev", data_dir)
    return {"train": train, "valid": valid, "test": test[head:]}


def scheme_tags(splits: dict[str, list], scheme: Optional[str]) -> dict[str, list]:
    """``splits`` with BIOES tags when ``scheme`` is BIOES, else unchanged."""
    if scheme != "BIOES":
        return splits
    return {name: [TaggedSentence(s.tokens, iob2_to_bioes(s.tags)) for s in sentences]
            for name, sentences in splits.items()}


def model_scheme(model: dict) -> Optional[str]:
    """The model's entity tagging scheme (checked), which the tags are read in."""
    field = tagger.SCHEMA["scheme"]
    return check_value("model.scheme", model.get("scheme", field.default), field)


def check_recipe(data: dict, model_config: dict) -> None:
    """Raises :class:`ConfigError` for settings that contradict each other."""
    if data["valid_fraction"] == 0 and "dev" in data["train_files"]:
        raise ConfigError("data.valid_fraction: must be > 0 when the dev file trains "
                          "(data.train_files)")
    if CORPORA[data["corpus"]].entities != (model_config["scheme"] is not None):
        need = "IOB2 or BIOES" if CORPORA[data["corpus"]].entities else "null"
        raise ConfigError(f"model.scheme: must be {need} for corpus {data['corpus']}")


def features(sentences: Sequence[TaggedSentence], vocabs: Vocabularies, vocab_cfg: dict,
             chars: bool) -> dict[str, tf.RaggedTensor]:
    """``{"words": (N, None)}`` int32 ids and, with ``chars``, ``"chars"`` (N, None, None)."""
    tokens = [t for s in sentences for t in s.tokens]
    lengths = [len(s.tokens) for s in sentences]
    keys = (t.lower() if vocab_cfg["lowercase"] else t for t in tokens)
    word_ids = vocabs.words.ids(keys).astype("int32")
    result = {"words": tf.RaggedTensor.from_row_lengths(word_ids, lengths)}
    if chars:
        spelled = [t[: vocab_cfg["max_word_chars"]] for t in tokens]
        char_ids = vocabs.chars.ids(c for t in spelled for c in t).astype("int32")
        result["chars"] = tf.RaggedTensor.from_nested_row_lengths(
            char_ids, [lengths, [len(t) for t in spelled]])
    return result


def tag_ids(sentences: Sequence[TaggedSentence], vocabs: Vocabularies) -> tf.RaggedTensor:
    """(N, None) int32 model tag ids of the (training) sentences."""
    ids = vocabs.tags.ids(t for s in sentences for t in s.tags) - TAG_OFFSET
    return tf.RaggedTensor.from_row_lengths(ids.astype("int32"), [len(s.tags) for s in sentences])


def _dense(x, y):
    as_dense = lambda t: t.to_tensor() if isinstance(t, tf.RaggedTensor) else t  # noqa: E731
    return tf.nest.map_structure(as_dense, x), as_dense(y)


def _drop_words(probability: float, x, y):
    keep = tf.random.uniform(tf.shape(x["words"])) >= probability
    return {**x, "words": tf.where(keep, x["words"], UNK_ID)}, y


def training_dataset(inputs: dict, tags: tf.RaggedTensor, training: dict,
                     seed: int) -> tf.data.Dataset:
    """Shuffled (seeded), word-dropped, length-bucketed padded batches ``(inputs, tag ids)``."""
    ds = tf.data.Dataset.from_tensor_slices((inputs, tags))
    ds = ds.shuffle(int(tags.nrows()), seed=seed, reshuffle_each_iteration=True).map(_dense)
    if training["word_dropout"] > 0:
        ds = ds.map(partial(_drop_words, training["word_dropout"]))
    return bucket_batch(ds, training["batch_size"], training["bucket_boundaries"]).prefetch(2)


def predict_tags(model: keras.Model, inputs: dict[str, tf.RaggedTensor],
                 tag_names: Sequence[str], batch_size: int) -> list[list[str]]:
    """Tag names of each sentence, predicted in batches of similar lengths (each padded to its
    own longest sentence and word), in the sentences' order."""
    lengths = inputs["words"].row_lengths().numpy()
    order = np.argsort(lengths, kind="stable")
    predicted: list[list[str]] = [[] for _ in lengths]
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        x = {k: tf.gather(v, batch).to_tensor().numpy() for k, v in inputs.items()}
        ids = tagger.predict_tag_ids(model, x, batch_size=len(batch))
        for i, tags in zip(batch, tagger.tag_strings(ids, x["words"], tag_names)):
            predicted[i] = tags
    return predicted


def scores(model: keras.Model, inputs: dict, gold: Sequence[Sequence[str]],
           tag_names: Sequence[str], scheme: Optional[str], batch_size: int) -> dict:
    """Token accuracy and, with a ``scheme``, entity precision, recall and F1 (strict)."""
    predicted = predict_tags(model, inputs, tag_names, batch_size)
    result = {"accuracy": token_accuracy(gold, predicted)}
    if scheme is not None:
        result.update({k: float(v) for k, v in entity_scores(gold, predicted, scheme).items()})
    return result


class ValidationScores(keras.callbacks.Callback):
    """At each epoch end, adds ``val_<metric>`` of ``score(model)`` to the epoch's logs."""

    def __init__(self, score: Callable[[keras.Model], dict]):
        super().__init__()
        self.score = score

    def on_epoch_end(self, epoch, logs=None):
        result = {f"val_{k}": v for k, v in self.score(self.model).items()}
        logger.info("epoch %d: %s", epoch + 1, result)
        if logs is not None:
            logs.update(result)


def _callbacks(score: Callable, monitor: str, training: dict, checkpoint: EpochCheckpoint):
    return [
        ValidationScores(score),
        keras.callbacks.ReduceLROnPlateau(monitor, mode="max", factor=training["lr_decay"],
                                          patience=training["lr_patience"], min_lr=1e-5),
        keras.callbacks.EarlyStopping(monitor, mode="max", patience=training["patience"],
                                      restore_best_weights=True),
        checkpoint,
    ]


def train(recipe: dict, data_dir: Optional[str], out_dir: str | os.PathLike,
          resume: bool = False) -> dict:
    """Trains the recipe's tagger into ``out_dir``; returns valid and test metrics."""
    data = validate(recipe["data"], DATA_SCHEMA, "data")
    vocab_cfg = validate(recipe["vocabulary"], VOCABULARY_SCHEMA, "vocabulary")
    training = validate(recipe["training"], TRAINING_SCHEMA, "training")
    scheme = model_scheme(recipe["model"])
    check_recipe(data, {"scheme": scheme})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(recipe["seed"])

    splits = scheme_tags(corpus_splits(data, recipe["seed"], data_dir), scheme)
    vocabs = Vocabularies.build(splits["train"], vocab_cfg)
    model_config = validate(
        {**recipe["model"], "word_vocab_size": len(vocabs.words),
         "char_vocab_size": len(vocabs.chars), "num_tags": len(vocabs.tag_names)},
        tagger.SCHEMA, "model")
    chars = model_config["char_features"] is not None
    vocabs.save(out)
    resolved = {**recipe, "model": model_config, "data": data, "vocabulary": vocab_cfg,
                "training": training}
    (out / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))

    train_ds = training_dataset(features(splits["train"], vocabs, vocab_cfg, chars),
                                tag_ids(splits["train"], vocabs), training, recipe["seed"])
    valid_inputs = features(splits["valid"], vocabs, vocab_cfg, chars)
    score = partial(scores, inputs=valid_inputs, gold=[s.tags for s in splits["valid"]],
                    tag_names=vocabs.tag_names, scheme=scheme,
                    batch_size=training["eval_batch_size"])

    checkpoints = out / "checkpoints"
    if resume:
        model, initial_epoch, history = load_checkpoint(checkpoints)
        logger.info("resuming after epoch %d", initial_epoch)
    else:
        model = tagger.build(model_config)
        tagger.compile_for_training(model, training["learning_rate"], training["clipnorm"])
        initial_epoch, history = 0, {}
    checkpoint = EpochCheckpoint(checkpoints, history)
    monitor = "val_f1" if scheme is not None else "val_accuracy"
    model.fit(train_ds, epochs=training["epochs"], initial_epoch=initial_epoch, verbose=2,
              callbacks=_callbacks(score, monitor, training, checkpoint))

    final = tagger.build(model_config)
    final.set_weights(model.get_weights())
    final.save(out / "model.keras")
    metrics = {split: evaluate(out, data_dir, split) for split in ("valid", "test")}
    write_json(out / "metrics.json", metrics)
    write_json(out / "history.json", checkpoint.history)
    logger.info("metrics: %s", json.dumps(metrics))
    return metrics


def evaluate(run_dir: str | os.PathLike, data_dir: Optional[str], split: str = "test") -> dict:
    """Token accuracy and, for NER, entity precision, recall and F1 (seqeval, strict) of a
    trained run on ``split``: train, valid (or dev) or test, cut as its config.yaml says."""
    name = SPLIT_ALIASES.get(split, split)
    if name not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {[*SPLITS, *SPLIT_ALIASES]}")
    run = Path(run_dir)
    recipe = yaml.safe_load((run / "config.yaml").read_text())
    data = validate(recipe["data"], DATA_SCHEMA, "data")
    vocab_cfg = validate(recipe["vocabulary"], VOCABULARY_SCHEMA, "vocabulary")
    training = validate(recipe["training"], TRAINING_SCHEMA, "training")
    model_config = validate(recipe["model"], tagger.SCHEMA, "model")
    sentences = scheme_tags(corpus_splits(data, recipe["seed"], data_dir),
                            model_config["scheme"])[name]
    vocabs = Vocabularies.load(run)
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    inputs = features(sentences, vocabs, vocab_cfg, model_config["char_features"] is not None)
    return scores(model, inputs, [s.tags for s in sentences], vocabs.tag_names,
                  model_config["scheme"], training["eval_batch_size"])
