"""A classifier's text → tokens and its run's label file; the data settings the model was
trained with (``lowercase``, ``max_tokens``) are part of its recipe's ``data`` section."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf

from rnnzoo.data.files import iter_lines
from rnnzoo.data.vocab import UNK_ID, Vocabulary, string_tensor
from rnnzoo.layers.cells import PACKAGE
from rnnzoo.serving import text_ops
from rnnzoo.training.config import Field
from rnnzoo.training.datafiles import FILES_FIELD, SPLIT_SEED_FIELD, TFDS_FIELD

LABELS = "labels.txt"

DATA_SCHEMA = {
    "folder": Field(str, default="spam_assassin/package/data",
                    doc="the SpamAssassin e-mails under the data folder (`GROUP/*.json`); unread "
                        "with `files` or `tfds`"),
    "files": FILES_FIELD,
    "tfds": TFDS_FIELD,
    "test_fraction": Field(float, default=0.1, low=0.0, high=0.5, high_open=True,
                           doc="corpus: the share of each label held out for the test "
                               "(stratified, seeded)"),
    "valid_fraction": Field(float, default=0.1, low=0.0, high=0.5, high_open=True,
                            doc="corpus: the share of each label's rest held out for "
                                "validation (stratified, seeded)"),
    "split_seed": SPLIT_SEED_FIELD,
    "max_tokens": Field(int, default=256, low=1,
                        doc="the tokens of each text that are read, its first ones (in training "
                            "and by the saved text model)"),
    "lowercase": Field(bool, default=True,
                       doc="lower-case each text before it is split into words and punctuation "
                           "marks (also in the saved text model)"),
    "subject": Field(bool, default=False,
                     doc="read each e-mail's subject line before its body"),
    "short_views": Field(int, default=0, low=0,
                         doc="corpus: short texts added to training per training e-mail, with its "
                             "label (its first 3–20 tokens, then seeded random 3–20-token crops), "
                             "so short messages are judged on their words"),
    "short_texts": Field(dict, default=None, nullable=True,
                         doc="corpus: short training texts of one label from another source: "
                             "`{file, label, sent_id}`, the sentences (`# text =` lines) of "
                             "`file`, a CoNLL-U file under the data folder, whose `# sent_id` "
                             "starts with `sent_id`, each a training text labelled `label` "
                             "(e.g. UD EWT train's Enron e-mails as ham: SpamAssassin's ham is "
                             "mostly mailing-list mail, its short texts headers and quotes)"),
}

SHORT_TEXTS_SCHEMA = {
    "file": Field(str, doc="a CoNLL-U file under the data folder (a training file)"),
    "label": Field(str, doc="the label of every text"),
    "sent_id": Field(str, default="", doc="the prefix of the sentences' `# sent_id` taken"),
}


def tokenize(texts: Sequence[str], lowercase: bool) -> list[list[str]]:
    """Each text's words and single punctuation marks (lower-cased when ``lowercase``), as
    :class:`ClassifierPreprocessor` splits them."""
    tokens = text_ops.words_and_punctuation(string_tensor(list(texts)), lowercase)
    return [[token.decode() for token in row] for row in tokens.to_list()]


def read_labels(path: Path) -> list[str]:
    """The labels of a run's ``labels.txt``, in class-id order."""
    return [line for _, line in iter_lines(path)]


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClassifierPreprocessor(keras.layers.Layer):
    """Raw texts → the word ids the classifier reads.

    Words and single punctuation marks (RE2: ``\\w+|[^\\w\\s]``), lower-cased when
    ``lowercase``, the first ``max_tokens`` of each text, looked up in ``vocabulary`` (unknown
    words → ``<unk>``), padded with 0; a text without tokens reads as one ``<unk>``.

    Args:
        vocabulary: the run's ``vocab.txt`` tokens, ``<pad>`` and ``<unk>`` first.
        lowercase: lower-case the text before it is split.
        max_tokens: tokens of each text that are read.

    Call arguments:
        texts: a string tensor of shape ``(batch,)``.

    Returns:
        int32 ids of shape ``(batch, tokens)``.

    Example:

    ```python
    pre = ClassifierPreprocessor(["<pad>", "<unk>", "free", "!"], max_tokens=3)
    pre(tf.constant(["FREE money!!", ""]))  # [[2, 1, 3], [1, 0, 0]]
    ```
    """

    def __init__(self, vocabulary: list[str], lowercase: bool = True, max_tokens: int = 256,
                 **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.lowercase, self.max_tokens = list(vocabulary), lowercase, max_tokens
        self._vocab = Vocabulary(self.vocabulary, "word")
        self.lookup = self._vocab.layer  # tracked, so that an export captures its table

    def build(self, input_shape=None):
        self.built = True

    def call(self, texts):
        tokens = text_ops.words_and_punctuation(texts, self.lowercase)[:, : self.max_tokens]
        return text_ops.at_least_one(text_ops.lookup_ids(self._vocab, tokens), UNK_ID)

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None), dtype="int32")

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary": self.vocabulary,
                "lowercase": self.lowercase, "max_tokens": self.max_tokens}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LabelAnswers(keras.layers.Layer):
    """Class probabilities → the answer: the most probable label's name, its probability and
    every class's probability.

    Args:
        labels: the class names, in class-id order.

    Call arguments:
        probabilities: float tensor of shape ``(batch, classes)``.

    Returns:
        ``{"label": string (batch,), "probability": (batch,), "probabilities": (batch, classes)}``.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.classifier.preprocessing import LabelAnswers

    answers = LabelAnswers(["ham", "spam"])(np.array([[0.25, 0.75], [0.625, 0.375]], "float32"))
    answers["label"].numpy().tolist()  # [b'spam', b'ham']
    answers["probability"].numpy().tolist()  # [0.75, 0.625]
    ```
    """

    def __init__(self, labels: list[str], **kwargs):
        super().__init__(**kwargs)
        self.labels = list(labels)

    def call(self, probabilities):
        best = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"label": tf.gather(tf.constant(self.labels), best),
                "probability": tf.gather(probabilities, best, axis=1, batch_dims=1),
                "probabilities": probabilities}

    def compute_output_spec(self, probabilities):
        batch = probabilities.shape[0]
        return {"label": keras.KerasTensor((batch,), dtype="string"),
                "probability": keras.KerasTensor((batch,), dtype=probabilities.dtype),
                "probabilities": keras.KerasTensor(probabilities.shape,
                                                   dtype=probabilities.dtype)}

    def get_config(self) -> dict:
        return {**super().get_config(), "labels": self.labels}


