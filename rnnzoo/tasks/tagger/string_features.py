"""Contextual string embeddings (Akbik et al. 2018, flair): each word's features are the states
of a forward and a backward character language model run over its whole sentence.

The sentence is read as the string s = "\\n" + w_1 + " " + ... + " " + w_n + "\\n" (its tokens
joined by spaces between line ends, as the language models saw lines of text). Word w_t spans
s[a_t : b_t]; its feature is [h→(b_t); h←(a_t − 1)]: the forward model's top state after
reading the character after the word (s[:b_t + 1]), and the backward model's after reading,
from the end, the character before it (s[a_t − 1:] reversed). Both models are frozen copies of
trained ``language_model`` runs of the same architecture and character vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from rnnzoo.data.vocab import Vocabulary
from rnnzoo.layers import recurrent_layer
from rnnzoo.layers.cells import PACKAGE
from rnnzoo.layers.embedding import TiedEmbedding
from rnnzoo.training.config import CELLS, IMPLEMENTATIONS, Field, validate

INPUTS = ("lm_chars", "lm_before", "lm_after")
"""The model inputs of the string features: the sentence string's character ids (B, L), and per
word (B, T) the position in it of the character before and of the character after the word."""
DIRECTIONS = ("forward", "backward")
FEATURES_LAYER = "string_features"
"""The name of the tagger's layer whose output is the (B, T, 2H) string features."""

SCHEMA = {
    "vocab_size": Field(int, low=2, doc="the language models' character vocabulary size"),
    "embedding_dim": Field(int, low=1, doc="their character embedding width"),
    "hidden": Field(int, low=1, doc="the units of each of their recurrent layers"),
    "num_layers": Field(int, low=1, high=8, doc="their stacked recurrent layers"),
    "cell": Field(str, choices=CELLS, doc="their recurrent cell"),
    "implementation": Field(str, default="explicit", choices=IMPLEMENTATIONS,
                            doc="rnnzoo's recurrent layers or Keras's built-in ones"),
    "reset_after": Field(bool, default=True, doc="GRU only: Keras's reset-after variant"),
    "tie_weights": Field(bool, doc="whether their input embedding is tied to the output"),
}


def layer_names(direction: str, num_layers: int) -> list[str]:
    """The tagger's names of one language model's layers: its embedding, then each
    recurrent layer bottom up."""
    return [f"{direction}_lm_embedding", *(f"{direction}_lm_rnn_{k}" for k in range(num_layers))]


def sentence_string(tokens: Sequence[str]) -> tuple[str, list[int], list[int]]:
    """``"\\n" + " ".join(tokens) + "\\n"`` and, per token, the positions in it of the character
    before the token and of the character after it."""
    before, after, position = [], [], 1
    for token in tokens:
        before.append(position - 1)
        position += len(token)
        after.append(position)
        position += 1
    return "\n" + " ".join(tokens) + "\n", before, after


def string_inputs(sentences: Sequence[Sequence[str]],
                  vocab: Vocabulary) -> dict[str, tf.RaggedTensor]:
    """The :data:`INPUTS` of tokenised ``sentences``, ragged int32: character ids of each
    sentence string (``vocab``, the language models'), positions before and after each word."""
    strings, before, after = zip(*(sentence_string(tokens) for tokens in sentences))
    ids = vocab.ids(c for s in strings for c in s).astype("int32")

    def ragged(values, lengths):
        return tf.RaggedTensor.from_row_lengths(np.asarray(values, "int32"), lengths)

    words = [len(b) for b in before]
    return {"lm_chars": ragged(ids, [len(s) for s in strings]),
            "lm_before": ragged([p for row in before for p in row], words),
            "lm_after": ragged([p for row in after for p in row], words)}


