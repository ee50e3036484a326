"""Generation cost is linear in the number of tokens: time(400) / time(200) ≤ 2.2.

For each cell, a word-level LM of zoo size (vocab 10k, embedding 256, 2 × 512 units) generates
200 and 400 tokens from a 10-token prompt with the compiled, state-carrying loop; the two lengths
are timed alternately in one process. Prints a markdown table with tokens/s and the ratio.

    .venv/bin/python benchmarks/generation.py [--repeats N] [--out PATH]
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

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnzoo.models import language_model  # noqa: E402
from rnnzoo.models.sampling import Generator  # noqa: E402
from rnnzoo.zoo.cards import cpu_name  # noqa: E402
from report import emit  # noqa: E402

LENGTHS = (200, 400)
TARGET = 2.2


def measure(cell: str, repeats: int) -> dict[int, float]:
    keras.utils.set_random_seed(0)
    model = language_model.build({"vocab_size": 10000, "embedding_dim": 256, "hidden": 512,
                                  "num_layers": 2, "cell": cell})
    generator = Generator(model)
    prompt = np.arange(1, 11, dtype="int32")[None]
    for length in LENGTHS:
        generator(prompt, max_tokens=length, seed=0)
    samples: dict[int, list[float]] = {length: [] for length in LENGTHS}
    for round_ in range(repeats):
        for length in LENGTHS[round_ % 2:] + LENGTHS[: round_ % 2]:
            start = time.perf_counter()
            generator(prompt, max_tokens=length, seed=round_).numpy()
            samples[length].append(time.perf_counter() - start)
    return {length: statistics.median(times) for length, times in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", help="also write the markdown report to this path")
    args = parser.parse_args()
    lines = [f"## Generation benchmark, {datetime.date.today()}", "",
             f"{cpu_name()}, {os.cpu_count()} cores; TensorFlow {tf.__version__}. Word LM, "
             "vocab 10k, 2 × 512 units, batch 1, temperature 1; median of "
             f"{args.repeats} alternating runs.", "",
             "| cell | 200 tokens s | 400 tokens s | tokens/s | ratio 400/200 | target ≤ 2.2 |",
             "|---|---|---|---|---|---|"]
    for cell in ("lstm", "gru", "rnn"):
        times = measure(cell, args.repeats)
        ratio = times[400] / times[200]
        verdict = "met" if ratio <= TARGET else "NOT met"
        lines.append(f"| {cell} | {times[200]:.3f} | {times[400]:.3f} | {400 / times[400]:.0f} | "
                     f"{ratio:.2f} | {verdict} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
