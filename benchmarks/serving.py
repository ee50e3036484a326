"""Latency and throughput of the exported SavedModels next to in-process rnnzoo calls.

Each zoo model is exported (``rnnzoo.serving.export``) and loaded back with
``tf.saved_model.load``; its ``serving_default`` signature answers one request (p50 and p95 of
``--repeats`` calls) and a batch of 32 (texts per second), measured alternately with the
task object's own method on the same texts. Language models generate ``--max-tokens`` tokens
in process, as the signature's fixed default (50) does.

    .venv/bin/python benchmarks/serving.py [--repeats N] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import tensorflow as tf
from report import emit

import rnnzoo
from rnnzoo.tasks.language_model.serving import DEFAULT_SAMPLING
from rnnzoo.tasks.registry import get_task
from rnnzoo.zoo.cards import cpu_name
from rnnzoo.zoo.export import example_requests

BATCH = 32


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(task, base: Path, repeats: int) -> dict:
    loaded = tf.saved_model.load(str(task.export(base)))
    signature = loaded.signatures["serving_default"]
    (key, example), = example_requests(task)["serving_default"].items()
    text = example[0].decode()
    served = {n: (lambda n=n: signature(**{key: tf.constant([text.encode()] * n)})) for n in (1, BATCH)}
    answer = get_task(task.task).serving().in_process(task)
    local = {n: (lambda n=n: answer([text] * n)) for n in (1, BATCH)}
    for call in (*served.values(), *local.values()):
        call()
    one = {"served": [], "local": []}
    for round_ in range(repeats):
        order = ("served", "local") if round_ % 2 == 0 else ("local", "served")
        for way in order:
            one[way].append(timed((served if way == "served" else local)[1]))
    batch = {way: np.median([timed(calls[BATCH]) for _ in range(max(2, repeats // 10))])
             for way, calls in (("served", served), ("local", local))}
    return {way: {"p50": np.percentile(one[way], 50) * 1e3, "p95": np.percentile(one[way], 95) * 1e3,
                  "throughput": BATCH / batch[way]} for way in ("served", "local")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--models", nargs="*", help="zoo names (default: every shipped model)")
    parser.add_argument("--out", help="also write the markdown report to this path")
    args = parser.parse_args()
    lines = [f"## Serving benchmark, {datetime.date.today()}", "",
             f"{cpu_name()}, {os.cpu_count()} cores; TensorFlow {tf.__version__}. "
             f"`serving_default` of the SavedModel (loaded with `tf.saved_model.load`) vs the "
             f"rnnzoo task method, one request ({args.repeats} alternating calls) and a batch of "
             f"{BATCH} copies of the warm-up text; language models generate "
             f"{DEFAULT_SAMPLING['max_tokens']} tokens.", "",
             "| model | served p50 ms | served p95 ms | rnnzoo p50 ms | rnnzoo p95 ms | "
             f"served texts/s (batch {BATCH}) | rnnzoo texts/s (batch {BATCH}) |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as base:
        for name in args.models or rnnzoo.list_models():
            r = measure(rnnzoo.load(name), Path(base), args.repeats)
            s, loc = r["served"], r["local"]
            lines.append(f"| {name} | {s['p50']:.1f} | {s['p95']:.1f} | {loc['p50']:.1f} | "
                         f"{loc['p95']:.1f} | {s['throughput']:.1f} | {loc['throughput']:.1f} |")
            print(lines[-1], file=sys.stderr)
    emit(lines, args.out)


if __name__ == "__main__":
    main()
