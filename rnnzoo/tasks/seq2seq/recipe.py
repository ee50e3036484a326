"""Recipe for translation: an attentional encoder–decoder trained by teacher forcing on a verse-
aligned TSV (KJV → Reina-Valera 1909 by default), held-out books as the test and dev sets.

Data: ``DATA/bible_en_es/kjv_rv1909.tsv`` (header ``book chapter verse en es``). The test
books (Phil, Col, 1Thess) and the dev books (1John) keep every verse; the training verses (all
other books) are filtered as the corpus README advises: a word-count ratio source / target in
[0.5, 2] (this drops the misaligned pairs) and at most ``max_words`` words a side. The target's
chapter-initial capitals ("EN el principio", "Y JEHOVÁ dijo") are recased on every split, each
word to its most frequent form in the target column ("En el principio", "Y Jehová dijo").

Text keeps its case. Tokens are words and single punctuation marks; a word vocabulary per side
(``min_count``, ``max_size``) comes from the training split. ``evaluate`` decodes with beam search
(the model config's ``beam_size``, ``length_penalty``, ``max_decode_length``), drops ``<unk>``,
detokenises (no space before ``. , ; : ? ! )``, none after ``¿ ¡ (``) and scores sacreBLEU BLEU
and chrF against the verse text itself.
"""

from __future__ import annotations

import collections
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.batching import bucket_batch
from rnnzoo.data.corpora import data_file
from rnnzoo.data.files import DataFormatError, PathLike, iter_lines, tsv_columns
from rnnzoo.data.vocab import Vocabulary, token_lists
from rnnzoo.metrics import bleu, chrf
from rnnzoo.saving import load_keras
from rnnzoo.tasks.seq2seq import model as seq2seq
from rnnzoo.tasks.seq2seq.decoding import ragged, translate
from rnnzoo.tasks.seq2seq.preprocessing import SOURCE_VOCAB, TARGET_VOCAB, to_texts, tokenize
from rnnzoo.training.checkpoints import EpochCheckpoint, ResumedEarlyStopping
from rnnzoo.training.config import ConfigError, Field, validate
from rnnzoo.training.datafiles import FILES_FIELD, TFDS_FIELD, file_splits, hold_out, tfds_splits
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
    seed_of,
    start_model,
    vocabulary,
    write_config,
)

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
BUCKETS = (8, 12, 16, 20, 24, 28, 32, 40, 48, 64)

_LETTERS = re.compile(r"[^\W\d_]+")

