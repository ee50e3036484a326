"""Serving modules: each task's answers as ``tf.function`` s from a batch of strings, with
tokenisation, vocabulary lookup, decoding and detokenisation in the graph (core TensorFlow ops
only), ready for ``tf.saved_model.save``.

Each module mirrors its task object in :mod:`rnnzoo.zoo.tasks` step for step, so a served
answer equals the in-process one: language models read and generate one prompt at a time (as
``LanguageModel.generate`` does), taggers, classifiers and translators run the whole batch; each
input is cut to the task object's ``max_input_tokens`` as it is there (a prompt to its last
tokens, any other text to its first).
"""

from __future__ import annotations

import tensorflow as tf

from rnnzoo.data.vocab import BOS, EOS, NUMBER, PAD, UNK, UNK_ID
from rnnzoo.models import seq2seq
from rnnzoo.models.decoding import beam_search, greedy_decode
from rnnzoo.models.sampling import Generator
from rnnzoo.serving import text_ops

STRINGS = tf.TensorSpec([None], tf.string)
DEFAULT_SAMPLING = {"max_tokens": 50, "temperature": 1.0, "top_k": 0, "seed": 0}
"""``serving_default`` of a language model: ``LanguageModel.generate``'s defaults."""


def _ids(vocab, tokens: tf.Tensor | tf.RaggedTensor) -> tf.Tensor | tf.RaggedTensor:
    """int32 ids of token strings (unknown and ``<pad>`` → ``<unk>``)."""
    ids = vocab.lookup(tokens)
    if isinstance(ids, tf.RaggedTensor):
        return ids.with_flat_values(tf.cast(ids.flat_values, tf.int32))
    return tf.cast(ids, tf.int32)


def _at_least_one(ids: tf.RaggedTensor, filler: int) -> tf.Tensor:
    """Rows padded with 0 to the longest; an empty row becomes ``[filler]``."""
    dense = ids.to_tensor()
    dense = tf.pad(dense, [[0, 0], [0, tf.maximum(1 - tf.shape(dense)[1], 0)]])
    empty = tf.equal(ids.row_lengths(), 0)[:, None]
    first = tf.one_hot(0, tf.shape(dense)[1], on_value=filler, off_value=0, dtype=tf.int32)
    return tf.where(empty, first[None, :] + tf.zeros_like(dense), dense)


