"""Training throughput (tokens/s) and peak memory of each zoo recipe at its real batch size.

Each recipe (``zoo_configs/NAME.yaml``) runs in a fresh subprocess, so that its peak memory is
its own: the recipe module's own code (``rnnzoo.tasks.<task>.recipe``) reads the real corpus,
builds the vocabularies and the training dataset, and compiles the real model. The first
``--warmup + --steps`` batches of that dataset are kept in memory and ``model.fit`` runs over
them once, so the input pipeline is not timed. Throughput = input tokens of the last
``--steps`` batches / their wall time (from the end of the last warm-up step to the end of the
last step). Tokens per task:

- language model: batch × bptt ids of a window;
- tagger: the real (non-padding) words of the sentences;
- seq2seq: source tokens + target tokens (each target with its ``<eos>``), padding left out;
- classifier: the document tokens (padding left out).

Peak memory is the subprocess's maximum resident set size (``ru_maxrss``), once just before
``fit`` (TensorFlow, corpus, vocabularies, dataset, model) and once at the end. A recipe whose
corpus is missing is reported as skipped.

    .venv/bin/python benchmarks/training.py [--data-dir DIR] [--recipes a,b] [--warmup N]
                                            [--steps N] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # time this checkout's rnnzoo

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from report import emit, recipe_arguments  # noqa: E402

from rnnzoo.data.text import lm_windows  # noqa: E402
from rnnzoo.data.vocab import EOS, Vocabulary  # noqa: E402
from rnnzoo.tasks.classifier import model as classifier  # noqa: E402
from rnnzoo.tasks.classifier import recipe as classifier_recipe  # noqa: E402
from rnnzoo.tasks.language_model import model as language_model  # noqa: E402
from rnnzoo.tasks.language_model import recipe as lm_recipe  # noqa: E402
from rnnzoo.tasks.seq2seq import model as seq2seq  # noqa: E402
from rnnzoo.tasks.seq2seq import recipe as seq2seq_recipe  # noqa: E402
from rnnzoo.tasks.tagger import model as tagger  # noqa: E402
from rnnzoo.tasks.tagger import recipe as tagger_recipe  # noqa: E402
from rnnzoo.training.config import validate  # noqa: E402
from rnnzoo.training.recipe import load_recipe  # noqa: E402
from rnnzoo.training.runs import sections  # noqa: E402
from rnnzoo.zoo.cards import cpu_name  # noqa: E402

RECIPES = ("lstm-lm", "gru-lm", "rnn-lm", "bilstm-crf-pos", "bilstm-crf-ner",
           "lstm-seq2seq-en-es", "bilstm-spam")
TOKEN_DEFINITIONS = {
    "language_model": "batch × bptt",
    "tagger": "non-pad words",
    "seq2seq": "source + target tokens",
    "classifier": "document tokens",
}
CHILD_TIMEOUT_S = 600
Setup = tuple[keras.Model, tf.data.Dataset]  # compiled model, the recipe's training batches


def lm_setup(recipe: dict, data_dir: str | None, replicas: int = 1) -> Setup:
    """The compiled stateful LM and its training windows, as the recipe makes them (each of
    ``replicas`` replicas carrying its share of the lanes)."""
    data, vocab_cfg, training = sections(recipe, lm_recipe.DATA_SCHEMA,
                                         lm_recipe.VOCABULARY_SCHEMA, lm_recipe.TRAINING_SCHEMA)
    level = recipe["model"].get("level", "word")
    train = lm_recipe.corpus_splits(data, data_dir, recipe["seed"])["train"]
    tokens = lm_recipe.tokens_of(train, level)
    vocab = Vocabulary.build(tokens, level, specials=(EOS,) if level == "word" else (),
                             **vocab_cfg)
    batch = training["batch_size"]
    model = language_model.compile_for_training(
        language_model.build({**recipe["model"], "vocab_size": len(vocab)},
                             batch_size=lm_recipe.replica_lanes(batch, replicas), stateful=True),
        training["learning_rate"], training["clipnorm"])
    to_int32 = lambda x, y: (tf.cast(x, tf.int32), tf.cast(y, tf.int32))  # noqa: E731
    return model, lm_windows(vocab.ids(tokens), batch, training["bptt"]).map(to_int32)


def tagger_setup(recipe: dict, data_dir: str | None, replicas: int = 1) -> Setup:
    """The compiled tagger and its shuffled, bucketed training batches."""
    data, vocab_cfg, training = sections(recipe, tagger_recipe.DATA_SCHEMA,
                                         tagger_recipe.VOCABULARY_SCHEMA,
                                         tagger_recipe.TRAINING_SCHEMA)
    scheme = tagger_recipe.model_scheme(recipe["model"])
    train = tagger_recipe.corpus_splits(data, recipe["seed"], data_dir)["train"]
    vocabs = tagger_recipe.build_vocabularies(train, vocab_cfg, scheme)
    config = validate({**recipe["model"], "word_vocab_size": len(vocabs.words),
                       "char_vocab_size": len(vocabs.chars), "num_tags": len(vocabs.tag_names)},
                      tagger.SCHEMA, "model")
    model = tagger.compile_for_training(tagger.build(config), training["learning_rate"],
                                        training["clipnorm"])
    inputs = tagger_recipe.features(train, vocabs, vocab_cfg, config["char_features"] is not None)
    return model, tagger_recipe.training_dataset(
        inputs, tagger_recipe.tag_ids(train, vocabs, scheme), training, recipe["seed"],
        tagger_recipe.first_singleton(vocabs, train, vocab_cfg))


def seq2seq_setup(recipe: dict, data_dir: str | None, replicas: int = 1) -> Setup:
    """The compiled encoder–decoder (output prior set) and its teacher-forcing batches."""
    data, vocab_cfg, training = sections(recipe, seq2seq_recipe.DATA_SCHEMA,
                                         seq2seq_recipe.VOCABULARY_SCHEMA,
                                         seq2seq_recipe.TRAINING_SCHEMA)
    train = seq2seq_recipe.corpus_splits(data, data_dir, recipe["seed"])["train"]
    source_vocab, target_vocab = seq2seq_recipe.build_vocabularies(train, vocab_cfg)
    config = seq2seq.validate_config({
        **recipe["model"], "source_vocab_size": len(source_vocab),
        "target_vocab_size": len(target_vocab), "bos_id": target_vocab.bos_id,
        "eos_id": target_vocab.eos_id})
    sources, targets = seq2seq_recipe.encode(train, source_vocab, target_vocab)
    model = seq2seq.build(config)
    seq2seq.set_output_prior(model, seq2seq_recipe.target_counts(targets, target_vocab))
    model = seq2seq.compile_for_training(model, training["learning_rate"], training["clipnorm"])
    return model, seq2seq_recipe.teacher_forcing_dataset(
        sources, targets, training["batch_size"], target_vocab.bos_id, target_vocab.eos_id,
        recipe["seed"])


def classifier_setup(recipe: dict, data_dir: str | None, replicas: int = 1) -> Setup:
    """The compiled classifier and its shuffled, bucketed training batches."""
    data, vocab_cfg, training = sections(recipe, classifier_recipe.DATA_SCHEMA,
                                         classifier_recipe.VOCABULARY_SCHEMA,
                                         classifier_recipe.TRAINING_SCHEMA)
    train = classifier_recipe.corpus_splits(data, data_dir, recipe["seed"])["train"]
    vocab = Vocabulary.build((t for d in train for t in d.text.split(" ")), "word",
                             specials=(), **vocab_cfg)
    labels = sorted({d.label for d in train})
    model = classifier.compile_for_training(
        classifier.build({**recipe["model"], "vocab_size": len(vocab),
                          "num_classes": len(labels)}),
        training["learning_rate"])
    ids, targets = classifier_recipe.encode(train, vocab, labels)
    return model, classifier_recipe.documents_batches(ids, targets, training["batch_size"],
                                                      recipe["seed"])


SETUPS = {"language_model": lm_setup, "tagger": tagger_setup, "seq2seq": seq2seq_setup,
          "classifier": classifier_setup}


def nonzero(*tensors: object) -> int:
    """Non-padding (non-zero) ids in ``tensors``."""
    return int(sum(np.count_nonzero(t) for t in tensors))


TOKEN_COUNTS: dict[str, Callable[[object, object], int]] = {
    "language_model": lambda x, y: nonzero(x),  # stream ids are never 0: batch × bptt
    "tagger": lambda x, y: nonzero(x["words"]),
    "seq2seq": lambda x, y: nonzero(x["source"], y),
    "classifier": lambda x, y: nonzero(x),
}


def peak_mib() -> float:
    """This process's maximum resident set size so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_fit(model: keras.Model, dataset: tf.data.Dataset, count: int) -> list[float]:
    """``perf_counter`` at the end of each of ``count`` ``fit`` steps over ``dataset``."""
    ends: list[float] = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    model.fit(dataset.apply(tf.data.experimental.assert_cardinality(count)), epochs=1,
              callbacks=[record], shuffle=False, verbose=0)
    return ends