DATA_SCHEMA = {
    "file": Field(str, default="bible_en_es/kjv_rv1909.tsv",
                  doc="the verse-aligned TSV under the data folder, its header naming `book`, "
                      "`verse` and the text columns; unread with `files` or `tfds`"),
    "files": FILES_FIELD,
    "tfds": TFDS_FIELD,
    "source_column": Field(str, default="en",
                           doc="the TSV column of the source text (also in a `files` TSV's "
                               "header)"),
    "target_column": Field(str, default="es",
                           doc="the TSV column of the target text (also in a `files` TSV's "
                               "header)"),
    "test_books": Field(list, default=["Phil", "Col", "1Thess"],
                        doc="the books of `file` held out whole (every verse with both sides) "
                            "as the test set"),
    "valid_books": Field(list, default=["1John"],
                         doc="the books of `file` held out whole as the validation set"),
    "max_words": Field(int, default=40, low=1, nullable=True,
                       doc="training pairs with more words on either side are dropped; null: no "
                           "limit"),
    "ratio": Field(list, default=[0.5, 2.0], nullable=True,
                   check=(lambda r: len(r) == 2 and 0 < r[0] <= r[1],
                          "must be [low, high] with 0 < low <= high"),
                   doc="training pairs whose source / target word-count ratio is outside "
                       "[low, high] (misaligned ones) are dropped; null: no filter"),
    "recase_chapter_capitals": Field(bool, default=True,
                                     doc="recase the chapter-initial capitals of `file`'s target, "
                                         "each word to its most frequent form ('EN el principio' "
                                         "→ 'En el principio')"),
}
VOCABULARY_SCHEMA = {
    "source_min_count": Field(int, default=2, low=1,
                              doc="how often a training source word must occur to have an id; "
                                  "rarer ones read as `<unk>`"),
    "source_max_size": Field(int, default=None, nullable=True, low=3,
                             doc="the most source ids, `<pad>` and `<unk>` included; the most "
                                 "frequent kept; null: no limit"),
    "target_min_count": Field(int, default=2, low=1,
                              doc="how often a training target word must occur to have an id; "
                                  "rarer ones read as `<unk>`"),
    "target_max_size": Field(int, default=None, nullable=True, low=5,
                             doc="the most target ids, `<pad>`, `<unk>`, `<bos>` and `<eos>` "
                                 "included; the most frequent kept; null: no limit"),
}
TRAINING_SCHEMA = {
    "batch_size": Field(int, default=64, low=1,
                        doc="the pairs of a training batch (of similar lengths, bucketed)"),
    "epochs": Field(int, default=10, low=1, doc="the most passes over the training pairs"),
    "learning_rate": Field(float, default=1e-3, low=0.0, doc="Adam's initial learning rate"),
    "clipnorm": Field(float, default=1.0, low=0.0,
                      doc="gradient clipping: each gradient's norm clipped to this; 0: none"),
    "lr_decay": Field(float, default=0.5, low=0.0, high=1.0,
                      doc="the factor the learning rate is multiplied by (down to 1e-5) whenever "
                          "the validation loss does not improve"),
    "patience": Field(int, default=2, low=1,
                      doc="early stopping: the epochs without a better validation loss before "
                          "training stops"),
    "eval_batch_size": Field(int, default=64, low=1,
                             doc="the sources translated at once (beam search) when evaluating"),
}


class Verse(NamedTuple):
    """One aligned verse: its book, its verse number, the source and the target text."""

    book: str
    verse: str
    source: str
    target: str


def read_verses(path: PathLike, source_column: str, target_column: str) -> list[Verse]:
    """The verses of a TSV file whose header names the columns ``book``, ``verse`` and the two
    text columns; blank lines are skipped, a short or long line is a :class:`DataFormatError`."""
    return [Verse(*row) for row in tsv_columns(path, ("book", "verse", source_column,
                                                       target_column))]


def usual_forms(texts: Sequence[str]) -> dict[str, str]:
    """Each word's most frequent not-all-capitals form, keyed by its upper-case form."""
    counts = collections.Counter(word for text in texts for word in _LETTERS.findall(text)
                                 if not word.isupper())
    forms: dict[str, str] = {}
    for word, _ in counts.most_common():
        forms.setdefault(word.upper(), word)
    return forms


def recase_leading_capitals(text: str, forms: dict[str, str]) -> str:
    """The leading all-capitals words of ``text`` in their usual forms, its first letter upper."""
    words = text.split(" ")
    for index, word in enumerate(words):
        if not word.isupper():
            break
        words[index] = _LETTERS.sub(lambda m: forms.get(m.group(0), m.group(0).lower()), word)
    recased = " ".join(words)
    return recased[:1].upper() + recased[1:]


def recase_chapters(verses: list[Verse]) -> list[Verse]:
    """Verse 1 of each chapter with its target's leading capitals recased."""
    forms = usual_forms([v.target for v in verses])
    return [v._replace(target=recase_leading_capitals(v.target, forms)) if v.verse == "1" else v
            for v in verses]


def kept_for_training(verses: list[Verse], max_words: int | None,
                      ratio: Sequence[float] | None) -> list[Verse]:
    """The verses whose sides both have words (split on white space), at most ``max_words``,
    in a ratio within ``ratio``."""
    sources = token_lists([v.source for v in verses], "word")
    targets = token_lists([v.target for v in verses], "word")
    return [verse for verse, source, target in zip(verses, map(len, sources), map(len, targets))
            if source and target
            and (max_words is None or max(source, target) <= max_words)
            and (ratio is None or ratio[0] <= source / target <= ratio[1])]