def string_inputs_tf(tokens: tf.RaggedTensor, lookup) -> dict[str, tf.Tensor]:
    """:func:`string_inputs` in TensorFlow ops, for serving: ``tokens`` (B, None) strings,
    ``lookup`` the characters → ids function (invalid UTF-8 read as U+FFFD); padded with 0."""
    spelled = tf.strings.unicode_split(tokens.flat_values, "UTF-8", errors="replace")
    lengths = tokens.with_flat_values(tf.cast(spelled.row_lengths(), tf.int32)).to_tensor()
    starts = 1 + tf.math.cumsum(lengths + 1, axis=1, exclusive=True)
    present = tf.sequence_mask(tokens.row_lengths(), tf.shape(lengths)[1])
    joined = tf.strings.reduce_join(tokens, axis=1, separator=" ")
    chars = tf.strings.unicode_split("\n" + joined + "\n", "UTF-8", errors="replace")
    return {"lm_chars": lookup(chars).to_tensor(),
            "lm_before": tf.where(present, starts - 1, 0),
            "lm_after": tf.where(present, starts + lengths, 0)}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ReverseStrings(keras.layers.Layer):
    """Character ids (B, L), 0 at padding → each row's characters in reverse order, still
    padded at the end: the backward language model's input.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        ids: Integer tensor `(B, L)`, 0 after each row's characters.

    Returns:
        The reversed ids `(B, L)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.tagger.string_features import ReverseStrings

    ReverseStrings()(np.array([[5, 6, 7], [8, 9, 0]])).numpy().tolist()
    # [[7, 6, 5], [9, 8, 0]]
    ```
    """

    def call(self, ids):
        count = ops.sum(ops.cast(ops.not_equal(ids, 0), "int32"), axis=1, keepdims=True)
        position = ops.cumsum(ops.ones_like(ids, dtype="int32"), axis=1) - 1
        source = ops.clip(count - 1 - position, 0, ops.shape(ids)[1] - 1)
        return ops.where(position < count, ops.take_along_axis(ids, source, axis=1),
                         ops.zeros_like(ids))

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class StatesAtWords(keras.layers.Layer):
    """[forward states (B, L, H), backward states (B, L, H) of the reversed string, character
    ids (B, L), before (B, T), after (B, T)] → (B, T, 2H): per word, the forward state at the
    character after it and the backward state at the character before it,
    [h→(after_t); h←(before_t)] (the backward states are read at ``n − 1 − before_t``, n the
    string's length).

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: The list `[forward, backward, lm_chars, lm_before, lm_after]`.

    Returns:
        The word features `(B, T, 2H)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.tagger.string_features import StatesAtWords

    states = np.arange(4, dtype="float32").reshape(1, 4, 1)  # h(i) = i
    chars = np.array([[1, 2, 3, 1]])  # "\\n" "a" "b" "\\n": one word, s[1:3]
    StatesAtWords()([states, states, chars, np.array([[0]]), np.array([[3]])]).numpy()
    # [[[3., 3.]]]: h→ at 3; h← at 4 - 1 - 0 = 3
    ```
    """

    def call(self, inputs):
        forward, backward, chars, before, after = inputs
        count = ops.sum(ops.cast(ops.not_equal(chars, 0), "int32"), axis=1, keepdims=True)
        last = ops.shape(chars)[1] - 1
        at_after = ops.clip(ops.cast(after, "int32"), 0, last)
        at_before = ops.clip(count - 1 - ops.cast(before, "int32"), 0, last)
        return ops.concatenate(
            [ops.take_along_axis(forward, ops.expand_dims(at_after, -1), axis=1),
             ops.take_along_axis(backward, ops.expand_dims(at_before, -1), axis=1)], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        forward, _, _, before, _ = input_shape
        return (before[0], before[1], 2 * forward[-1])


def _states(config: dict, direction: str, ids):
    """The frozen top-layer states (B, L, H) of one language model over ``ids``."""
    names = layer_names(direction, config["num_layers"])
    if config["tie_weights"]:
        embedding = TiedEmbedding(config["vocab_size"], config["embedding_dim"], name=names[0])
    else:
        embedding = keras.layers.Embedding(config["vocab_size"], config["embedding_dim"],
                                           mask_zero=True, name=names[0])
    embedding.trainable = False
    x = embedding(ids)
    for name in names[1:]:
        layer = recurrent_layer(config["cell"], config["implementation"], config["hidden"],
                                return_sequences=True, reset_after=config["reset_after"],
                                name=name)
        layer.trainable = False
        x = layer(x)
    return x


def string_features(config: dict, inputs: dict):
    """The (B, T, 2H) contextual string features of ``inputs`` (:data:`INPUTS`), from frozen
    language models of architecture ``config`` (:data:`SCHEMA`)."""
    config = validate(config, SCHEMA, "model.string_lm")
    chars = inputs["lm_chars"]
    forward = _states(config, "forward", chars)
    backward = _states(config, "backward", ReverseStrings(name="lm_reverse")(chars))
    return StatesAtWords(name=FEATURES_LAYER)(
        [forward, backward, chars, inputs["lm_before"], inputs["lm_after"]])
