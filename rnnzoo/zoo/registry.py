"""Where shipped models live, and how a name or a path becomes a verified model folder.

Models are looked up in ``$RNNZOO_HOME`` when set, else in the source checkout's
``saved_models/``, else in ``<sys.prefix>/share/rnnzoo/saved_models`` (where ``pip install``
puts the weights that travel with the package).
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

from rnnzoo.training.config import load_yaml
from rnnzoo.training.recipe import NAME
from rnnzoo.zoo.manifest import MANIFEST, verify

HOME_ENV = "RNNZOO_HOME"
CONFIG = "config.yaml"


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
    """Names of the shipped models (folders with a manifest and a valid model name, the names
    :func:`resolve` takes), sorted."""
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if NAME.fullmatch(p.name) and (p / MANIFEST).is_file())


def _unknown(name: str) -> UnknownModelError:
    known = list_models()
    close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return UnknownModelError(f"unknown model {name!r}{hint} (available: {', '.join(known) or 'none'})")


def _expanded(text: str) -> Path:
    """``text`` as a path, ``~`` expanded when it names a known user."""
    try:
        return Path(text).expanduser()
    except RuntimeError:
        return Path(text)


def _exists(path: Path, file: bool = False) -> bool:
    """``path.is_file()`` (``file``) or ``path.exists()``, False where the system refuses the
    path (a name too long, say) instead of an OSError."""
    try:
        return path.is_file() if file else path.exists()
    except OSError:
        return False


def resolve(name_or_path: str | os.PathLike) -> Path:
    """The model folder of a zoo name (``"gru-lm"``) or of a path to a model or run folder.

    A string that is a valid zoo name is always a zoo name (so a local folder cannot shadow a
    shipped model); give a path with a separator (``./gru-lm``) or as a ``Path`` to load a
    folder.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"expected a model name or a path, got {type(name_or_path).__name__}")
    text = os.fspath(name_or_path)
    if not text.strip():
        raise ValueError("empty model name: give a zoo name (see rnnzoo.list_models()) or a path")
    if isinstance(name_or_path, str) and NAME.fullmatch(text):
        folder = models_dir() / text
        if not (folder / MANIFEST).is_file():
            raise _unknown(text)
        return folder
    folder = _expanded(text)
    if not _exists(folder / CONFIG, file=True):
        if isinstance(name_or_path, str) and os.sep not in text and not _exists(folder):
            raise _unknown(text)
        raise FileNotFoundError(f"{folder}: not a model folder (no {CONFIG})")
    return folder


def read_config(folder: Path) -> dict:
    """The folder's recipe, every file verified first when the folder has a manifest (a zoo
    model always has one; a training run folder has none)."""
    if (folder / MANIFEST).is_file() or folder.parent.resolve() == models_dir().resolve():
        verify(folder)
    config = load_yaml((folder / CONFIG).read_text(encoding="utf-8"), str(folder / CONFIG))
    if not isinstance(config, dict) or not isinstance(config.get("task"), str):
        raise ValueError(f"{folder / CONFIG}: not a recipe (a mapping with a 'task')")
    return config