def measure(name: str, data_dir: str | None, warmup: int, steps: int) -> dict:
    """One recipe's throughput and memory, in this process; ``skipped`` if its data is missing."""
    recipe = load_recipe(ROOT / "zoo_configs" / f"{name}.yaml")
    keras.utils.set_random_seed(recipe["seed"])
    start = time.perf_counter()
    try:
        model, dataset = SETUPS[recipe["task"]](recipe, data_dir)
    except (FileNotFoundError, ImportError) as error:
        return {"name": name, "skipped": str(error)}
    batches = list(dataset.take(warmup + steps))
    if len(batches) < warmup + steps:
        return {"name": name, "skipped": f"only {len(batches)} training batches"}
    tokens = [TOKEN_COUNTS[recipe["task"]](x, y) for x, y in batches]
    setup_s = time.perf_counter() - start
    before = peak_mib()
    replay = tf.data.Dataset.from_generator(lambda: iter(batches),
                                            output_signature=dataset.element_spec)
    ends = timed_fit(model, replay, len(batches))
    seconds = ends[-1] - ends[warmup - 1]
    return {"name": name, "task": recipe["task"], "batch_size": recipe["training"]["batch_size"],
            "tokens": sum(tokens[warmup:]), "seconds": seconds, "steps": steps,
            "setup_s": setup_s, "before_mib": before, "peak_mib": peak_mib()}


