"""What ``rnnzoo.load`` returns: a task object per task, wrapping the Keras model, its
vocabularies and its recipe."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import EOS, Vocabulary, split_tokens
from rnnzoo.models.sampling import Generator


class TaskModel:
    """Common face: ``.keras_model``, ``.config`` (the recipe), ``.evaluate(...)``."""

    task = ""

    def __init__(self, folder: Path, config: dict):
        self.folder = Path(folder)
        self.config = config
        self.keras_model = keras.saving.load_model(self.folder / "model.keras", safe_mode=True)

    def evaluate(self, data_dir: Optional[str] = None, split: str = "test") -> dict:
        """The recipe's metrics on a split of its corpus (data from ``data_dir`` or
        ``$RNNZOO_DATA``)."""
        from rnnzoo.training import recipe_module

        return recipe_module(self.task).evaluate(self.folder, data_dir, split)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.get('name', self.folder.name)!r}>"


def _texts(texts: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(texts, str):
        return [texts], True
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("expected a string or a list of strings")
    return list(texts), False


class LanguageModel(TaskModel):
    """``generate(prompt, ...)`` continues a text; ``perplexity(texts)`` scores texts."""

    task = "language_model"

    def __init__(self, folder: Path, config: dict):
        super().__init__(folder, config)
        self.level = config["model"].get("level", "word")
        self.vocab = Vocabulary.load(self.folder / "vocab.txt", self.level)
        self.boundary = EOS if self.level == "word" else "\n"
        self._generator = Generator(self.keras_model)

    def _ids(self, text: str) -> np.ndarray:
        return self.vocab.ids([self.boundary] + split_tokens(text, self.level)).astype("int32")

    def _text(self, ids: np.ndarray) -> str:
        tokens = [self.vocab.tokens[i] for i in ids]
        if self.level == "char":
            return "".join(tokens)
        return " ".join(tokens).replace(f" {EOS} ", "\n").replace(EOS, "\n")

    def generate(self, prompt: str | Sequence[str] = "", max_tokens: int = 50,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                 seed: int = 0) -> str | list[str]:
        """The continuation of each prompt (``temperature=0``: greedy), seeded."""
        prompts, single = _texts(prompt)
        out = []
        for text in prompts:
            ids = self._generator(self._ids(text)[None], max_tokens=max_tokens,
                                  temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
            out.append(self._text(ids.numpy()[0]))
        return out[0] if single else out

    def log_likelihood(self, text: str) -> tuple[float, int]:
        """Σ log p(token | prefix) in nats over the text's tokens (and the closing ``<eos>`` of a
        word model), and the number of tokens scored."""
        ids = self._ids(text)
        if self.level == "word":
            ids = np.append(ids, self.vocab.eos_id).astype("int32")
        if len(ids) < 2:
            return 0.0, 0
        log_probs = tf.nn.log_softmax(self.keras_model(ids[None, :-1]))[0].numpy()
        return float(log_probs[np.arange(len(ids) - 1), ids[1:]].sum()), len(ids) - 1

    def perplexity(self, texts: str | Sequence[str]) -> float:
        """exp(−Σ log p / N) over all tokens of ``texts``."""
        texts, _ = _texts(texts)
        scores = [self.log_likelihood(t) for t in texts]
        total, count = sum(s for s, _ in scores), sum(n for _, n in scores)
        if count == 0:
            raise ValueError("perplexity needs at least one token")
        return math.exp(-total / count)


TASKS = {cls.task: cls for cls in (LanguageModel,)}
