"""Sequence tagger (NER, POS): BiRNN over word and character features, CRF or softmax output.

Lample et al. (2016) and Ma & Hovy (2016): each word is its embedding concatenated with a
character feature — the final states of a BiLSTM over its characters, or a CNN over them
max-pooled — then ``num_layers`` bidirectional recurrent layers and a dense layer give the
potentials u_t (one score per tag), and the head is a linear-chain CRF (:class:`CRFModel`,
outputs the Viterbi tags) or a softmax (outputs p(tag | t), trained on cross-entropy).

Inputs are a dict: ``"words"`` (B, T) int32 with 0 as padding, with character features
``"chars"`` (B, T, C) int32 with 0 as padding, and with contextual string embeddings
(:mod:`rnnzoo.tasks.tagger.string_features`) the sentence string's characters and positions.
The model is flat and functional (no nested models), so :func:`rnnzoo.layers.convert_model`,
``clone_model`` and ``.keras`` files handle it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from rnnzoo.layers import CRF, recurrent_layer
from rnnzoo.layers.cells import PACKAGE
from rnnzoo.layers.crf import CRFModel, constrained, viterbi
from rnnzoo.tasks.tagger.string_features import INPUTS as STRING_INPUTS
from rnnzoo.tasks.tagger.string_features import string_features
from rnnzoo.training.compiling import optimizer
from rnnzoo.training.config import CELLS, IMPLEMENTATIONS, PROBABILITY, ConfigError, Field, validate

_POSITIVE = dict(kind=int, low=1)

SCHEMA = {
    "word_vocab_size": Field(int, low=2,
                             doc="the word vocabulary's size, set by training from the "
                                 "vocabulary it builds (leave it out)"),
    "num_tags": Field(int, low=1,
                      doc="the number of tags (one potential each), set by training from the "
                          "training tags (leave it out)"),
    "char_vocab_size": Field(int, default=None, low=2, nullable=True,
                             doc="the character vocabulary's size, needed with `char_features`, "
                                 "set by training (leave it out)"),
    "word_dim": Field(default=100, **_POSITIVE, doc="the width of the word embeddings"),
    "char_dim": Field(default=25, **_POSITIVE, doc="the width of the character embeddings"),
    "char_features": Field(str, default="bilstm", choices=("cnn", "bilstm"), nullable=True,
                           doc="each word's character feature: a CNN over its characters, "
                               "max-pooled (Ma & Hovy 2016), or a BiLSTM's final states (Lample "
                               "et al. 2016); null: none"),
    "char_hidden": Field(default=25, **_POSITIVE,
                         doc="units per direction of the character BiLSTM, or CNN filters"),
    "char_kernel_size": Field(default=3, **_POSITIVE,
                              doc="cnn: the characters each filter of the CNN spans"),
    "string_lms": Field(dict, default=None, nullable=True,
                        doc="contextual string embeddings (Akbik et al. 2018): `{forward: "
                            "FOLDER, backward: FOLDER}`, two trained character language models "
                            "(the second trained on reversed text, `data.reverse`) of one "
                            "architecture and vocabulary; their states at the characters after "
                            "and before each word join its features, frozen. Folders are taken "
                            "from the working directory, as `init.from`"),
    "string_lm": Field(dict, default=None, nullable=True,
                       doc="the architecture of `string_lms`, set by training from their "
                           "configs (leave it out)"),
    "hidden": Field(default=100, **_POSITIVE,
                    doc="units per direction of each word-level layer"),
    "num_layers": Field(default=1, **_POSITIVE,
                        doc="the stacked bidirectional word-level recurrent layers"),
    "cell": Field(str, default="lstm", choices=CELLS,
                  doc="the word-level layers' cell: Elman RNN, LSTM or GRU (the character "
                      "BiLSTM is always an LSTM)"),
    "implementation": Field(str, default="explicit", choices=IMPLEMENTATIONS,
                            doc="rnnzoo's recurrent layers (the CPU fast path) or Keras's "
                                "built-in ones (cuDNN on GPU)"),
    "dropout": Field(default=0.5, **PROBABILITY,
                     doc="dropout on each word's features and after each bidirectional layer"),
    "head": Field(str, default="crf", choices=("crf", "softmax"),
                  doc="a linear-chain CRF (negative log-likelihood, Viterbi decoding) or a "
                      "softmax per word (cross-entropy)"),
    "scheme": Field(str, default="IOB2", choices=("IOB2", "BIOES"), nullable=True,
                    doc="the entity tagging scheme the model learns (BIOES converted from and "
                        "back to IOB2), decoded among its valid paths; null: no entities (POS)"),
}


def _char_mask(char_ids):
    """(N, C) characters present; a word without characters keeps its first step, so that no
    sequence is empty (cuDNN rejects zero lengths); its features are those of the padding."""
    mask = ops.not_equal(char_ids, 0)
    empty = ops.logical_not(ops.any(mask, axis=-1, keepdims=True))
    first = ops.equal(ops.cumsum(ops.ones_like(char_ids), axis=-1), 1)
    return ops.logical_or(mask, ops.logical_and(empty, first))


@keras.saving.register_keras_serializable(package=PACKAGE)
class FoldWords(keras.layers.Layer):
    """[char vectors (B, T, C, D), char ids (B, T, C)] → [(B·T, C, D), mask (B·T, C)]: one
    character sequence per word, for a recurrent layer called with ``mask=``. (The mask is an
    output, not ``compute_mask``'s: Keras records ``compute_mask``'s ops in the functional graph
    with the symbolic, unknown C as a static reshape argument.)

    The mask is `char id ≠ 0`, except that a word without characters keeps its first step, so
    that no sequence is empty.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: The list `[vectors, char_ids]`: character embeddings `(B, T, C, D)` and
            character ids `(B, T, C)`, 0 at padding.

    Returns:
        The list `[folded, mask]`: `(B·T, C, D)` and boolean `(B·T, C)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.tagger.model import FoldWords

    char_ids = np.array([[[3, 4, 0], [0, 0, 0]]])  # one sentence: a 2-letter word, padding
    vectors = np.ones((1, 2, 3, 5), "float32")
    folded, mask = FoldWords()([vectors, char_ids])
    tuple(folded.shape)  # (2, 3, 5)
    mask.numpy().tolist()  # [[True, True, False], [True, False, False]]
    ```
    """

    def call(self, inputs):
        vectors, char_ids = inputs
        shape = ops.shape(vectors)
        folded_ids = ops.reshape(char_ids, (-1, shape[2]))
        return [ops.reshape(vectors, (-1, shape[2], shape[3])), _char_mask(folded_ids)]

    def compute_output_shape(self, input_shape):
        shape = input_shape[0]
        return [(None, shape[2], shape[3]), (None, shape[2])]


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskWords(keras.layers.Layer):
    """[word vectors (B, T, H), word ids (B, T)] → the vectors, masked where the word id is 0.
    (``Concatenate`` unmasks a position when any of its inputs has no mask there: word
    features without one would make the BiLSTM read the padding, and a sentence's tags would
    depend on the longest sentence in its batch.)

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: The list `[vectors, word_ids]`: the word vectors `(B, T, H)` and the word ids
            `(B, T)`, 0 at padding.

    Returns:
        The vectors `(B, T, H)`, with the mask `word id ≠ 0`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.tagger.model import MaskWords

    word_ids = np.array([[4, 5, 0], [6, 0, 0]])
    vectors = np.ones((2, 3, 8), "float32")
    MaskWords().compute_mask([vectors, word_ids]).numpy().tolist()
    # [[True, True, False], [True, False, False]]
    ```
    """

    def call(self, inputs):
        return inputs[0]

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs[1], 0)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package=PACKAGE)
class UnfoldWords(MaskWords):
    """[word vectors (B·T, H), word ids (B, T)] → (B, T, H): back from :class:`FoldWords`,
    masked where the word id is 0 (:class:`MaskWords` says why the mask matters).

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: The list `[vectors, word_ids]`: one vector per word `(B·T, H)` and the word
            ids `(B, T)`, 0 at padding.

    Returns:
        The vectors `(B, T, H)`, with the mask `word id ≠ 0`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.tagger.model import UnfoldWords

    word_ids = np.array([[4, 5, 0], [6, 0, 0]])
    vectors = np.ones((6, 8), "float32")
    unfold = UnfoldWords()
    tuple(unfold([vectors, word_ids]).shape)  # (2, 3, 8)
    unfold.compute_mask([vectors, word_ids]).numpy().tolist()
    # [[True, True, False], [True, False, False]]
    ```
    """

    def call(self, inputs):
        vectors, word_ids = inputs
        shape = ops.shape(word_ids)
        return ops.reshape(vectors, (shape[0], shape[1], -1))

    def compute_output_shape(self, input_shape):
        vectors, word_ids = input_shape
        return (word_ids[0], word_ids[1], vectors[-1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class CharMaxPool(keras.layers.Layer):
    """[features (B, T, C, F), char ids (B, T, C)] → (B, T, F): max over each word's present
    characters (zeros for a word without any), masked where a word has no characters.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: The list `[features, char_ids]`: per-character features `(B, T, C, F)` (the
            character CNN's) and character ids `(B, T, C)`, 0 at padding.

    Returns:
        The pooled features `(B, T, F)`, with the mask "the word has a character".

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.tagger.model import CharMaxPool

    features = np.array([[[[1.0, 4.0], [3.0, 2.0], [9.0, 9.0]],
                          [[5.0, 5.0], [5.0, 5.0], [5.0, 5.0]]]], "float32")
    char_ids = np.array([[[7, 8, 0], [0, 0, 0]]])
    CharMaxPool()([features, char_ids]).numpy().tolist()  # [[[3.0, 4.0], [0.0, 0.0]]]
    ```
    """

    def call(self, inputs):
        features, char_ids = inputs
        present = ops.expand_dims(ops.not_equal(char_ids, 0), -1)
        lowest = ops.full_like(features, float("-inf"))
        pooled = ops.max(ops.where(present, features, lowest), axis=2)
        return ops.where(ops.any(present, axis=2), pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs[1], 0), axis=2)

    def compute_output_shape(self, input_shape):
        features = input_shape[0]
        return features[:2] + features[3:]


def _char_features(config: dict, word_ids, char_ids):
    chars = keras.layers.Embedding(
        config["char_vocab_size"], config["char_dim"], name="char_embedding"
    )(char_ids)
    if config["char_features"] == "cnn":
        convolved = keras.layers.Conv2D(
            config["char_hidden"], (1, config["char_kernel_size"]), padding="same",
            activation="tanh", name="char_cnn",
        )(chars)
        return CharMaxPool(name="char_pool")([convolved, char_ids])
    folded, mask = FoldWords(name="char_fold")([chars, char_ids])
    final_states = keras.layers.Bidirectional(
        recurrent_layer("lstm", config["implementation"], config["char_hidden"]),
        name="char_bilstm",
    )(folded, mask=mask)
    return UnfoldWords(name="char_unfold")([final_states, word_ids])


def build(config: Mapping[str, Any]) -> keras.Model:
    """The tagger of ``config`` (see :data:`SCHEMA`): a :class:`CRFModel` for ``head="crf"``
    (outputs tag ids (B, T)), else a functional model with outputs p(tag) (B, T, num_tags).

    The potentials u_t = W [h→_t; h←_t] + b of the top bidirectional layer feed the CRF
    (argmax_y S(y), S as in :mod:`rnnzoo.layers.crf`) or a softmax, p(tag | t) = softmax(u_t).

    Args:
        config: The model section of a recipe, checked against :data:`SCHEMA` (defaults
            filled in); `word_vocab_size`, `num_tags` and, with `char_features`,
            `char_vocab_size` are required.

    Returns:
        An uncompiled model named `"tagger"` with inputs `{"words"}` (and `"chars"` with
        character features).

    Raises:
        ConfigError: For a config that does not match :data:`SCHEMA`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.tagger import model as tagger

    config = {"word_vocab_size": 20, "num_tags": 5, "char_vocab_size": 10, "word_dim": 8,
              "char_dim": 4, "char_hidden": 4, "hidden": 8}
    model = tagger.build(config)
    type(model).__name__, model.output_shape  # ('CRFModel', (None, None))
    x = {"words": np.array([[3, 4, 0]]), "chars": np.array([[[2, 3], [4, 0], [0, 0]]])}
    tuple(model(x).shape)  # (1, 3)
    tagger.build({**config, "head": "softmax"}).output_shape  # (None, None, 5)
    ```
    """
    config = validate(config, SCHEMA, "tagger")
    if config["char_features"] is not None and config["char_vocab_size"] is None:
        raise ConfigError(
            f"tagger.char_vocab_size: required when char_features is {config['char_features']!r}"
        )
    inputs = {"words": keras.Input((None,), dtype="int32", name="words")}
    features = keras.layers.Embedding(
        config["word_vocab_size"], config["word_dim"], mask_zero=True, name="word_embedding"
    )(inputs["words"])
    if config["char_features"] is not None:
        inputs["chars"] = keras.Input((None, None), dtype="int32", name="chars")
        chars = _char_features(config, inputs["words"], inputs["chars"])
        features = keras.layers.Concatenate(name="word_features")([features, chars])
    if config["string_lm"] is not None:
        inputs.update({name: keras.Input((None,), dtype="int32", name=name)
                       for name in STRING_INPUTS})
        strings = MaskWords(name="string_features_mask")(
            [string_features(config["string_lm"], inputs), inputs["words"]])
        features = keras.layers.Concatenate(name="string_word_features")([features, strings])
    x = keras.layers.Dropout(config["dropout"], name="features_dropout")(features)
    for k in range(1, config["num_layers"] + 1):
        x = keras.layers.Bidirectional(
            recurrent_layer(config["cell"], config["implementation"], config["hidden"],
                            return_sequences=True),
            name=f"bi{config['cell']}_{k}",
        )(x)
        x = keras.layers.Dropout(config["dropout"], name=f"dropout_{k}")(x)
    potentials = keras.layers.Dense(config["num_tags"], name="potentials")(x)
    if config["head"] == "crf":
        return CRFModel(inputs, CRF(name="crf")(potentials), name="tagger")
    probabilities = keras.layers.Activation("softmax", name="tag_probabilities")(potentials)
    return keras.Model(inputs, probabilities, name="tagger")


def allowed_transitions(tag_names: Sequence[str], scheme: str | None) -> dict | None:
    """Which transitions, first and last tags the entity ``scheme`` permits among ``tag_names``
    (the model's tags in id order), for :class:`rnnzoo.layers.CRF`'s ``allowed``; None without
    a scheme (POS). IOB2: ``I-X`` only after ``B-X`` or ``I-X``, never first. BIOES: after
    ``B-X`` or ``I-X`` only ``I-X`` or ``E-X``; after ``O``, ``E-X`` or ``S-X`` (and first) only
    ``O``, ``B-Y`` or ``S-Y``; last only ``O``, ``E-X`` or ``S-X``."""
    if scheme is None:
        return None
    prefixes = "BI" if scheme == "IOB2" else "BIES"
    parsed = []
    for tag in tag_names:
        if tag != "O" and not (len(tag) > 2 and tag[0] in prefixes and tag[1] == "-"):
            raise ValueError(f"tag {tag!r} is not O or {'/'.join(prefixes)}-TYPE ({scheme})")
        parsed.append(("O", None) if tag == "O" else (tag[0], tag[2:]))

    def inside(kind, entity):
        return kind in "BI" and entity is not None

    def follows(previous, tag) -> bool:
        (p, x), (t, y) = previous, tag
        if scheme == "IOB2":
            return t != "I" or (p in "BI" and x == y)
        if inside(p, x):
            return t in "IE" and x == y
        return t in ("O", "B", "S")

    return {"transitions": [[follows(p, t) for t in parsed] for p in parsed],
            "start": [t in ("O", "B", "S") for t, _ in parsed],
            "end": [scheme == "IOB2" or t in ("O", "E", "S") for t, _ in parsed]}


def constrain(model: keras.Model, tag_names: Sequence[str],
              scheme: str | None) -> dict | None:
    """The scheme's :func:`allowed_transitions`, set on ``model``'s CRF (so that its output is
    the best *valid* path); returns them for a softmax head's :func:`decode_tag_ids`."""
    allowed = allowed_transitions(tag_names, scheme)
    if isinstance(model, CRFModel):
        model.crf.allowed = allowed
    return allowed


def decode_tag_ids(outputs, words, allowed: dict | None = None):
    """Tag ids (B, T) int32 from a tagger's outputs: the CRF's tags as they are; a softmax's
    probabilities by argmax or, with ``allowed``, by Viterbi over log p(tag) among the
    permitted paths (no other transition scores)."""
    if outputs.shape.rank == 2:
        return outputs
    if allowed is None:
        return tf.argmax(outputs, -1, output_type=tf.int32)
    tags = outputs.shape[-1]
    zeros = tf.zeros([tags])
    log_p = tf.math.log(tf.maximum(tf.cast(outputs, tf.float32), 1e-30))
    return viterbi(log_p, words != 0, *constrained(tf.zeros([tags, tags]), zeros, zeros,
                                                   allowed))[0]


def compile_for_training(model: keras.Model, learning_rate: float = 1e-3,
                         clipnorm: float | None = 5.0,
                         average_momentum: float | None = None) -> keras.Model:
    """Compiles ``model`` (from :func:`build`) with Adam for ``fit(inputs, tag_ids)``: the CRF's
    negative log-likelihood, or the masked cross-entropy −log p(y_t) for the softmax head.

    Args:
        model: A model from :func:`build`.
        learning_rate: Adam's learning rate. Default: 1e-3.
        clipnorm: The gradient norm clipped to, or `None`. Default: 5.0.
        average_momentum: With a momentum m, Adam also keeps the weights' moving average
            θ̄_t = m·θ̄_{t−1} + (1 − m)·θ_t (Keras's `use_ema`), for
            :class:`rnnzoo.training.averaging.SwapAveragedWeights`. Default: `None` (none).

    Returns:
        `model`, compiled.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.tagger import model as tagger

    model = tagger.build({"word_vocab_size": 20, "num_tags": 3, "word_dim": 8, "hidden": 8,
                          "char_features": None})
    model = tagger.compile_for_training(model)
    words, tags = np.array([[3, 4, 0], [5, 6, 7]]), np.array([[1, 2, 0], [0, 1, 2]])
    sorted(model.fit({"words": words}, tags, verbose=0).history)  # ['loss']
    ```
    """
    adam = optimizer("adam", learning_rate, clipnorm, average_momentum)
    if isinstance(model, CRFModel):
        model.compile(adam)
    else:
        model.compile(adam, loss=keras.losses.SparseCategoricalCrossentropy())
    return model


def tag_strings(tag_ids: np.ndarray, words: np.ndarray, tags: Sequence[str]) -> list[list[str]]:
    """One list of tag names per sentence, for its non-padding words (``tags[i]`` names id i)."""
    return [[tags[i] for i, w in zip(row, word_row) if w != 0]
            for row, word_row in zip(np.asarray(tag_ids), np.asarray(words))]


def tagging_function(model: keras.Model, tag_names: Sequence[str],
                     scheme: str | None) -> Callable[[dict], tf.Tensor]:
    """``model``'s tag ids (B, T) for padded inputs: the CRF's Viterbi path or the softmax's
    argmax, restricted to the paths the entity ``scheme`` allows (:func:`tagger.constrain`),
    traced once for all batch, sentence and word lengths (``model.predict`` retraces for each
    new shape)."""
    allowed = constrain(model, tag_names, scheme)
    spec = {name: tf.TensorSpec((None,) * len(x.shape), x.dtype, name=name)
            for name, x in model.input.items()}

    @tf.function(input_signature=[spec])
    def tag(inputs):
        return decode_tag_ids(model(inputs, training=False), inputs["words"], allowed)

    return tag


def predict_tags(tag: Callable[[dict], tf.Tensor], inputs: dict[str, tf.RaggedTensor],
                 tag_names: Sequence[str], batch_size: int) -> list[list[str]]:
    """Tag names of each sentence, predicted in batches of similar lengths (each padded to its
    own longest sentence and word), in the sentences' order."""
    lengths = inputs["words"].row_lengths().numpy()
    order = np.argsort(lengths, kind="stable")
    predicted: list[list[str]] = [[] for _ in lengths]
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        x = {k: tf.gather(v, batch).to_tensor() for k, v in inputs.items()}
        names = tag_strings(tag(x).numpy(), x["words"].numpy(), tag_names)
        for i, tags in zip(batch, names):
            predicted[i] = tags
    return predicted
