"""Loading ``.keras`` files: in safe mode, and only under a Keras whose safe mode holds; storing
shipped weights compactly (float16 on disk, float32 once loaded).

Keras releases before 3.15.1 let a crafted ``.keras`` file run code while loading even in safe
mode: a ``Lambda`` layer calling ``os.system`` (the CVE-2025-1550 shape, seen with Keras 3.8)
and a ``TFSMLayer`` loading a SavedModel the file names (seen with Keras 3.13). rnnzoo refuses
to load anything under such a Keras.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np

MIN_KERAS = (3, 15, 1)
WEIGHTS = "model.weights.h5"


class UnsafeKerasError(RuntimeError):
    """The installed Keras is older than :data:`MIN_KERAS`."""


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.15.1"`` → ``(3, 15, 1)``; a pre-release or local suffix (``3.16.0rc1``,
    ``3.16.0.dev2026``) is dropped after the last leading number."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


def check_keras(version: str | None = None) -> None:
    """Raises :class:`UnsafeKerasError` naming the installed and the required versions when
    ``version`` (default: the installed Keras's) is older than :data:`MIN_KERAS`."""
    version = keras.__version__ if version is None else version
    if version_tuple(version) < MIN_KERAS:
        required = ".".join(map(str, MIN_KERAS))
        raise UnsafeKerasError(
            f"Keras {version} is installed, but rnnzoo loads model files only with Keras >= "
            f"{required}: older releases let a crafted .keras file run code despite safe mode "
            f"(CVE-2025-1550). Upgrade: pip install 'keras>={required}'")


def ids_model(model: keras.Model) -> keras.Model:
    """The model on token ids: ``model`` itself, or the one inside a raw-text model (a model
    whose input is strings: preprocessor → model on ids → answers)."""
    if model.inputs and model.inputs[0].dtype != "string":
        return model
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(inner) != 1:
        raise ValueError(f"{model.name}: a raw-text model holds one model on ids, "
                         f"found {len(inner)}")
    return inner[0]


def load_keras(path: str | os.PathLike, raw_text: bool = False) -> keras.Model:
    """The model on ids in the ``.keras`` file ``path`` (see :func:`ids_model`), or with
    ``raw_text`` the file's model as saved; loaded with ``safe_mode=True`` after
    :func:`check_keras`, with every rnnzoo serializable class registered
    (:mod:`rnnzoo.keras_objects`)."""
    import rnnzoo.keras_objects  # noqa: F401

    check_keras()
    model = keras.saving.load_model(path, safe_mode=True)
    return model if raw_text else ids_model(model)


def _float16_weights(source: bytes, path: Path) -> bytes:
    """A ``model.weights.h5`` whose float32 arrays are stored as float16, all else copied; a
    ValueError names ``path`` if a weight is beyond float16's range."""
    largest = float(np.finfo(np.float16).max)
    out = io.BytesIO()
    with h5py.File(io.BytesIO(source), "r") as old, h5py.File(out, "w") as new:
        new.attrs.update(old.attrs)

        def copy(name, item):
            if isinstance(item, h5py.Dataset):
                value = item[()]
                if isinstance(value, np.ndarray) and value.dtype == np.float32:
                    if value.size and float(np.abs(value).max()) > largest:
                        raise ValueError(f"{path}: a weight of magnitude "
                                         f"{float(np.abs(value).max()):g} does not fit in float16")
                    value = value.astype(np.float16)
                new.create_dataset(name, data=value)
            else:
                new.require_group(name)
            new[name].attrs.update(item.attrs)

        old.visititems(copy)
    return out.getvalue()


def store_float16(path: str | os.PathLike) -> None:
    """Rewrites the ``.keras`` file ``path`` with its float32 weights stored as float16 (half the
    bytes; Keras loads them back into the model's float32 variables), in place and atomically.
    A weight beyond float16's range is an error: nothing is written."""
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        members = {info: archive.read(info) for info in archive.infolist()}
    stored = {info: _float16_weights(data, path) if info.filename == WEIGHTS else data
              for info, data in members.items()}
    tmp = path.with_name(f".{path.name}.float16")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for info, data in stored.items():
                archive.writestr(info, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
