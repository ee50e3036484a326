"""What ``rnnzoo.load`` returns for a language model: generation and scoring of raw text."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import UNK_ID, Vocabulary, string_tensor
from rnnzoo.metrics import perplexity
from rnnzoo.tasks.base import TaskModel, as_texts, check_sampling
from rnnzoo.tasks.language_model import preprocessing
from rnnzoo.tasks.language_model.model import model_level

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
        self._scores = None

    def build_text_model(self) -> keras.Model:
        """Raw texts → ``{"log_likelihood", "tokens", "next_token_probabilities"}``, with
        ``generate`` (:class:`preprocessing.TextLanguageModel`)."""
        return preprocessing.text_model(self.keras_model, self.vocab.tokens, self.level,
                                        self.max_input_tokens)

    @property
    def preprocessor(self) -> preprocessing.LanguageModelPreprocessor:
        """The text model's preprocessor: texts and prompts → ids, ids → text."""
        return self.text_model.preprocessor

    def _read(self, texts: list[str], prompt: bool = False) -> list[str]:
        """``texts`` cut as the preprocessor cuts them, with a warning for each text that is
        cut (in characters or in tokens)."""
        texts = [self.cut_text(t, keep_last=prompt) for t in texts]
        counts = self.preprocessor.tokens(string_tensor(texts), prompt=prompt).row_lengths()
        for count in counts.numpy():
            self.warn_cut(int(count), keep_last=prompt)
        return texts

    def scores(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The text model's scores of ``texts`` (each read up to its first
        ``max_input_tokens`` tokens), as NumPy arrays."""
        if self._scores is None:
            self._scores = tf.function(self.text_model, input_signature=[
                tf.TensorSpec([None], tf.string)])
        return {key: value.numpy() for key, value in
                self._scores(string_tensor(self._read(list(texts)))).items()}

    def samples(self) -> list[str]:
        """300 characters (or 60 words) at temperature 0.8, seed 0, from a fixed prompt; a
        backward model (``data.reverse``) is given the prompt reversed, and what it writes,
        the text before the prompt, is shown in reading order."""
        prompt, backward = SAMPLE_PROMPTS[self.level], self.config["data"].get("reverse", False)
        text = self.continuation(prompt[::-1] if backward else prompt,
                                 max_tokens=300 if self.level == "char" else 60,
                                 temperature=0.8, seed=0)
        if backward:
            return ["Written backwards (temperature 0.8, seed 0) from a fixed prompt, its last "
                    "words, and shown in reading order:", "", "```", text[::-1], "```"]
        return ["Temperature 0.8, seed 0, from a fixed prompt:", "", "```", text, "```"]

    def normalise(self, prompt: str) -> str:
        """``prompt``'s tokens as the model reads a prompt (see
        :class:`preprocessing.LanguageModelPreprocessor`), joined again: a word model's
        normalised words with single spaces; a character model's prompt unchanged."""
        if self.level != "word":
            return prompt
        return " ".join(self._prompt_tokens(prompt))

    def _prompt_tokens(self, prompt: str) -> list[str]:
        tokens = self.preprocessor.tokens(string_tensor([prompt]), prompt=True)[0]
        return [token.decode() for token in tokens.numpy()]

    def unknown_words(self, prompt: str) -> list[str]:
        """The words of the (normalised) prompt that the model's vocabulary lacks, in order,
        each once (a character model: none)."""
        if self.level != "word":
            return []
        words = self._prompt_tokens(prompt)
        unknown = self.vocab.ids(words) == UNK_ID
        return list(dict.fromkeys(w for w, missing in zip(words, unknown) if missing))

    def generate(self, prompt: str | Sequence[str] = "", max_tokens: int = 50,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                 seed: int = 0, allow_unk: bool = False) -> str | list[str]:
        """The continuation of each prompt (``temperature=0``: greedy), seeded; ``<unk>`` is
        never generated unless ``allow_unk``. Prompts are read :meth:`normalise`d
        (:meth:`TextLanguageModel.generate <preprocessing.TextLanguageModel.generate>`)."""
        prompts, single = as_texts(prompt)
        out = self.text_model.generate(self._read(prompts, prompt=True), max_tokens=max_tokens,
                                       temperature=temperature, top_k=top_k, top_p=top_p,
                                       seed=seed, allow_unk=allow_unk)
        return out[0] if single else out

    def stream(self, prompt: str, max_tokens: int = 50, temperature: float = 1.0,
               top_k: int = 0, top_p: float = 1.0, seed: int = 0, allow_unk: bool = False,
               chunk: int = 16) -> Iterator[str]:
        """:meth:`generate`'s continuation of one prompt, in pieces as it is drawn (``chunk``
        tokens at a time): the pieces join to ``generate``'s text. Bad settings raise at
        once, before the first piece."""
        check_sampling(max_tokens, temperature, top_k, seed)
        ids = self.text_model.prompt_ids(self._read([prompt], prompt=True))[0]
        pieces = self.text_model.generator.stream(
            ids[None], max_tokens=max_tokens, chunk=chunk, temperature=temperature, top_k=top_k,
            top_p=top_p, seed=seed, banned=() if allow_unk else (UNK_ID,))
        return self._texts_of(pieces)

    def _texts_of(self, pieces: Iterator[np.ndarray]) -> Iterator[str]:
        """The text each batch of ids adds to what the ids before it wrote: rendered with the
        last id before it as context (how a token is joined depends on its neighbour only), so
        a long stream is not re-rendered whole at each piece."""
        context: list[int] = []
        for piece in pieces:
            ids = context + piece[0].tolist()
            yield self.text_model.text(ids)[len(self.text_model.text(context)):]
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