def read_pairs_file(path: Path, data: dict) -> list[Verse]:
    """A user's TSV of translations: a header naming the source and target columns (the
    recipe's ``source_column``, ``target_column``), or exactly two columns and no header.
    Pairs with an empty side are dropped."""
    _, first = next(iter_lines(path), (1, ""))
    header = first.split("\t")
    if data["source_column"] in header and data["target_column"] in header:
        width, columns = len(header), [header.index(data[key])
                                       for key in ("source_column", "target_column")]
    else:
        width, columns, header = 2, [0, 1], None
    pairs = []
    for number, line in iter_lines(path):
        if (number == 1 and header) or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != width:
            raise DataFormatError(path, number, f"expected {width} tab-separated columns "
                                  f"(source and target), got {len(fields)}")
        source, target = (fields[i].strip() for i in columns)
        if source and target:
            pairs.append(Verse(path.name, str(number), source, target))
    return pairs


def tfds_verses(examples: list[dict]) -> list[Verse]:
    """The pairs of TFDS examples (``source``, ``target``) with both sides, numbered."""
    return [Verse("tfds", str(number), e["source"].strip(), e["target"].strip())
            for number, e in enumerate(examples, 1) if e["source"].strip() and e["target"].strip()]


def corpus_splits(data: dict, data_dir: str | os.PathLike | None,
                  seed: int = 0) -> dict[str, list[Verse]]:
    """train / valid / test verses: held-out books whole (verses with both sides), the rest
    filtered for training; or the pairs of ``data.files`` or of its ``tfds`` dataset (training
    pairs filtered alike)."""
    if data["files"] or data["tfds"]:
        splits = (file_splits(data["files"], lambda path: read_pairs_file(path, data), seed,
                              hold_out) if data["files"] else
                  tfds_splits(data["tfds"], ("source", "target"), tfds_verses, seed, hold_out))
        if "train" in splits:
            splits["train"] = kept_for_training(splits["train"], data["max_words"],
                                                data["ratio"])
        return splits
    path = data_file(data["file"], data_dir)
    verses = read_verses(path, data["source_column"], data["target_column"])
    if data["recase_chapter_capitals"]:
        verses = recase_chapters(verses)
    test, valid = set(data["test_books"]), set(data["valid_books"])
    if test & valid:
        raise ConfigError(f"data: books {sorted(test & valid)} are in both test and valid")
    held_out = test | valid
    missing = sorted(held_out - {v.book for v in verses})
    if missing:
        raise ValueError(f"{path}: no verses of the held-out books {missing}")
    complete = [v for v in verses if v.source and v.target]
    rest = [v for v in verses if v.book not in held_out]
    splits = {
        "train": kept_for_training(rest, data["max_words"], data["ratio"]),
        "valid": [v for v in complete if v.book in valid],
        "test": [v for v in complete if v.book in test],
    }
    logger.info("%s: %d training verses of %d (filtered), %d valid, %d test", path,
                len(splits["train"]), len(rest), len(splits["valid"]), len(splits["test"]))
    return splits


def build_vocabularies(train: list[Verse], cfg: dict) -> tuple[Vocabulary, Vocabulary]:
    """Source (no specials) and target (``<bos>``, ``<eos>``) word vocabularies."""
    source = Vocabulary.build((t for row in tokenize([v.source for v in train]) for t in row),
                              "word", min_count=cfg["source_min_count"],
                              max_size=cfg["source_max_size"], specials=())
    target = Vocabulary.build((t for row in tokenize([v.target for v in train]) for t in row),
                              "word",
                              min_count=cfg["target_min_count"], max_size=cfg["target_max_size"])
    return source, target


