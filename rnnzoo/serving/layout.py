"""The folder layout TensorFlow Serving watches: ``BASE/<name>/<version>/`` (``saved_model.pb``,
``variables/``, ``assets/``, ``assets.extra/tf_serving_warmup_requests``) and
``BASE/models.config`` listing every model under BASE.

A version is written into a hidden temporary folder beside it and renamed into place, so a
crash leaves no half-written version (TF Serving ignores folders whose names are not numbers),
and an existing version is never written over.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from rnnzoo.data.files import default_mode

MODELS_CONFIG = "models.config"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class VersionExistsError(FileExistsError):
    """The export's version folder exists already."""


def versions(model_base: Path) -> list[int]:
    """The version numbers present under ``BASE/<name>``."""
    if not model_base.is_dir():
        return []
    return sorted(int(p.name) for p in model_base.iterdir() if p.is_dir() and p.name.isdigit())


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"export name {name!r}: use letters, digits, '.', '_' and '-' only")
    return name


def write_version(base: str | os.PathLike, name: str, version: int | None,
                  write: Callable[[Path], None]) -> Path:
    """``write(folder)`` fills a new version of model ``name`` under ``base``; returns the
    version folder. ``version`` defaults to one above the highest present."""
    model_base = Path(base) / check_name(name)
    present = versions(model_base)
    if version is None:
        version = (present[-1] + 1) if present else 1
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    target = model_base / str(version)
    if target.exists():
        raise VersionExistsError(
            f"{target} exists already: versions are never overwritten; choose another "
            f"--version (present: {present})")
    model_base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-incomplete-", dir=model_base))
    try:
        write(staging)
        os.chmod(staging, default_mode(folder=True))
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_models_config(Path(base))
    return target


def write_models_config(base: Path) -> Path:
    """``BASE/models.config`` (TF Serving's ``--model_config_file``): every model folder under
    BASE that holds a version, served from ``/models/<name>`` in the container."""
    entries = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and _NAME.fullmatch(p.name)):
        if versions(folder):
            entries.append(
                "  config {\n"
                f"    name: \"{folder.name}\"\n"
                f"    base_path: \"/models/{folder.name}\"\n"
                "    model_platform: \"tensorflow\"\n"
                "  }\n")
    path = base / MODELS_CONFIG
    staging = path.with_name(f".{MODELS_CONFIG}.tmp")
    staging.write_text("model_config_list {\n" + "".join(entries) + "}\n", encoding="utf-8")
    os.replace(staging, path)
    return path
