"""What ``rnnzoo.load`` returns: a task object per task, wrapping the Keras model, its
vocabularies and its recipe.

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
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnnzoo.data.vocab import EOS, NUMBER, UNK_ID, Vocabulary, split_tokens, split_words
from rnnzoo.metrics import perplexity
from rnnzoo.models.config import validate
from rnnzoo.models.sampling import Generator
from rnnzoo.saving import load_keras

logger = logging.getLogger(__name__)

MAX_INPUT_TOKENS = 1000
"""Tokens of one input read by a language model (a prompt's last, a scored text's first),
a tagger and a translator (a sentence's first)."""

_NUMBER = re.compile(NUMBER)

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
        self.keras_model = load_keras(self.folder / "model.keras")

    def evaluate(self, data_dir: str | None = None, split: str = "test") -> dict:
        """The recipe's metrics on a split of its corpus (data from ``data_dir`` or
        ``$RNNZOO_DATA``)."""
        from rnnzoo.training import recipe_module

        return recipe_module(self.task).evaluate(self.folder, data_dir, split)

    def export(self, base: str | os.PathLike, version: int | None = None,
               name: str | None = None) -> Path:
        """A SavedModel for TensorFlow Serving at ``base/<name>/<version>/`` (see
        :func:`rnnzoo.serving.export`); returns the version folder."""
        from rnnzoo.serving import export

        return export(self, base, version=version, name=name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.get('name', self.folder.name)!r}>"

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
        if len(tokens) <= limit:
            return tokens
        logger.warning("%r: an input of %d tokens is cut to its %s %d", self, len(tokens),
                       "last" if keep_last else "first", limit)
        return tokens[-limit:] if keep_last else tokens[:limit]


def _check_sampling(max_tokens: int, temperature: float, top_k: int, seed: int) -> None:
    """A ValueError for settings the compiled sampling loop cannot hold (it checks the lower
    bounds and ``top_p`` itself)."""
    if math.isnan(temperature):
        raise ValueError("temperature must be a number, got nan")
    if max_tokens >= 2**31 or top_k >= 2**31:
        raise ValueError(f"max_tokens and top_k must be < 2**31, got {max_tokens} and {top_k}")
    if not -2**63 <= seed < 2**63:
        raise ValueError(f"seed must be a 64-bit integer, got {seed}")


def _texts(texts: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(texts, str):
        return [texts], True
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("expected a string or a list of strings")
    return list(texts), False


class LanguageModel(TaskModel):
    """``generate(prompt, ...)`` continues a text; ``perplexity(texts)`` scores texts. A prompt
    is read up to its last ``max_input_tokens`` tokens, a scored text up to its first."""

    task = "language_model"

    def __init__(self, folder: Path, config: dict):
        super().__init__(folder, config)
        self.level = config["model"].get("level", "word")
        self.vocab = Vocabulary.load(self.folder / "vocab.txt", self.level)
        self.boundary = EOS if self.level == "word" else "\n"
        self._generator = Generator(self.keras_model)
        words = [w for w in self.vocab.tokens if not (w.startswith("<") and w.endswith(">"))]
        self.lowercase_prompts = all(w == w.lower() for w in words if w != "N")
        self.numbers_as_n = "N" in words and not any(_NUMBER.fullmatch(w) for w in words)
        self.percent = "%" if "%" in words else "N"
        model = self.keras_model
        self._log_probs = tf.function(lambda ids: tf.nn.log_softmax(model(ids)), input_signature=[
            tf.TensorSpec([1, None], tf.int32)])

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
        prompts, single = _texts(prompt)
        _check_sampling(max_tokens, temperature, top_k, seed)
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
        _check_sampling(max_tokens, temperature, top_k, seed)
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
        ids = self._ids(text)
        if self.level == "word":
            ids = np.append(ids, self.vocab.eos_id).astype("int32")
        if len(ids) < 2:
            return 0.0, 0
        log_probs = self._log_probs(ids[None, :-1])[0].numpy()
        return float(log_probs[np.arange(len(ids) - 1), ids[1:]].sum()), len(ids) - 1

    def perplexity(self, texts: str | Sequence[str]) -> float:
        """exp(−Σ log p / N) over all tokens of ``texts``."""
        texts, _ = _texts(texts)
        scores = [self.log_likelihood(t) for t in texts]
        return perplexity(-sum(s for s, _ in scores), sum(n for _, n in scores))


class Tagger(TaskModel):
    """``tag(text or tokens)`` → [(token, tag)]; ``entities(text)`` → labelled spans. A
    sentence is read up to its first ``max_input_tokens`` tokens."""

    task = "tagger"

    def __init__(self, folder: Path, config: dict):
        from rnnzoo.training import tagger as recipe

        super().__init__(folder, config)
        self._recipe = recipe
        self.vocabs = recipe.Vocabularies.load(self.folder)
        self.scheme = recipe.model_scheme(config["model"])
        self._tag = recipe.tagging_function(self.keras_model, self.vocabs.tag_names, self.scheme)

    def _tag_many(self, sentences: list[list[str]]) -> list[list[str]]:
        from rnnzoo.data.conll import TaggedSentence

        if not sentences:
            return []
        rows = [TaggedSentence(tokens, ["O"] * len(tokens)) for tokens in sentences]
        chars = self.config["model"]["char_features"] is not None
        inputs = self._recipe.features(rows, self.vocabs, self.config["vocabulary"], chars)
        tags = self._recipe.predict_tags(self._tag, inputs, self.vocabs.tag_names, 64)
        return [self._recipe.corpus_tags(t, self.scheme) for t in tags]

    def tag(self, text: str | Sequence[str] | Sequence[Sequence[str]]):
        """Pairs (token, tag) of a sentence (a string, split on white space, or its tokens), or
        a list of such lists for a list of sentences; one pair for each of the sentence's first
        ``max_input_tokens`` tokens."""
        if isinstance(text, str):
            tokens, single = [self.cut_text(text).split()], True
        elif all(isinstance(t, str) for t in text):
            tokens, single = [list(text)], True
        else:
            tokens, single = [list(t) for t in text], False
        if not all(t for t in tokens):
            raise ValueError("nothing to tag: a sentence holds no tokens")
        if not all(w for t in tokens for w in t):
            raise ValueError("empty token: each token must hold at least one character")
        tokens = [self._cut(t) for t in tokens]
        tagged = [list(zip(t, tags)) for t, tags in zip(tokens, self._tag_many(tokens))]
        return tagged[0] if single else tagged

    def unknown_words(self, tokens: Sequence[str]) -> list[str]:
        """The tokens (of their first ``max_input_tokens``) whose word the model's vocabulary
        lacks (read as ``<unk>``; their characters still inform the tags)."""
        tokens = self._cut(list(tokens))
        keys = self._recipe.word_keys(tokens, self.config["vocabulary"])
        unknown = self.vocabs.words.ids(keys) == UNK_ID
        return [t for t, missing in zip(tokens, unknown) if missing]

    def entities(self, text: str | Sequence[str]) -> list[tuple[str, str, int, int]]:
        """(entity text, type, first token, end token) of each IOB2 entity of a sentence."""
        spans, start, kind = [], None, None
        pairs = self.tag(text) + [("", "O")]
        for k, (_, tag) in enumerate(pairs):
            if start is not None and not (tag.startswith("I-") and tag[2:] == kind):
                spans.append((" ".join(t for t, _ in pairs[start:k]), kind, start, k))
                start = None
            if tag.startswith("B-") or (tag.startswith("I-") and start is None):
                start, kind = k, tag[2:]
        return spans


class Classifier(TaskModel):
    """``classify(texts)`` → (label, probability) for each text, read up to its first
    ``max_input_tokens`` tokens: the recipe's ``data.max_tokens``, as in training."""

    task = "classifier"

    def __init__(self, folder: Path, config: dict):
        from rnnzoo.training import classifier as recipe

        super().__init__(folder, config)
        self._recipe = recipe
        self.vocab = Vocabulary.load(self.folder / "vocab.txt", "word")
        self.labels = recipe.read_labels(self.folder / recipe.LABELS)
        self._data = validate(config["data"], recipe.DATA_SCHEMA, "data")
        self.max_input_tokens = self._data["max_tokens"]

    def probabilities(self, texts: str | Sequence[str]) -> np.ndarray:
        """Class probabilities (N, C), columns in ``self.labels`` order."""
        texts, _ = _texts(texts)
        lowercase, limit = self._data["lowercase"], self.max_input_tokens
        ids = [self.vocab.ids(self._recipe.tokenize(self.cut_text(t), lowercase)[:limit])
               for t in texts]
        ids = [i if len(i) else np.array([1]) for i in ids]
        padded = keras.utils.pad_sequences(ids, padding="post").astype("int32")
        return np.asarray(self.keras_model.predict_on_batch(padded))

    def classify(self, texts: str | Sequence[str]):
        """(label, probability) of the most probable class, for one text or each of a list."""
        _, single = _texts(texts)
        probs = self.probabilities(texts)
        out = [(self.labels[k], float(p[k])) for p, k in zip(probs, probs.argmax(axis=1))]
        return out[0] if single else out


class Translator(TaskModel):
    """``translate(texts, beam_size=…)`` → translations, each source read up to its first
    ``max_input_tokens`` tokens."""

    task = "seq2seq"

    def __init__(self, folder: Path, config: dict):
        from rnnzoo.training import seq2seq as recipe

        super().__init__(folder, config)
        self._recipe = recipe
        self.source = Vocabulary.load(self.folder / recipe.SOURCE_VOCAB, "word")
        self.target = Vocabulary.load(self.folder / recipe.TARGET_VOCAB, "word")

    def unknown_words(self, text: str) -> tuple[list[str], int]:
        """The source words of ``text`` (its first ``max_input_tokens``) that the source
        vocabulary lacks, and how many words were read."""
        words = self._cut(self._recipe.tokenize(self.cut_text(text)))
        unknown = self.source.ids(words) == UNK_ID
        return [w for w, missing in zip(words, unknown) if missing], len(words)

    def translate(self, texts: str | Sequence[str], beam_size: int | None = None,
                  length_penalty: float | None = None) -> str | list[str]:
        """Beam-search translation of each text (the recipe's beam and penalty by default),
        decoded in batches of similar lengths; a batch's decode-length cap is 2 × its longest
        source + 10 (at most the recipe's ``max_decode_length``)."""
        from rnnzoo.models import seq2seq

        texts, single = _texts(texts)
        cfg = seq2seq.validate_config(self.config["model"])
        if beam_size is not None:
            if beam_size < 1:
                raise ValueError(f"beam_size must be >= 1, got {beam_size}")
            cfg["beam_size"] = beam_size
        if length_penalty is not None:
            cfg["length_penalty"] = length_penalty
        sources = [self.source.ids(self._cut(self._recipe.tokenize(self.cut_text(t))) or [EOS])
                   .astype("int32") for t in texts]
        ids = self._recipe.translate(self.keras_model, sources, cfg, batch_size=32)
        out = [self._recipe.to_text(i, self.target) for i in ids]
        return out[0] if single else out


TASKS = {cls.task: cls for cls in (LanguageModel, Tagger, Classifier, Translator)}
