"""Tokenisers and detokenisers in TensorFlow string ops (RE2 regexes), equal to rnnzoo's Python
ones, so that an exported SavedModel needs no Python at serving time.

Python's Unicode ``\\s`` is RE2's ``[\\t\\n\\v\\f\\r\\x{1c}-\\x{1f}\\x{85}\\pZ]`` and its ``\\w`` is
``[\\pL\\pN_]``; each function names the Python function it equals.
"""

from __future__ import annotations

import tensorflow as tf

WHITESPACE = r"[\t\n\v\f\r\x{1c}-\x{1f}\x{85}\pZ]"
WORD = r"[\pL\pN_]"
_NOT_PUNCTUATION = r"\pL\pN_\t\n\v\f\r\x{1c}-\x{1f}\x{85}\pZ"
_JOINERS = {"-": "\U000f0000", "'": "\U000f0001", "’": "\U000f0002"}


def _spaced(texts: tf.Tensor) -> tf.Tensor:
    return tf.strings.regex_replace(texts, WHITESPACE, " ")


def split_whitespace(texts: tf.Tensor) -> tf.RaggedTensor:
    """Python's ``str.split()`` of each string (any Unicode white space): (B,) → (B, None)."""
    return tf.strings.split(_spaced(texts))


def words_and_punctuation(texts: tf.Tensor, lowercase: bool = False) -> tf.RaggedTensor:
    """``re.findall(r"\\w+|[^\\w\\s]", text)`` (classifier recipe's ``tokenize``)."""
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    return _split_punctuation(texts, "")


def _split_punctuation(texts: tf.Tensor, also_word: str) -> tf.RaggedTensor:
    punctuation = f"[^{_NOT_PUNCTUATION}{also_word}]"
    return split_whitespace(tf.strings.regex_replace(texts, punctuation, r" \0 "))


def joined_words_and_punctuation(texts: tf.Tensor) -> tf.RaggedTensor:
    """``re.findall(r"\\w+(?:[-'’]\\w+)*|[^\\w\\s]", text)`` (seq2seq recipe's ``tokenize``):
    a hyphen or apostrophe between two word characters stays inside the word.

    The kept joiners travel as private-use code points (U+F0000–U+F0002) through the split; a
    text that holds those code points itself is not tokenised as in Python.
    """
    for joiner, mark in _JOINERS.items():
        for _ in range(2):  # matches do not overlap: a second pass catches "a-b-c"
            texts = tf.strings.regex_replace(texts, f"({WORD}){joiner}({WORD})", rf"\1{mark}\2")
    tokens = _split_punctuation(texts, "".join(_JOINERS.values()))
    values = tokens.flat_values
    for joiner, mark in _JOINERS.items():
        values = tf.strings.regex_replace(values, mark, joiner)
    return tokens.with_flat_values(values)


def detokenize(texts: tf.Tensor) -> tf.Tensor:
    """The seq2seq recipe's ``detokenize`` of space-joined tokens: no space before
    ``. , ; : ? ! ) ]``, none after ``¿ ¡ ( [``."""
    texts = tf.strings.regex_replace(texts, r" ([.,;:?!)\]])", r"\1")
    return tf.strings.regex_replace(texts, r"([¿¡(\[]) ", r"\1")


STRINGS = tf.TensorSpec([None], tf.string)
"""The input of every serving signature: a batch of raw strings."""


def lookup_ids(vocab, tokens: tf.Tensor | tf.RaggedTensor) -> tf.Tensor | tf.RaggedTensor:
    """int32 ids of token strings (unknown and ``<pad>`` → ``<unk>``)."""
    ids = vocab.lookup(tokens)
    if isinstance(ids, tf.RaggedTensor):
        return ids.with_flat_values(tf.cast(ids.flat_values, tf.int32))
    return tf.cast(ids, tf.int32)


def at_least_one(ids: tf.RaggedTensor, filler: int) -> tf.Tensor:
    """Rows padded with 0 to the longest; an empty row becomes ``[filler]``."""
    dense = ids.to_tensor()
    dense = tf.pad(dense, [[0, 0], [0, tf.maximum(1 - tf.shape(dense)[1], 0)]])
    empty = tf.equal(ids.row_lengths(), 0)[:, None]
    first = tf.one_hot(0, tf.shape(dense)[1], on_value=filler, off_value=0, dtype=tf.int32)
    return tf.where(empty, first[None, :] + tf.zeros_like(dense), dense)
