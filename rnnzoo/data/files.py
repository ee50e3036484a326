"""Reading text files line by line, with errors that name the file and the line."""

from __future__ import annotations

import os
from typing import Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


class DataFormatError(ValueError):
    """A data file is malformed; the message starts with ``path:line:``."""

    def __init__(self, path: PathLike, line: int, message: str):
        super().__init__(f"{os.fspath(path)}:{line}: {message}")
        self.path = os.fspath(path)
        self.line = line


def iter_lines(path: PathLike, keepends: bool = False) -> Iterator[tuple[int, str]]:
    """Yields ``(line_number, text)`` for each line of a UTF-8 file (numbers start at 1).

    Lines end at ``\\n`` only; without ``keepends`` the ``\\n`` and a preceding ``\\r`` are
    removed. A leading byte-order mark is dropped. Invalid UTF-8 raises :class:`DataFormatError`.
    """
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataFormatError(path, number, f"invalid UTF-8 at byte {e.start} of the line") from None
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not keepends:
                line = line.rstrip("\n").removesuffix("\r")
            yield number, line


def read_text(path: PathLike) -> str:
    """The whole UTF-8 file as one string, line endings kept."""
    return "".join(line for _, line in iter_lines(path, keepends=True))
