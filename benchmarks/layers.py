"""Time rnnzoo's explicit recurrent layers against Keras's built-ins (and PyTorch if installed).

For each layer and size, the explicit and built-in layers get the same weights; then a
`tf.function` inference call and a `tf.function` training step (forward, mean-square loss,
backward, Adam update) of each are timed in interleaved repeats in this one process, so
that load from other jobs on a shared machine hits both columns alike (PyTorch's columns
are timed in a pass of their own). Medians are reported; ratio = built-in ms / explicit
ms, so > 1 means the explicit layer is faster.

    .venv/bin/python benchmarks/layers.py [--sizes big,small] [--layers lstm,gru,rnn]
                                          [--repeats N] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # time this checkout's rnnzoo

import keras
import numpy as np
import tensorflow as tf

import rnnzoo.layers as explicit_layers
from rnnzoo.zoo.cards import cpu_name

try:
    import torch
except ImportError:
    torch = None


@dataclass(frozen=True)
class Size:
    batch: int
    steps: int
    inputs: int
    units: int
    repeat_factor: int  # small sizes are cheap and noisier: run more repeats


SIZES = {"big": Size(64, 100, 256, 512, 1), "small": Size(8, 50, 64, 128, 4)}
KERAS_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}
TRAIN_TARGETS = {"lstm": 1.3, "gru": 1.2, "rnn": 1.0}  # at size "big"
INFERENCE_TARGET = 1.0  # at size "big", every layer
TORCH_THREADS = 2
MAX_OUTPUT_DIFF = 1e-4  # beyond it, explicit and built-in do not compute the same thing

Step = Callable[[], object]


@dataclass(frozen=True)
class Row:
    layer: str
    size: str
    output_diff: float  # max |explicit - builtin| of the inference outputs, same weights
    ms: dict[str, float]  # median milliseconds by "<impl> <inf|train>"

    def ratio(self, mode: str) -> float:
        return self.ms[f"builtin {mode}"] / self.ms[f"explicit {mode}"]


def comma_list(allowed: list[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = sorted(set(items) - set(allowed))
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(allowed)}; got {text!r}")
        return items

    return parse


def keras_steps(layer: keras.layers.Layer, x: tf.Tensor) -> dict[str, Step]:
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(layer.trainable_variables)

    @tf.function
    def infer() -> tf.Tensor:
        return layer(x, training=False)

    @tf.function
    def train() -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x, training=True)))
        grads = tape.gradient(loss, layer.trainable_variables)
        optimizer.apply_gradients(zip(grads, layer.trainable_variables))
        return loss

    return {"inf": infer, "train": train}


def torch_steps(layer: str, size: Size, x: np.ndarray) -> dict[str, Step]:
    assert torch is not None
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[layer]
    module = cls(size.inputs, size.units, batch_first=True)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    xt = torch.from_numpy(x)

    def infer() -> object:
        with torch.no_grad():
            return module(xt)[0]

    def train() -> object:
        optimizer.zero_grad(set_to_none=True)
        loss = module(xt)[0].square().mean()
        loss.backward()
        optimizer.step()
        return loss

    return {"inf": infer, "train": train}


def interleaved_medians(steps: dict[str, dict[str, Step]], repeats: int) -> dict[str, float]:
    """Median ms of each ``steps[impl][mode]``, keyed "impl mode".

    After a warm-up (tracing, compiling), each round times every mode once per implementation,
    rotating the implementations' order from round to round, so that each is preceded by the
    others (and by itself) equally often: what ran before warms or cools caches and threads.
    """
    impls = list(steps)
    modes = list(steps[impls[0]])
    for impl in impls:
        for step in steps[impl].values():
            step()
            step()
    samples: dict[str, list[float]] = {f"{impl} {mode}": [] for impl in impls for mode in modes}
    for round_ in range(repeats):
        order = impls[round_ % len(impls):] + impls[:round_ % len(impls)]
        for mode in modes:
            for impl in order:
                start = time.perf_counter()
                steps[impl][mode]()
                samples[f"{impl} {mode}"].append((time.perf_counter() - start) * 1e3)
    return {key: statistics.median(times) for key, times in samples.items()}


def bench(layer: str, size_name: str, repeats: int) -> Row:
    size = SIZES[size_name]
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((size.batch, size.steps, size.inputs), dtype=np.float32)
    x = tf.constant(x_np)
    keras.utils.set_random_seed(0)
    builtin = getattr(keras.layers, KERAS_NAMES[layer])(size.units, return_sequences=True)
    builtin(x)
    explicit = getattr(explicit_layers, KERAS_NAMES[layer]).from_builtin(builtin)
    keras_impls = {"explicit": keras_steps(explicit, x), "builtin": keras_steps(builtin, x)}
    diff = np.max(np.abs(np.asarray(keras_impls["explicit"]["inf"]())
                         - np.asarray(keras_impls["builtin"]["inf"]())))

    n = repeats * size.repeat_factor
    print(f"{layer} {size_name}: max |explicit - builtin| = {diff:.2e}, {n} repeats ...",
          file=sys.stderr, flush=True)
    ms = interleaved_medians(keras_impls, n)
    if torch is not None:
        # Timed apart: torch's OpenMP threads keep spinning after each call and slow
        # whichever TensorFlow step comes next.
        ms |= interleaved_medians({"torch": torch_steps(layer, size, x_np)}, n)
    return Row(layer, size_name, float(diff), ms)


def report(rows: list[Row], repeats: int) -> str:
    versions = f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    if torch is not None:
        versions += f", PyTorch {torch.__version__} ({TORCH_THREADS} threads)"
    lines = [
        f"## Layer benchmark, {datetime.date.today().isoformat()}",
        "",
        f"{cpu_name()}, {os.cpu_count()} cores; {versions}.",
        f"float32, return_sequences=True; median ms of {repeats} interleaved repeats "
        f"(x{SIZES['small'].repeat_factor} at small); ratio = builtin / explicit "
        "(> 1: explicit faster).",
        "",
    ]
    header = ["layer", "size", "explicit inf ms", "builtin inf ms", "ratio",
              "explicit train ms", "builtin train ms", "ratio"]
    if torch is not None:
        header += ["torch inf ms", "torch train ms"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [KERAS_NAMES[row.layer], row.size]
        for mode in ("inf", "train"):
            cells += [f"{row.ms['explicit ' + mode]:.1f}", f"{row.ms['builtin ' + mode]:.1f}",
                      f"{row.ratio(mode):.2f}"]
        if torch is not None:
            cells += [f"{row.ms['torch inf']:.1f}", f"{row.ms['torch train']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    for row in rows:
        if row.output_diff > MAX_OUTPUT_DIFF:
            lines += ["", f"WARNING: {KERAS_NAMES[row.layer]} {row.size}: with the same weights, "
                      f"outputs differ by up to {row.output_diff:.2e} from the built-in's."]

    targets = []
    for row in rows:
        if row.size != "big":
            continue
        for mode, target in (("train", TRAIN_TARGETS[row.layer]), ("inf", INFERENCE_TARGET)):
            ratio = row.ratio(mode)
            verdict = "met" if ratio >= target else "NOT met"
            targets.append(f"- {KERAS_NAMES[row.layer]} big {mode} ratio {ratio:.2f} "
                           f"(target >= {target:.1f}): {verdict}")
    if targets:
        lines += ["", "Targets:", "", *targets]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=comma_list(list(SIZES)), default=list(SIZES),
                        help="comma-separated, from big,small (default: both)")
    parser.add_argument("--layers", type=comma_list(list(KERAS_NAMES)),
                        default=list(KERAS_NAMES),
                        help="comma-separated, from lstm,gru,rnn (default: all)")
    parser.add_argument("--repeats", type=int, default=15,
                        help="timed repeats per column at size big; "
                             f"x{SIZES['small'].repeat_factor} at small (default: 15)")
    parser.add_argument("--out", help="also write the markdown report to this path")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    if torch is not None:
        torch.set_num_threads(TORCH_THREADS)
    start = time.perf_counter()
    rows = [bench(layer, size, args.repeats) for size in args.sizes for layer in args.layers]
    text = report(rows, args.repeats)
    print(text, end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(f"total {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
