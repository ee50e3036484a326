"""The benchmarks' shared ending: print the markdown report and, with ``--out``, write it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path


def emit(lines: list[str], out: str | None) -> None:
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if out:
        Path(out).write_text(text)


def recipe_arguments(description: str, recipes: Sequence[str], warmup: int,
                     steps: int) -> argparse.Namespace:
    """The command line of a benchmark over zoo recipes: ``--data-dir``, ``--recipes``,
    ``--warmup``, ``--steps`` (both at least 1), ``--out`` and the hidden ``--child NAME`` (a
    recipe measured in a subprocess)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", help="corpora folder (default: $RNNZOO_DATA)")
    parser.add_argument("--recipes", default=",".join(recipes),
                        help=f"comma-separated zoo recipe names (default: {','.join(recipes)})")
    parser.add_argument("--warmup", type=int, default=warmup,
                        help=f"untimed first steps (default: {warmup})")
    parser.add_argument("--steps", type=int, default=steps,
                        help=f"timed steps (default: {steps})")
    parser.add_argument("--out", help="also write the markdown report to this path")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1:
        parser.error("--warmup and --steps must be at least 1")
    return args
