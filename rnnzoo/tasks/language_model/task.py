"""What ``rnnzoo.load`` returns for a language model: generation and scoring of raw text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import EOS, NUMBER, UNK_ID, Vocabulary, split_tokens, split_words
from rnnzoo.metrics import perplexity
from rnnzoo.tasks.base import TaskModel, as_texts, check_sampling, string_tensor
from rnnzoo.tasks.language_model import preprocessing
from rnnzoo.tasks.language_model.model import model_level
from rnnzoo.tasks.language_model.sampling import Generator

_NUMBER = re.compile(NUMBER)
SAMPLE_PROMPTS = {"char": "It is a truth universally acknowledged", "word": "the company said"}


class LanguageModel(TaskModel):
    """A language model as ``rnnzoo.load`` returns it: ``generate(prompt, ...)`` continues a
    text; ``log_likelihood`` / ``perplexity`` / ``scores`` score texts. A prompt is read up to its
    last ``max_input_tokens`` tokens, a scored text up to its first.

    Args:
        folder: the model's folder (``model.keras``, ``vocab.txt``, ``config.yaml``).
        config: its recipe (``config.yaml``).

    Example:

    ```python
    lm = rnnzoo.load("gru-lm")
    lm.generate("It is a truth", max_tokens=80, temperature=0.8, seed=0)
    lm.perplexity(["She was the youngest of the two daughters."])
    ```
    """

    task = "language_model"

    def __init__(self, folder: Path, config: dict):
        super().__init__(folder, config)
        self.level = model_level(config["model"])
        self.vocab = Vocabulary.load(self.folder / "vocab.txt", self.level)
        self.boundary = EOS if self.level == "word" else "\n"
        self._generator = Generator(self.keras_model)
        words = [w for w in self.vocab.tokens if not (w.startswith("<") and w.endswith(">"))]
        self.lowercase_prompts = all(w == w.lower() for w in words if w != "N")
        self.numbers_as_n = "N" in words and not any(_NUMBER.fullmatch(w) for w in words)
        self.percent = "%" if "%" in words else "N"
        self._scores = None

    def build_text_model(self) -> keras.Model:
        """Raw texts → ``{"log_likelihood", "tokens", "next_token_probabilities"}``
        (:func:`preprocessing.text_model`)."""
        return preprocessing.text_model(self.keras_model, self.vocab.tokens, self.level,
                                        self.max_input_tokens)

    def scores(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The text model's scores of ``texts`` (each read up to its first
        ``max_input_tokens`` tokens), as NumPy arrays."""
        if self._scores is None:
            self._scores = tf.function(self.text_model, input_signature=[
                tf.TensorSpec([None], tf.string)])
        cut = [self.cut_text(t) for t in texts]
        for text in cut:
            self._cut(split_tokens(text, self.level))
        return {key: value.numpy() for key, value in
                self._scores(string_tensor(cut)).items()}

    def samples(self) -> list[str]:
        """300 characters (or 60 words) at temperature 0.8, seed 0, from a fixed prompt."""
        text = self.continuation(SAMPLE_PROMPTS[self.level],
                                 max_tokens=300 if self.level == "char" else 60,
                                 temperature=0.8, seed=0)
        return ["Temperature 0.8, seed 0, from a fixed prompt:", "", "```", text, "```"]

    def _ids(self, text: str, keep_last: bool = False) -> np.ndarray:
        tokens = self._cut(split_tokens(self.cut_text(text, keep_last), self.level), keep_last)
        return self.vocab.ids([self.boundary] + tokens).astype("int32")

    def normalise(self, prompt: str) -> str:
        """``prompt`` written as the model's training text was: for a word model whose
        vocabulary has no capitals (but ``N``), lower-cased; whose vocabulary has ``N`` and no
        numbers (the Penn Treebank's), ``$`` and ``%`` split off numbers, each number written
        ``N`` (and ``%`` too when the vocabulary lacks it, as Mikolov's PTB writes ``N N``)."""
        if self.level != "word":
            return prompt
        if self.lowercase_prompts:
            prompt = prompt.lower()
        if self.numbers_as_n:
            prompt = re.sub(r"\$([0-9])", r"$ \1", prompt)
            prompt = re.sub(r"([0-9])%", r"\1 " + self.percent, prompt)
            prompt = " ".join("N" if _NUMBER.fullmatch(w) else w for w in split_words(prompt))
        return prompt

    def unknown_words(self, prompt: str) -> list[str]:
        """The words of the (normalised) prompt that the model's vocabulary lacks, in order,
        each once (a character model: none)."""
        if self.level != "word":
            return []
        words = split_words(self.normalise(prompt))
        unknown = self.vocab.ids(words) == UNK_ID
        return list(dict.fromkeys(w for w, missing in zip(words, unknown) if missing))

    def _text(self, ids: np.ndarray) -> str:
        tokens = [self.vocab.tokens[i] for i in ids]
        if self.level == "char":
            return "".join(tokens)
        return re.sub(f" ?{EOS} ?", "\n", " ".join(tokens))

    def generate(self, prompt: str | Sequence[str] = "", max_tokens: int = 50,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                 seed: int = 0, allow_unk: bool = False) -> str | list[str]:
        """The continuation of each prompt (``temperature=0``: greedy), seeded; ``<unk>`` is
        never generated unless ``allow_unk``. Prompts are read :meth:`normalise`d."""
        prompts, single = as_texts(prompt)
        check_sampling(max_tokens, temperature, top_k, seed)
        out = []
        for text in prompts:
            ids = self._generator(self._ids(self.normalise(text), keep_last=True)[None],
                                  max_tokens=max_tokens,
                                  temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                                  banned=() if allow_unk else (UNK_ID,))
            out.append(self._text(ids.numpy()[0]))
        return out[0] if single else out

    def stream(self, prompt: str, max_tokens: int = 50, temperature: float = 1.0,
               top_k: int = 0, top_p: float = 1.0, seed: int = 0, allow_unk: bool = False,
               chunk: int = 16) -> Iterator[str]:
        """:meth:`generate`'s continuation of one prompt, in pieces as it is drawn (``chunk``
        tokens at a time): the pieces join to ``generate``'s text. Bad settings raise at
        once, before the first piece."""
        check_sampling(max_tokens, temperature, top_k, seed)
        pieces = self._generator.stream(
            self._ids(self.normalise(prompt), keep_last=True)[None], max_tokens=max_tokens,
            chunk=chunk, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
            banned=() if allow_unk else (UNK_ID,))
        return self._texts_of(pieces)

    def _texts_of(self, pieces: Iterator[np.ndarray]) -> Iterator[str]:
        """The text each batch of ids adds to what the ids before it wrote: rendered with the
        last id before it as context (how a token is joined depends on its neighbour only), so
        a long stream is not re-rendered whole at each piece."""
        context: list[int] = []
        for piece in pieces:
            ids = context + piece[0].tolist()
            yield self._text(np.array(ids))[len(self._text(np.array(context))):]
            context = ids[-1:]

    def continuation(self, prompt: str, **sampling) -> str:
        """The prompt followed by its generated continuation (a space between words)."""
        generated = self.generate(prompt, **sampling)
        return prompt + self.glue(prompt, generated) + generated

    def glue(self, prompt: str, generated: str) -> str:
        """What goes between a prompt and its continuation: a space between words."""
        return " " if self.level == "word" and prompt and generated[:1] not in ("", "\n") else ""

    def log_likelihood(self, text: str) -> tuple[float, int]:
        """Σ log p(token | prefix) in nats over the text's tokens (its first
        ``max_input_tokens``, and the closing ``<eos>`` of a word model), and the number of
        tokens scored."""
        scores = self.scores([text])
        return float(scores["log_likelihood"][0]), int(scores["tokens"][0])

    def perplexity(self, texts: str | Sequence[str]) -> float:
        """exp(−Σ log p / N) over all tokens of ``texts``."""
        texts, _ = as_texts(texts)
        scores = [self.log_likelihood(t) for t in texts]
        return perplexity(-sum(s for s, _ in scores), sum(n for _, n in scores))
