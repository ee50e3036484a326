"""Run every benchmark, each in its own process, and write one markdown report (``make bench``).

Order: cli, layers, generation, training, serving. The report starts with the date, the CPU, the
core count, the library versions, the load average and the wall time of each benchmark; then
each benchmark's own section (headed by its date and CPU). A benchmark that fails leaves a
line saying so, and the others still run.

    .venv/bin/python benchmarks/run_all.py [--data-dir DIR] [--layer-repeats N]
                                           [--out benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rnnzoo.zoo.cards import cpu_name  # noqa: E402

NAMES = ("cli", "layers", "generation", "training", "serving")


def versions() -> str:
    """Installed TensorFlow, Keras and (if any) PyTorch versions."""
    found = []
    for label, package in (("TensorFlow", "tensorflow"), ("Keras", "keras"),
                           ("PyTorch", "torch")):
        try:
            found.append(f"{label} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def arguments(name: str, args: argparse.Namespace) -> list[str]:
    """The options of benchmark ``name`` besides ``--out``."""
    if name == "layers":
        return ["--repeats", str(args.layer_repeats)]
    if name == "training" and args.data_dir:
        return ["--data-dir", args.data_dir]
    return []


def run(name: str, args: argparse.Namespace, folder: Path) -> tuple[str, float]:
    """Benchmark ``name``'s markdown section (or a line saying it failed) and its wall time."""
    out = folder / f"{name}.md"
    command = [sys.executable, str(HERE / f"{name}.py"), *arguments(name, args), "--out",
               str(out)]
    print(f"== {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    status = subprocess.run(command).returncode
    seconds = time.perf_counter() - start
    if status != 0 or not out.is_file():
        return f"## {name.capitalize()} benchmark: failed (exit status {status})\n", seconds
    return out.read_text(), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="corpora for the training benchmark "
                                           "(default: $RNNZOO_DATA)")
    parser.add_argument("--layer-repeats", type=int, default=7,
                        help="layers.py --repeats (default: 7)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"),
                        help="the report (default: benchmarks/RESULTS.md)")
    args = parser.parse_args()

    started, load_before = datetime.datetime.now(), load()
    with tempfile.TemporaryDirectory() as folder:
        sections = {name: run(name, args, Path(folder)) for name in NAMES}
    total = sum(seconds for _, seconds in sections.values())
    timings = ", ".join(f"{name} {seconds / 60:.1f}" for name, (_, seconds) in sections.items())
    header = [f"# Benchmark results, {started:%Y-%m-%d %H:%M}", "",
              f"{cpu_name()}, {os.cpu_count()} cores; {versions()}. Written by `make bench` "
              f"(`benchmarks/run_all.py`) in {total / 60:.1f} minutes ({timings}); load "
              f"average (1 / 5 / 15 min) {load_before} at the start, {load()} at the end. "
              "What each table measures: `benchmarks/README.md`.", ""]
    Path(args.out).write_text("\n".join(header) + "\n"
                              + "\n".join(text for text, _ in sections.values()))
    print(f"wrote {args.out} ({total / 60:.1f} min)", file=sys.stderr)


if __name__ == "__main__":
    main()
