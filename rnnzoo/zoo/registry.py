"""Where shipped models live, and how a name or a path becomes a verified model folder.

Models are looked up in ``$RNNZOO_HOME`` when set, else in the source checkout's
``saved_models/``, else in ``<sys.prefix>/share/rnnzoo/saved_models`` (where ``pip install``
puts the weights that travel with the package).
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from pathlib import Path

import yaml

from rnnzoo.zoo.manifest import MANIFEST, verify

HOME_ENV = "RNNZOO_HOME"
CONFIG = "config.yaml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class UnknownModelError(LookupError):
    """No shipped model has that name."""


def models_dir() -> Path:
    """The folder holding one sub-folder per shipped model."""
    home = os.environ.get(HOME_ENV)
    if home:
        path = Path(home).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"{HOME_ENV}={home}: no such folder")
        return path
    source = Path(__file__).resolve().parents[2] / "saved_models"
    installed = Path(sys.prefix) / "share" / "rnnzoo" / "saved_models"
    return source if source.is_dir() else installed


def list_models() -> list[str]:
    """Names of the shipped models (folders with a manifest), sorted."""
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST).is_file())


def resolve(name_or_path: str | os.PathLike) -> Path:
    """The model folder of a zoo name (``"gru-lm"``) or of a path to a model or run folder.

    A zoo name must be lower-case letters, digits and ``-``; anything else is taken as a path.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"expected a model name or a path, got {type(name_or_path).__name__}")
    text = os.fspath(name_or_path)
    if not text.strip():
        raise ValueError("empty model name: give a zoo name (see rnnzoo.list_models()) or a path")
    if _NAME.match(text) and not Path(text).is_dir():
        folder = models_dir() / text
        if not (folder / MANIFEST).is_file():
            known = list_models()
            close = difflib.get_close_matches(text, known, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownModelError(
                f"unknown model {text!r}{hint} (available: {', '.join(known) or 'none'})"
            )
        return folder
    folder = Path(text).expanduser()
    if not (folder / CONFIG).is_file():
        raise FileNotFoundError(f"{folder}: not a model folder (no {CONFIG})")
    return folder


def read_config(folder: Path) -> dict:
    """The folder's recipe, verified first when the folder has a manifest."""
    if (folder / MANIFEST).is_file() or folder.parent == models_dir():
        verify(folder)
    return yaml.safe_load((folder / CONFIG).read_text(encoding="utf-8"))
