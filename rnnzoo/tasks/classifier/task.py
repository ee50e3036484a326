"""What ``rnnzoo.load`` returns for a classifier: labels and probabilities of raw texts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from rnnzoo.data.vocab import Vocabulary, string_tensor
from rnnzoo.tasks.base import TaskModel, as_texts
from rnnzoo.tasks.classifier import preprocessing
from rnnzoo.training.config import validate

SAMPLE_MESSAGES = ("Are we still on for lunch at noon?",
                   "Congratulations! You won a free cruise, click here to claim it now")


class Classifier(TaskModel):
    """A text classifier as ``rnnzoo.load`` returns it: ``classify(texts)`` → (label,
    probability) for each text, ``probabilities(texts)`` → every class's; each text read up to
    its first ``max_input_tokens`` tokens (the recipe's ``data.max_tokens``, as in training).

    Args:
        folder: the model's folder (``model.keras``, ``vocab.txt``, ``labels.txt``,
            ``config.yaml``).
        config: its recipe (``config.yaml``).

    Example:

    ```python
    spam = rnnzoo.load("bilstm-spam")
    spam.classify(["Lunch at noon?", "You won a free cruise, click here"])
    ```
    """

    task = "classifier"

    def __init__(self, folder: Path, config: dict):
        super().__init__(folder, config)
        self.vocab = Vocabulary.load(self.folder / "vocab.txt", "word")
        self.labels = preprocessing.read_labels(self.folder / preprocessing.LABELS)
        self.data = validate(config["data"], preprocessing.DATA_SCHEMA, "data")
        self.max_input_tokens = self.data["max_tokens"]

    def samples(self) -> list[str]:
        """The answers to a short message and a spam one."""
        answers = self.classify(list(SAMPLE_MESSAGES))
        return [f"- {text!r}: {label} (p = {p:.2f})"
                for text, (label, p) in zip(SAMPLE_MESSAGES, answers)]

    def build_text_model(self) -> keras.Model:
        """Raw texts → ``{"label", "probability", "probabilities"}``
        (:func:`preprocessing.text_model`)."""
        return preprocessing.text_model(self.keras_model, self.vocab.tokens, self.labels,
                                        self.data)

    def answers(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The text model's answers to ``texts`` (each cut to ``max_input_tokens`` × 100
        characters first), as NumPy arrays."""
        if not texts:
            return {"label": np.zeros([0], object), "probability": np.zeros([0], "float32"),
                    "probabilities": np.zeros([0, len(self.labels)], "float32")}
        cut = string_tensor([self.cut_text(t) for t in texts])
        return {key: value.numpy() for key, value in self.text_model(cut).items()}

    def probabilities(self, texts: str | Sequence[str]) -> np.ndarray:
        """Class probabilities (N, C), columns in ``self.labels`` order."""
        texts, _ = as_texts(texts)
        return self.answers(texts)["probabilities"]

    def classify(self, texts: str | Sequence[str]):
        """(label, probability) of the most probable class, for one text or each of a list."""
        _, single = as_texts(texts)
        probs = self.probabilities(texts)
        out = [(self.labels[k], float(p[k])) for p, k in zip(probs, probs.argmax(axis=1))]
        return out[0] if single else out
