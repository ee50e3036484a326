"""Training throughput (tokens/s) and peak memory of each zoo recipe at its real batch size.

Each recipe (``zoo_configs/NAME.yaml``) runs in a fresh subprocess, so that its peak memory is
its own: the recipe module's ``training_setup`` (``rnnzoo.tasks.<task>.recipe``, the code its
``train`` runs) reads the real corpus, builds the vocabularies and the training dataset, and
compiles the real model. The first
``--warmup + --steps`` batches of that dataset are kept in memory and ``model.fit`` runs over
them once, so the input pipeline is not timed. Throughput = input tokens of the last
``--steps`` batches / their wall time (from the end of the last warm-up step to the end of the
last step). A batch's tokens are the recipe module's ``batch_tokens`` (its ``BATCH_TOKENS``
says what they are: a language model's batch × bptt ids, a tagger's non-padding words, a
translator's source and target tokens, a classifier's document tokens).

Peak memory is the subprocess's maximum resident set size (``ru_maxrss``), once just before
``fit`` (TensorFlow, corpus, vocabularies, dataset, model) and once at the end. A recipe whose
corpus is missing is reported as skipped. ``bilstm-crf-ner/lms-each-step`` is the NER recipe
with ``training.cache_string_features: false``: its language models run at every step, where
the recipe fits the head above features computed during setup.

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
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # time this checkout's rnnzoo

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from report import emit, recipe_arguments  # noqa: E402

from rnnzoo.tasks.registry import get_task  # noqa: E402
from rnnzoo.training.recipe import load_recipe  # noqa: E402
from rnnzoo.zoo.cards import cpu_name  # noqa: E402

UNCACHED = "/lms-each-step"
"""A tagger recipe with string features, suffixed: trained without caching them
(``training.cache_string_features: false``), beside the recipe itself."""
RECIPES = ("lstm-lm", "gru-lm", "rnn-lm", "bilstm-crf-pos", "bilstm-crf-ner",
           f"bilstm-crf-ner{UNCACHED}", "lstm-seq2seq-en-es", "bilstm-spam")
CHILD_TIMEOUT_S = 600


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
    recipe = load_recipe(ROOT / "zoo_configs" / f"{name.removesuffix(UNCACHED)}.yaml")
    if name.endswith(UNCACHED):
        recipe["training"] = {**recipe["training"], "cache_string_features": False}
    keras.utils.set_random_seed(recipe["seed"])
    start = time.perf_counter()
    try:
        model, dataset = get_task(recipe["task"]).recipe().training_setup(recipe, data_dir)
    except (FileNotFoundError, ImportError) as error:
        return {"name": name, "skipped": str(error)}
    batches = list(dataset.take(warmup + steps))
    if len(batches) < warmup + steps:
        return {"name": name, "skipped": f"only {len(batches)} training batches"}
    tokens = [get_task(recipe["task"]).recipe().batch_tokens(x, y) for x, y in batches]
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
    return (f"| {name} | {get_task(result['task']).recipe().BATCH_TOKENS} | "
            f"{result['batch_size']} | "
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