def run_child(name: str, args: argparse.Namespace) -> dict:
    """:func:`measure` of ``name`` in a fresh Python process (its own peak memory)."""
    command = [sys.executable, __file__, "--child", name, "--warmup", str(args.warmup),
               "--steps", str(args.steps)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True,
                              timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"name": name, "failed": f"timed out after {CHILD_TIMEOUT_S} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        try:
            return json.loads(lines[-1])
        except json.JSONDecodeError:
            pass
    return {"name": name, "failed": f"exit status {done.returncode} (see stderr)"}


def row(result: dict) -> str:
    """The table row of one recipe's result."""
    name = result["name"]
    for outcome in ("skipped", "failed"):
        if outcome in result:
            return f"| {name} | {outcome}: {result[outcome]} | | | | | | |"
    step_ms = result["seconds"] / result["steps"] * 1e3
    return (f"| {name} | {TOKEN_DEFINITIONS[result['task']]} | {result['batch_size']} | "
            f"{step_ms:.0f} | {result['tokens'] / result['seconds']:,.0f} | "
            f"{result['before_mib']:,.0f} | {result['peak_mib']:,.0f} | {result['setup_s']:.0f} |")


def report(results: list[dict], args: argparse.Namespace) -> list[str]:
    """The markdown section: heading, conditions, table."""
    return [f"## Training benchmark, {datetime.date.today()}", "",
            f"{cpu_name()}, {os.cpu_count()} cores; TensorFlow {tf.__version__}, Keras "
            f"{keras.__version__}. Each recipe's real model and batch size on its real corpus, "
            f"in a fresh process: `model.fit` over the recipe's first {args.warmup} + "
            f"{args.steps} training batches, the last {args.steps} timed. Memory: the "
            "process's maximum resident set size (`ru_maxrss`) before `fit` (TensorFlow, "
            "corpus, vocabularies, model) and at the end.", "",
            "| recipe | tokens | batch | ms/step | tokens/s | peak MiB before fit | "
            "peak MiB | setup s |",
            "|---|---|---|---|---|---|---|---|",
            *(row(result) for result in results)]


def main() -> None:
    args = recipe_arguments(__doc__.split("\n\n")[0], RECIPES, warmup=2, steps=15)
    if args.child:
        print(json.dumps(measure(args.child, args.data_dir, args.warmup, args.steps)))
        return
    results = []
    for name in args.recipes.split(","):
        results.append(run_child(name.strip(), args))
        print(row(results[-1]), file=sys.stderr, flush=True)
    emit(report(results, args), args.out)


if __name__ == "__main__":
    main()
