"""Generation cost of each shipped language model is linear in tokens: time(2N) / time(N) ≤ 2.2.

Each zoo LM (``rnnzoo.load(name)``) continues the same prompt for N and 2N tokens with
``generate`` (the compiled, state-carrying loop; batch 1, temperature 1); the two lengths are
timed alternately in one process. N is 200 words or 1,000 characters (about as much text; a
character step is short, and 200 of them too brief to time on a loaded machine), or
``--tokens``. Prints a markdown table with tokens/s and the ratio.

    .venv/bin/python benchmarks/generation.py [--models a b] [--tokens N] [--repeats N]
                                              [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf
from report import emit

import rnnzoo
from rnnzoo.tasks.registry import get_task
from rnnzoo.zoo.cards import cpu_name

PROMPT = "It is a truth universally acknowledged"
TARGET = 2.2
TOKENS = {"word": 200, "char": 1000}  # N by the model's level


def language_models() -> list[str]:
    """The shipped models that generate text (their task object has ``generate``)."""
    return [name for name in rnnzoo.list_models()
            if hasattr(get_task(rnnzoo.info(name)["task"]).model_class(), "generate")]


def level(name: str) -> str:
    """``word`` or ``char``: what a token of the zoo LM ``name`` is."""
    return rnnzoo.info(name)["config"]["model"].get("level", "word")


def measure(name: str, lengths: tuple[int, int], repeats: int) -> dict[int, float]:
    """Median seconds of ``generate`` at each length, the lengths timed alternately."""
    model = rnnzoo.load(name)
    for length in lengths:
        model.generate(PROMPT, max_tokens=length)
    samples: dict[int, list[float]] = {length: [] for length in lengths}
    for round_ in range(repeats):
        for length in lengths[round_ % 2:] + lengths[: round_ % 2]:
            start = time.perf_counter()
            model.generate(PROMPT, max_tokens=length, seed=round_)
            samples[length].append(time.perf_counter() - start)
    return {length: statistics.median(times) for length, times in samples.items()}


def row(name: str, times: dict[int, float]) -> str:
    """The table row of one model's medians at N and 2N tokens."""
    short, long = sorted(times)
    ratio = times[long] / times[short]
    return (f"| {name} | {level(name)} | {short} | {times[short]:.3f} | {times[long]:.3f} | "
            f"{long / times[long]:.0f} | {ratio:.2f} | {'met' if ratio <= TARGET else 'NOT met'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", help="zoo LMs (default: every shipped LM)")
    parser.add_argument("--tokens", type=int,
                        help="N: times N and 2N tokens (default: 200 words, 1000 characters)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", help="also write the markdown report to this path")
    args = parser.parse_args()
    if (args.tokens is not None and args.tokens < 1) or args.repeats < 1:
        parser.error("--tokens and --repeats must be at least 1")
    lines = [f"## Generation benchmark, {datetime.date.today()}", "",
             f"{cpu_name()}, {os.cpu_count()} cores; TensorFlow {tf.__version__}. Each zoo "
             f"language model's `generate` from a {len(PROMPT)}-character prompt, batch 1, "
             f"temperature 1; median of {args.repeats} alternating runs of N and 2N tokens "
             "(words or characters: the model's level).", "",
             f"| model | level | N | N tokens s | 2N tokens s | tokens/s | ratio 2N/N | "
             f"target ≤ {TARGET} |",
             "|---|---|---|---|---|---|---|---|"]
    for name in args.models or language_models():
        n = args.tokens or TOKENS[level(name)]
        lines.append(row(name, measure(name, (n, 2 * n), args.repeats)))
        print(lines[-1], file=sys.stderr, flush=True)
    emit(lines, args.out)


if __name__ == "__main__":
    main()