def encode(verses: list[Verse], source: Vocabulary, target: Vocabulary) -> tuple[list, list]:
    """Source and target ids of each verse."""
    return ([source.ids(tokens) for tokens in tokenize([v.source for v in verses])],
            [target.ids(tokens) for tokens in tokenize([v.target for v in verses])])


def target_counts(targets: list, vocab: Vocabulary) -> np.ndarray:
    """How often each target id is a training label: every target token and one EOS each."""
    counts = np.bincount(np.concatenate([np.asarray(t, np.int64) for t in targets] or [[]]),
                         minlength=len(vocab)).astype(np.int64)
    counts[vocab.eos_id] += len(targets)
    return counts


def teacher_forcing_dataset(sources: list, targets: list, batch_size: int, bos_id: int,
                            eos_id: int, shuffle_seed: int | None) -> tf.data.Dataset:
    """``({"source", "target_in"}, target_out)`` batches of similar lengths, 0-padded;
    shuffled each epoch when ``shuffle_seed`` is given."""
    source_ids, target_ids = ragged(sources), ragged(targets)
    dataset = tf.data.Dataset.range(len(sources)).map(lambda i: (source_ids[i], target_ids[i]))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(sources), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = bucket_batch(dataset, batch_size, BUCKETS)

    def inputs_and_labels(source, target):
        target_in, target_out = seq2seq.teacher_forcing(target, bos_id, eos_id)
        return {seq2seq.SOURCE: source, seq2seq.TARGET_IN: target_in}, target_out

    return dataset.map(inputs_and_labels).prefetch(2)


BATCH_TOKENS = "source + target tokens"
"""What the tokens of a training batch are (the training benchmarks' tokens/s)."""


def batch_tokens(x, y) -> int:
    """The tokens of a training batch ``({"source", "target_in"}, target_out)``: the non-padding
    source ids and target labels (each target with its ``<eos>``)."""
    return int(np.count_nonzero(x["source"]) + np.count_nonzero(y))


def _prepared(recipe: dict, data_dir: str | None) -> tuple:
    """The recipe's sections, splits, vocabularies, model config and the train and valid
    verses' ids."""
    data, vocab_cfg, training = sections(recipe, DATA_SCHEMA, VOCABULARY_SCHEMA, TRAINING_SCHEMA)
    splits = corpus_splits(data, data_dir, seed_of(recipe))
    source_vocab, target_vocab = (
        vocabulary(recipe["init"], name, vocab)
        for name, vocab in zip((SOURCE_VOCAB, TARGET_VOCAB),
                               build_vocabularies(splits["train"], vocab_cfg)))
    model_config = {**recipe["model"], "source_vocab_size": len(source_vocab),
                    "target_vocab_size": len(target_vocab), "bos_id": target_vocab.bos_id,
                    "eos_id": target_vocab.eos_id}
    seq2seq.validate_config(model_config)
    encoded = {split: encode(splits[split], source_vocab, target_vocab)
               for split in ("train", "valid")}
    return data, training, source_vocab, target_vocab, model_config, encoded


def _compiled(model_config: dict, training: dict, train_targets: list,
              target_vocab: Vocabulary) -> keras.Model:
    """The encoder–decoder, its output bias at the training targets' log unigram
    distribution, compiled."""
    model = seq2seq.build(model_config)
    seq2seq.set_output_prior(model, target_counts(train_targets, target_vocab))
    return seq2seq.compile_for_training(model, training["learning_rate"], training["clipnorm"])


def training_setup(recipe: dict, data_dir: str | None,
                   replicas: int = 1) -> tuple[keras.Model, tf.data.Dataset]:
    """The compiled model and the training batches :func:`train` fits, without a run folder:
    what the training benchmarks time (``replicas`` does not change a translator)."""
    recipe = validate_recipe(recipe)
    _, training, _, target_vocab, model_config, encoded = _prepared(recipe, data_dir)
    model = _compiled(model_config, training, encoded["train"][1], target_vocab)
    return model, teacher_forcing_dataset(*encoded["train"], training["batch_size"],
                                          target_vocab.bos_id, target_vocab.eos_id,
                                          seed_of(recipe))


