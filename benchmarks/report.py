"""The benchmarks' shared ending: print the markdown report and, with ``--out``, write it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def emit(lines: list[str], out: Optional[str]) -> None:
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if out:
        Path(out).write_text(text)