class LanguageModelModule(tf.Module):
    """``serving_default``: prompts → continuations (default sampling); ``generate``: the same
    with per-request ``max_tokens``, ``temperature``, ``top_k`` and ``seed``; ``score``: texts →
    summed log-likelihood (nats) and the number of tokens scored."""

    def __init__(self, task):
        super().__init__(name="language_model")
        self.model = task.keras_model
        self.vocab_layer = task.vocab.layer
        self.inverse_layer = task.vocab.inverse_layer
        self._vocab = task.vocab
        self._generator = Generator(self.model)
        self._word = task.level == "word"
        self._boundary = task.boundary
        self._eos = task.vocab.eos_id if self._word else -1
        self._limit = task.max_input_tokens
        self._lowercase = task.level == "word" and task.lowercase_prompts
        self._numbers_as_n = task.level == "word" and task.numbers_as_n
        self._percent = task.percent

    def _prompt_ids(self, text: tf.Tensor, keep_last: bool = False) -> tf.Tensor:
        """A prompt's ids, :meth:`LanguageModel.normalise`d (generation), or a scored text's."""
        if keep_last and self._lowercase:
            text = tf.strings.lower(text, encoding="utf-8")
        if keep_last and self._numbers_as_n:
            text = tf.strings.regex_replace(text, r"\$([0-9])", r"$ \1")
            text = tf.strings.regex_replace(text, r"([0-9])%", r"\1 " + self._percent)
        tokens = self._vocab.tokenize(text)
        if keep_last and self._numbers_as_n:
            tokens = tf.where(tf.strings.regex_full_match(tokens, NUMBER), "N", tokens)
        tokens = tokens[-self._limit:] if keep_last else tokens[: self._limit]
        return _ids(self._vocab, tf.concat([[self._boundary], tokens], axis=0))

    def _text(self, ids: tf.Tensor) -> tf.Tensor:
        tokens = self.inverse_layer(tf.cast(ids, tf.int64))
        if not self._word:
            return tf.strings.reduce_join(tokens)
        text = tf.strings.reduce_join(tokens, separator=" ")
        return tf.strings.regex_replace(text, f" ?{EOS} ?", "\n")

    def _continue(self, prompt, max_tokens, temperature, top_k, seed) -> tf.Tensor:
        ids = self._generator.generate(
            self._prompt_ids(prompt, keep_last=True)[None], tf.cast(max_tokens, tf.int32),
            tf.cast(temperature, tf.float32), tf.cast(top_k, tf.int32), tf.constant(1.0),
            tf.cast(seed, tf.int64), tf.constant([UNK_ID]))
        return self._text(ids[0])

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, prompts):
        settings = DEFAULT_SAMPLING
        continuation = tf.map_fn(
            lambda p: self._continue(p, settings["max_tokens"], settings["temperature"],
                                     settings["top_k"], settings["seed"]),
            prompts, fn_output_signature=tf.string)
        return {"continuation": continuation}

    @tf.function(input_signature=[STRINGS, tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.float32),
                                  tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.int64)])
    def generate(self, prompts, max_tokens, temperature, top_k, seed):
        tf.debugging.assert_non_negative(max_tokens, "max_tokens must be >= 0")
        tf.debugging.assert_non_negative(top_k, "top_k must be >= 0")
        continuation = tf.map_fn(lambda row: self._continue(*row),
                                 (prompts, max_tokens, temperature, top_k, seed),
                                 fn_output_signature=tf.string)
        return {"continuation": continuation}

    def _score(self, text: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        ids = self._prompt_ids(text)
        if self._word:
            ids = tf.concat([ids, [self._eos]], axis=0)
        count = tf.size(ids) - 1

        def scored():
            log_probs = tf.nn.log_softmax(self.model(ids[None, :-1], training=False))[0]
            picked = tf.gather(log_probs, ids[1:], axis=1, batch_dims=1)
            return tf.reduce_sum(picked)

        return tf.cond(count > 0, scored, lambda: tf.constant(0.0)), count

    @tf.function(input_signature=[STRINGS])
    def score(self, texts):
        log_likelihood, tokens = tf.map_fn(
            self._score, texts, fn_output_signature=(tf.float32, tf.int32))
        return {"log_likelihood": log_likelihood, "tokens": tokens}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default, "generate": self.generate,
                "score": self.score}


class TaggerModule(tf.Module):
    """``serving_default``: sentences (split on white space) → tokens, tags (padded with "")
    and lengths."""

    def __init__(self, task):
        super().__init__(name="tagger")
        self.model = task.keras_model
        self._tag = task._tag
        self.word_layer = task.vocabs.words.layer
        self.char_layer = task.vocabs.chars.layer
        self._vocabs = task.vocabs
        vocab_cfg = task.config["vocabulary"]
        self._lowercase = vocab_cfg.get("lowercase", True)
        self._max_chars = vocab_cfg.get("max_word_chars", 30)
        self._chars = task.config["model"].get("char_features") is not None
        self._limit = task.max_input_tokens
        self._bioes = task.scheme == "BIOES"
        self.tag_names = tf.constant(task.vocabs.tag_names)

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, sentences):
        tokens = text_ops.split_whitespace(sentences)[:, : self._limit]
        keys = tokens
        if self._lowercase:
            keys = tokens.with_flat_values(tf.strings.lower(tokens.flat_values, encoding="utf-8"))
        words = _ids(self._vocabs.words, keys)
        inputs = {"words": words.to_tensor()}
        if self._chars:
            spelled = tf.strings.unicode_split(tokens.flat_values, "UTF-8",
                                               errors="replace")[:, : self._max_chars]
            chars = tokens.with_flat_values(_ids(self._vocabs.chars, spelled))
            inputs["chars"] = chars.to_tensor()
        tags = tf.gather(self.tag_names, self._tag(inputs))
        if self._bioes:
            tags = tf.strings.regex_replace(tf.strings.regex_replace(tags, "^S-", "B-"),
                                            "^E-", "I-")
        lengths = tf.cast(tokens.row_lengths(), tf.int32)
        present = tf.sequence_mask(lengths, tf.shape(tags)[1])
        return {"tokens": tokens.to_tensor(default_value=""),
                "tags": tf.where(present, tags, ""), "lengths": lengths}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default}


