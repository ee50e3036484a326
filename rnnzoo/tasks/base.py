"""The common face of the objects ``rnnzoo.load`` returns (each task's ``task.py``): the Keras
model, its vocabularies and its recipe.

Each input is read up to ``max_input_tokens`` tokens, so that any input (a 100 MB line) is
answered in bounded time and memory: a language model, a tagger and a translator read
:data:`MAX_INPUT_TOKENS` (a warning is logged when an input is cut), a classifier its recipe's
``data.max_tokens`` (the head its model was trained on). A text is cut to
``max_input_tokens`` × :data:`MAX_TOKEN_CHARS` characters before it is tokenised.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import keras

from rnnzoo.saving import ids_model, load_keras

logger = logging.getLogger(__name__)

MAX_INPUT_TOKENS = 1000
"""Tokens of one input read by a language model (a prompt's last, a scored text's first),
a tagger and a translator (a sentence's first)."""

MAX_TOKEN_CHARS = 100
"""Characters per token of the cut made before tokenising: a text longer than
``max_input_tokens`` × MAX_TOKEN_CHARS characters is cut to that many (its first, or a
prompt's last) before it is split, so that no input is tokenised whole."""


class TaskModel:
    """Common face: ``.keras_model``, ``.config`` (the recipe), ``.evaluate(...)``, and
    ``.max_input_tokens``, the tokens of one input that are read."""

    task = ""
    max_input_tokens = MAX_INPUT_TOKENS

    def __init__(self, folder: Path, config: dict):
        self.folder = Path(folder)
        self.config = config
        saved = load_keras(self.folder / "model.keras", raw_text=True)
        self.keras_model = ids_model(saved)
        self._text_model = saved if saved is not self.keras_model else None

    @property
    def text_model(self) -> keras.Model | None:
        """The model that answers raw strings (the one the ``.keras`` file holds, or
        :meth:`build_text_model` around :attr:`keras_model`); what ``publish`` saves."""
        if self._text_model is None:
            self._text_model = self.build_text_model()
        return self._text_model

    def build_text_model(self) -> keras.Model | None:
        """Raw strings → the task's answers: the task's preprocessor, :attr:`keras_model` and
        its answers, as Keras layers; ``None`` for a task that has none yet (its ``.keras``
        holds the model on ids)."""
        return None

    def evaluate(self, data_dir: str | None = None, split: str = "test") -> dict:
        """The recipe's metrics on a split of its corpus (data from ``data_dir`` or
        ``$RNNZOO_DATA``)."""
        from rnnzoo.tasks.registry import get_task

        return get_task(self.task).recipe().evaluate(self.folder, data_dir, split)

    def export(self, base: str | os.PathLike, version: int | None = None,
               name: str | None = None) -> Path:
        """A SavedModel for TensorFlow Serving at ``base/<name>/<version>/`` (see
        :func:`rnnzoo.zoo.export.export`); returns the version folder."""
        from rnnzoo.zoo.export import export

        return export(self, base, version=version, name=name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.get('name', self.folder.name)!r}>"

    def samples(self) -> list[str]:
        """Markdown lines showing the model at work on fixed inputs, for its card."""
        raise NotImplementedError

    def cut_text(self, text: str, keep_last: bool = False) -> str:
        """At most ``max_input_tokens`` × MAX_TOKEN_CHARS characters of ``text``: the first
        (or the last), with a warning when some are left out."""
        limit = self.max_input_tokens * MAX_TOKEN_CHARS
        if len(text) <= limit:
            return text
        logger.warning("%r: an input of %d characters is cut to its %s %d before it is "
                       "tokenised", self, len(text), "last" if keep_last else "first", limit)
        return text[-limit:] if keep_last else text[:limit]

    def _cut(self, tokens: list[str], keep_last: bool = False) -> list[str]:
        """At most ``max_input_tokens`` of ``tokens``: the first (or the last), with a warning
        when some are left out."""
        limit = self.max_input_tokens
        self.warn_cut(len(tokens), keep_last)
        return tokens[-limit:] if keep_last else tokens[:limit]

    def warn_cut(self, count: int, keep_last: bool = False) -> None:
        """A warning when an input of ``count`` tokens is longer than ``max_input_tokens``
        (and so is cut to its first, or last, that many)."""
        if count > self.max_input_tokens:
            logger.warning("%r: an input of %d tokens is cut to its %s %d", self, count,
                           "last" if keep_last else "first", self.max_input_tokens)


def check_sampling(max_tokens: int, temperature: float, top_k: int, seed: int) -> None:
    """A ValueError for settings the compiled sampling loop cannot hold (it checks the lower
    bounds and ``top_p`` itself)."""
    if math.isnan(temperature):
        raise ValueError("temperature must be a number, got nan")
    if max_tokens >= 2**31 or top_k >= 2**31:
        raise ValueError(f"max_tokens and top_k must be < 2**31, got {max_tokens} and {top_k}")
    if not -2**63 <= seed < 2**63:
        raise ValueError(f"seed must be a 64-bit integer, got {seed}")


def as_texts(texts: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(texts, str):
        return [texts], True
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("expected a string or a list of strings")
    return list(texts), False
