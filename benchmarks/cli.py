"""Wall time of the CLI commands a newcomer runs first: ``--help``, ``list`` and ``info`` (which
import no TensorFlow) beside a one-token ``generate`` (which loads a model), each the median
of several runs of the installed console script.

    .venv/bin/python benchmarks/cli.py [--repeats N] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from report import emit  # noqa: E402

from rnnzoo.zoo.cards import cpu_name  # noqa: E402

COMMANDS = (["--help"], ["list"], ["info", "rnn-lm"],
            ["generate", "rnn-lm", "It is", "--max-tokens", "1"])
TARGET_SECONDS = 1.0


def seconds(args: list[str], repeats: int) -> float:
    """The median wall time of ``rnnzoo ARGS`` (a fresh process each time)."""
    script = str(Path(sys.executable).parent / "rnnzoo")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([script, *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", help="also write the markdown report to this path")
    args = parser.parse_args()
    lines = [f"## CLI start-up ({datetime.date.today()}, {cpu_name()}, {os.cpu_count()} cores)",
             "", f"Median wall time of {args.repeats} runs of the console script; target: "
             f"under {TARGET_SECONDS:.0f} s for the commands that run no model.", "",
             "| command | seconds | target |", "|---|---|---|"]
    for command in COMMANDS:
        wall = seconds(command, args.repeats)
        target = ("—" if command[0] == "generate" else
                  "met" if wall < TARGET_SECONDS else "missed")
        lines.append(f"| `rnnzoo {' '.join(command)}` | {wall:.2f} | {target} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