class ClassifierModule(tf.Module):
    """``serving_default``: texts → label, its probability and all class probabilities."""

    def __init__(self, task, data: dict):
        super().__init__(name="classifier")
        self.model = task.keras_model
        self.vocab_layer = task.vocab.layer
        self._vocab = task.vocab
        self._lowercase = data["lowercase"]
        self._max_tokens = data["max_tokens"]
        self.labels = tf.constant(task.labels)

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, texts):
        tokens = text_ops.words_and_punctuation(texts, self._lowercase)[:, : self._max_tokens]
        ids = _at_least_one(_ids(self._vocab, tokens), UNK_ID)
        probabilities = self.model(ids, training=False)
        best = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"label": tf.gather(self.labels, best),
                "probability": tf.gather(probabilities, best, axis=1, batch_dims=1),
                "probabilities": probabilities}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default}


class TranslatorModule(tf.Module):
    """``serving_default``: sources → beam-search translations (the recipe's beam size and
    length penalty); ``translate_greedy``: greedy translations."""

    def __init__(self, task):
        super().__init__(name="translator")
        self.model = task.keras_model
        self.source_layer = task.source.layer
        self.target_inverse_layer = task.target.inverse_layer
        self._source = task.source
        self._cfg = seq2seq.validate_config(task.config["model"])
        self._skip = tf.constant([PAD, UNK, BOS, EOS])
        self._limit = task.max_input_tokens

    def _source_ids(self, texts: tf.Tensor) -> tf.Tensor:
        tokens = text_ops.joined_words_and_punctuation(texts)[:, : self._limit]
        ids = _ids(self._source, tokens)
        return _at_least_one(ids, int(self._source.ids([EOS])[0]))

    def _max_length(self, source: tf.Tensor) -> tf.Tensor:
        return tf.minimum(self._cfg["max_decode_length"], 2 * tf.shape(source)[1] + 10)

    def _texts(self, ids: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        ids = tf.RaggedTensor.from_tensor(ids, lengths=lengths)
        tokens = ids.with_flat_values(self.target_inverse_layer(tf.cast(ids.flat_values,
                                                                        tf.int64)))
        special = tf.reduce_any(tf.equal(tokens.flat_values[:, None], self._skip[None]), axis=1)
        kept = tf.ragged.boolean_mask(tokens, tokens.with_flat_values(~special))
        return text_ops.detokenize(tf.strings.reduce_join(kept, axis=-1, separator=" "))

    @tf.function(input_signature=[STRINGS])
    def serving_default(self, sources):
        source = self._source_ids(sources)
        found = beam_search(self.model, source, beam_size=self._cfg["beam_size"],
                            length_penalty=self._cfg["length_penalty"],
                            max_length=self._max_length(source), bos_id=self._cfg["bos_id"],
                            eos_id=self._cfg["eos_id"])
        return {"translation": self._texts(found.ids[:, 0], found.lengths[:, 0])}

    @tf.function(input_signature=[STRINGS])
    def translate_greedy(self, sources):
        source = self._source_ids(sources)
        found = greedy_decode(self.model, source, max_length=self._max_length(source),
                              bos_id=self._cfg["bos_id"], eos_id=self._cfg["eos_id"])
        return {"translation": self._texts(found.ids, found.lengths)}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default, "translate_greedy": self.translate_greedy}


def serving_module(task) -> tf.Module:
    """The serving module of a task object returned by ``rnnzoo.load``."""
    if task.task == "language_model":
        return LanguageModelModule(task)
    if task.task == "tagger":
        return TaggerModule(task)
    if task.task == "classifier":
        from rnnzoo.models.config import validate
        from rnnzoo.training import classifier

        return ClassifierModule(task, validate(task.config["data"], classifier.DATA_SCHEMA, "data"))
    if task.task == "seq2seq":
        return TranslatorModule(task)
    raise ValueError(f"no serving export for task {task.task!r}")