def train(recipe: dict, data_dir: str | None, out_dir: str | os.PathLike,
          resume: bool = False, options: RunOptions = RunOptions()) -> dict:
    """Trains the recipe's seq2seq model into ``out_dir``; returns valid and test metrics."""
    recipe, out = open_run(recipe, out_dir, resume)
    data, training, source_vocab, target_vocab, model_config, encoded = _prepared(recipe,
                                                                                 data_dir)

    def dataset(split: str, seed: int | None) -> tf.data.Dataset:
        return options.even_batches(teacher_forcing_dataset(
            *encoded[split], training["batch_size"], target_vocab.bos_id, target_vocab.eos_id,
            seed))

    def new_model() -> keras.Model:
        return _compiled(model_config, training, encoded["train"][1], target_vocab)

    checkpoints = out / "checkpoints"
    model, initial_epoch, history = start_model(checkpoints, resume, new_model, recipe["init"],
                                                options)
    callbacks = [
        *run_callbacks(out, options),
        keras.callbacks.ReduceLROnPlateau("val_loss", factor=training["lr_decay"], patience=0,
                                          min_lr=1e-5),
        ResumedEarlyStopping(history, "val_loss", training["patience"]),
        EpochCheckpoint(checkpoints, history),
    ]
    model.fit(dataset("train", seed_of(recipe)), validation_data=dataset("valid", None),
              epochs=training["epochs"], initial_epoch=initial_epoch, callbacks=callbacks,
              shuffle=False, verbose=options.verbose)

    def save_files():
        source_vocab.save(out / SOURCE_VOCAB)
        target_vocab.save(out / TARGET_VOCAB)
        write_config(out, {**recipe, "model": model_config, "data": data})

    save_run_files(save_files)
    return finish(out, model, lambda: seq2seq.build(model_config), evaluate, data_dir,
                  callbacks[-1].history, data)


def oov_rate(texts: Sequence[str], vocab: Vocabulary) -> float:
    """Share of the texts' tokens that the vocabulary lacks."""
    known = set(vocab.tokens)
    tokens = [t for row in tokenize(texts) for t in row]
    return float(np.mean([t not in known for t in tokens])) if tokens else 0.0


def evaluate(run_dir: str | os.PathLike, data_dir: str | None, split: str = "test",
             data: dict | None = None) -> dict:
    """sacreBLEU BLEU and chrF of the beam-search translations of a split (detokenised text
    against the verses as written), with the split's out-of-vocabulary token rates (the split
    of ``data``, a data section in place of the run's, when given)."""
    run = Path(run_dir)
    recipe = read_config(run)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {list(SPLITS)}")
    splits = corpus_splits(validate(data or recipe["data"], DATA_SCHEMA, "data"), data_dir,
                           seed_of(recipe))
    if split not in splits:
        raise ValueError(f"no {split} split: the data give {sorted(splits)}")
    verses = splits[split]
    source_vocab = Vocabulary.load(run / SOURCE_VOCAB, "word")
    target_vocab = Vocabulary.load(run / TARGET_VOCAB, "word")
    model = load_keras(run / "model.keras")
    cfg = seq2seq.validate_config(recipe["model"])
    training = validate(recipe["training"], TRAINING_SCHEMA, "training")
    sources, _ = encode(verses, source_vocab, target_vocab)
    hypotheses = to_texts(translate(model, sources, cfg, training["eval_batch_size"]),
                          target_vocab)
    references = [v.target for v in verses]
    return {
        "bleu": bleu(hypotheses, references),
        "chrf": chrf(hypotheses, references),
        "sentences": len(verses),
        "source_oov": oov_rate([v.source for v in verses], source_vocab),
        "target_oov": oov_rate(references, target_vocab),
    }
