"""sha256 manifests: every file of a shipped model is checked before anything is deserialised."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rnnzoo.data.files import loads_json

MANIFEST = "manifest.json"
REQUIRED = ("config.yaml", "model.keras")


class ChecksumError(ValueError):
    """A model file is missing, unlisted or differs from its manifest."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: str | Path, names: list[str]) -> dict:
    """Writes ``folder/manifest.json`` listing the sha256 of each file in ``names``."""
    folder = Path(folder)
    files = {name: sha256(folder / name) for name in sorted(names)}
    (folder / MANIFEST).write_text(json.dumps({"files": files}, indent=2) + "\n")
    return files


def verify(folder: str | Path) -> list[str]:
    """Checks every file listed in ``folder/manifest.json``; returns their names."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ChecksumError(f"{folder}: no {MANIFEST}; refusing to load unverified files")
    try:
        files = loads_json(path.read_text())["files"]
    except (ValueError, KeyError, TypeError) as error:
        raise ChecksumError(f"{path}: unreadable manifest ({error})") from None
    if not isinstance(files, dict):
        raise ChecksumError(f"{path}: 'files' must map file names to sha256 digests")
    missing = [name for name in REQUIRED if name not in files]
    unlisted = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST and p.name not in files)
    if missing or unlisted:
        raise ChecksumError(f"{path}: does not list {missing + unlisted}; refusing to load "
                            "files that no checksum covers")
    for name, expected in files.items():
        file = folder / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ChecksumError(f"{path}: entry {name!r} points outside the model folder")
        if not file.is_file():
            raise ChecksumError(f"{file}: listed in {MANIFEST} but missing")
        actual = sha256(file)
        if actual != expected:
            raise ChecksumError(
                f"{file}: sha256 {actual} does not match {MANIFEST} ({expected}); the file is "
                "corrupted or was changed"
            )
    return sorted(files)
