"""Multi-worker scaling: steps/s and tokens/s of one worker against two workers on 127.0.0.1,
the global batch held fixed, and the time of the per-step gradient all-reduce.

For each recipe (a tagger and a language model of the zoo, on their real corpora), the
recipe module's ``training_setup`` (corpus, vocabularies, the compiled model, its training
batches, as ``train`` makes them) runs in one process without a strategy, then in two processes under
``MultiWorkerMirroredStrategy`` (``TF_CONFIG`` on 127.0.0.1, each worker built with
``rnnzoo.training.distributed.prepare`` as ``rnnzoo train`` does). ``fit`` runs over the first
``--warmup + --steps`` global batches; the last ``--steps`` are timed. Communication: in the
two-worker job, a SUM all-reduce of tensors shaped as the model's trainable weights, timed
over ``--steps`` repetitions (what each training step exchanges).

On a 2-core machine the two worker processes share the cores: the ratio measures the overhead
of the multi-worker path (collectives over gRPC, the split batch), not a speed-up.

    .venv/bin/python benchmarks/scaling.py [--data-dir DIR] [--recipes a,b] [--warmup N]
                                           [--steps N] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECIPES = ("bilstm-crf-pos", "rnn-lm")
CHILD_TIMEOUT_S = 900


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(name: str, data_dir: str | None, warmup: int, steps: int) -> dict:
    """One process's share of a run: ``fit`` timed over the recipe's first batches (under
    ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` is set) and, with two workers, the
    all-reduce of the model's gradient-sized tensors."""
    import keras
    import tensorflow as tf
    from training import timed_fit

    from rnnzoo.tasks.registry import get_task
    from rnnzoo.training import distributed
    from rnnzoo.training.recipe import load_recipe

    workers = "TF_CONFIG" in os.environ
    strategy = (tf.distribute.MultiWorkerMirroredStrategy() if workers
                else tf.distribute.get_strategy())
    recipe = load_recipe(ROOT / "zoo_configs" / f"{name}.yaml")
    keras.utils.set_random_seed(recipe["seed"])
    task = get_task(recipe["task"]).recipe()
    with strategy.scope():
        model, dataset = task.training_setup(recipe, data_dir,
                                             replicas=strategy.num_replicas_in_sync)
    distributed.prepare(model, strategy)
    batches = list(dataset.take(warmup + steps))
    tokens = sum(task.batch_tokens(x, y) for x, y in batches[warmup:])
    replay = tf.data.Dataset.from_generator(lambda: iter(batches),
                                            output_signature=dataset.element_spec)
    ends = timed_fit(model, replay, len(batches))
    result = {"name": name, "task": recipe["task"], "workers": strategy.num_replicas_in_sync,
              "batch_size": recipe["training"]["batch_size"], "steps": steps,
              "seconds": ends[-1] - ends[warmup - 1], "tokens": tokens}
    if workers:
        shapes = [tuple(w.shape) for w in model.trainable_weights]

        def sum_all():
            return tf.distribute.get_replica_context().all_reduce(
                "SUM", [tf.ones(shape) for shape in shapes])

        @tf.function
        def exchange():
            return strategy.run(sum_all)

        exchange()
        start = time.perf_counter()
        for _ in range(steps):
            exchange()
        result["all_reduce_ms"] = (time.perf_counter() - start) / steps * 1e3
        result["parameters"] = int(sum(w.numpy().size for w in model.trainable_weights))
    return result


def run(name: str, args: argparse.Namespace, workers: int) -> dict:
    """:func:`measure` in one process, or in ``workers`` processes on 127.0.0.1 (the chief's
    result)."""
    command = [sys.executable, __file__, "--child", name, "--warmup", str(args.warmup),
               "--steps", str(args.steps)] + (["--data-dir", args.data_dir] if args.data_dir
                                              else [])
    cluster = [f"127.0.0.1:{free_port()}" for _ in range(workers)]
    processes = []
    try:
        for index in range(workers):
            env = dict(os.environ)
            if workers > 1:
                env["TF_CONFIG"] = json.dumps({"cluster": {"worker": cluster},
                                               "task": {"type": "worker", "index": index}})
            processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                              text=True))
        outputs = [p.communicate(timeout=CHILD_TIMEOUT_S)[0] for p in processes]
    except subprocess.TimeoutExpired:
        return {"name": name, "workers": workers,
                "failed": f"timed out after {CHILD_TIMEOUT_S} s"}
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    lines = outputs[0].strip().splitlines()
    if processes[0].returncode == 0 and lines:
        return json.loads(lines[-1])
    return {"name": name, "workers": workers,
            "failed": f"exit status {processes[0].returncode} (see stderr)"}


def report(pairs: list[tuple[dict, dict]], args: argparse.Namespace) -> list[str]:
    import keras
    import tensorflow as tf

    from rnnzoo.zoo.cards import cpu_name

    lines = [f"## Multi-worker scaling benchmark, {datetime.date.today()}", "",
             f"{cpu_name()}, {os.cpu_count()} cores; TensorFlow {tf.__version__}, Keras "
             f"{keras.__version__}. One process against two worker processes on 127.0.0.1 "
             "(`MultiWorkerMirroredStrategy`), the recipe's global batch held fixed, its real "
             f"corpus: `fit` over {args.warmup} + {args.steps} batches, the last {args.steps} "
             "timed; all-reduce: a SUM of tensors shaped as the trainable weights, per step. "
             "**The two workers share this machine's cores**: the ratio is the overhead of the "
             "multi-worker path, not a speed-up.", "",
             "| recipe | batch | workers | steps/s | tokens/s | 2 workers / 1 | all-reduce "
             "ms/step | parameters |", "|---|---|---|---|---|---|---|---|"]
    for one, two in pairs:
        for result in (one, two):
            if "failed" in result:
                lines.append(f"| {result['name']} | | {result['workers']} | failed: "
                             f"{result['failed']} | | | | |")
                continue
            rate = result["steps"] / result["seconds"]
            ratio = ""
            if result is two and "failed" not in one:
                ratio = f"{rate / (one['steps'] / one['seconds']):.2f}"
            exchange = (f"{result['all_reduce_ms']:.1f} | {result['parameters']:,}"
                        if "all_reduce_ms" in result else " | ")
            lines.append(
                f"| {result['name']} | {result['batch_size']} | {result['workers']} | "
                f"{rate:.2f} | {result['tokens'] / result['seconds']:,.0f} | {ratio} | "
                f"{exchange} |")
    return lines


def main() -> None:
    from report import emit, recipe_arguments

    args = recipe_arguments(__doc__.split("\n\n")[0], RECIPES, warmup=3, steps=20)
    if args.child:
        print(json.dumps(measure(args.child, args.data_dir, args.warmup, args.steps)))
        return
    pairs = []
    for name in args.recipes.split(","):
        pairs.append((run(name.strip(), args, 1), run(name.strip(), args, 2)))
        print(pairs[-1], file=sys.stderr, flush=True)
    emit(report(pairs, args), args.out)


if __name__ == "__main__":
    main()
