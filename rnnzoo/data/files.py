"""Reading text files line by line, with errors that name the file and the line; the mode of
the files rnnzoo writes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, Union

PathLike = Union[str, "os.PathLike[str]"]


class DataFormatError(ValueError):
    """A data file is malformed; the message starts with ``path:line:``."""

    def __init__(self, path: PathLike, line: int, message: str):
        super().__init__(f"{os.fspath(path)}:{line}: {message}")
        self.path = os.fspath(path)
        self.line = line


def default_mode(folder: bool = False) -> int:
    """The mode ``open()`` or ``mkdir()`` would give a new file or folder under the current
    umask (0644 / 0755 under the usual 022): what rnnzoo gives the files it writes through a
    private temporary file (``mkstemp`` and ``mkdtemp`` make them 0600 / 0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


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


def tsv_columns(path: PathLike, names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The ``names`` columns (by header name, stripped) of each line of a tab-separated file;
    blank lines skipped, a missing column or a line of another width a
    :class:`DataFormatError`."""
    lines = iter_lines(path)
    _, header = next(lines, (1, ""))
    columns = header.split("\t")
    for name in names:
        if name not in columns:
            raise DataFormatError(path, 1, f"no column {name!r} (columns: {columns})")
    indices = [columns.index(name) for name in names]
    rows = []
    for number, line in lines:
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(columns):
            message = f"expected {len(columns)} tab-separated columns, got {len(fields)}"
            raise DataFormatError(path, number, message)
        rows.append(tuple(fields[i].strip() for i in indices))
    return rows


def read_text(path: PathLike) -> str:
    """The whole UTF-8 file as one string, line endings kept."""
    return "".join(line for _, line in iter_lines(path, keepends=True))


def loads_json(text: str) -> Any:
    """``json.loads(text)``, with a document nested too deeply for Python's parser (which
    raises RecursionError) reported as the ``json.JSONDecodeError`` any other bad JSON is."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text[:100], 0) from None