def text_model(model: keras.Model, vocabulary: list[str], labels: list[str],
               data: dict) -> keras.Model:
    """``model`` (ids → probabilities) with its preprocessor in front and its answers behind:
    raw texts (batch,) → ``{"label", "probability", "probabilities"}``; saved as the zoo
    folder's ``text_model.keras``.

    Args:
        model: The classifier, ids `(batch, tokens)` → probabilities `(batch, classes)`.
        vocabulary: The run's ``vocab.txt`` tokens, ``<pad>`` and ``<unk>`` first.
        labels: The class names, in class-id order.
        data: The recipe's checked ``data`` section (its ``lowercase`` and ``max_tokens``).

    Returns:
        A functional `keras.Model` named `"{model.name}_text"`: a :class:`ClassifierPreprocessor`,
        ``model`` and :class:`LabelAnswers`.

    Example:

    ```python
    import tensorflow as tf
    from rnnzoo.tasks.classifier import model as classifier
    from rnnzoo.tasks.classifier.preprocessing import text_model

    vocabulary = ["<pad>", "<unk>", "free", "money", "lunch"]
    model = classifier.build({"vocab_size": len(vocabulary), "num_classes": 2,
                              "embedding_dim": 4, "hidden": 4})
    texts = text_model(model, vocabulary, ["ham", "spam"], {"lowercase": True, "max_tokens": 16})
    answers = texts(tf.constant(["Free money!", "Lunch?"]))
    sorted(answers)  # ['label', 'probabilities', 'probability']
    tuple(answers["probabilities"].shape)  # (2, 2)
    ```
    """
    texts = keras.Input(shape=(), dtype="string", name="texts")
    ids = ClassifierPreprocessor(vocabulary, data["lowercase"], data["max_tokens"],
                                 name="preprocessor")(texts)
    answers = LabelAnswers(labels, name="answers")(model(ids))
    return keras.Model(texts, answers, name=f"{model.name}_text")
