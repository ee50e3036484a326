"""Sequence-to-sequence builder: a recurrent encoder–decoder with global attention
(Luong et al., 2015), trained by teacher forcing.

Encoder: embedding → ``encoder_layers`` recurrent layers (each bidirectional if asked); its
outputs are the memory m_s. Decoder: embedding → ``decoder_layers`` recurrent layers, each
started from the top encoder layer's final state (through the bridge, tanh(W_b [h→; h←]) for h
and a linear map for the LSTM's c, when the encoder is bidirectional) → h_t. With attention,
the context c_t = Σ_s a_ts m_s and the attentional state h̃_t = tanh(W_c [c_t; h_t]) give
p(y_t | y_<t, x) = softmax(W_s h̃_t + b_s); without it, softmax(W_s h_t + b_s). There is no
input feeding (h̃_{t-1} is not an input of step t), so in training the decoder's recurrent
layers run over the whole target at once, on the fast path.

The trainable model is functional (so ``rnnzoo.layers.convert_model`` and ``.keras`` saving
apply to it as to any model); :class:`Seq2SeqParts` finds its layers by name and runs the same
equations for decoding: :meth:`~Seq2SeqParts.encode` once, then
:meth:`~Seq2SeqParts.decode_step` one token at a time with the decoder's cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from rnnzoo.layers import recurrent_layer
from rnnzoo.layers.attention import BahdanauAttention, LuongAttention
from rnnzoo.training.compiling import compile_token_model
from rnnzoo.training.config import (
    CELLS,
    IMPLEMENTATIONS,
    PROBABILITY,
    ConfigError,
    Field,
    validate,
)

ATTENTIONS = ("bahdanau", "luong")

SCHEMA = {
    "source_vocab_size": Field(int, low=3,
                               doc="the source vocabulary's size, set by training from the "
                                   "vocabulary it builds (leave it out)"),
    "target_vocab_size": Field(int, low=3,
                               doc="the target vocabulary's size, set by training from the "
                                   "vocabulary it builds (leave it out)"),
    "embedding_dim": Field(int, default=256, low=1,
                           doc="the width of the source and the target embeddings"),
    "hidden": Field(int, default=512, low=1,
                    doc="the units of each recurrent layer (per direction in the encoder), of the "
                        "attentional state h̃_t and of the additive score's hidden layer"),
    "encoder_layers": Field(int, default=2, low=1, high=8,
                            doc="the stacked encoder layers, whose top layer's outputs are the "
                                "memory m_s"),
    "decoder_layers": Field(int, default=2, low=1, high=8,
                            doc="the stacked decoder layers, each started from the top encoder "
                                "layer's final state"),
    "bidirectional": Field(bool, default=True,
                           doc="bidirectional encoder layers; the bridge tanh(W_b [h→; h←]) (a "
                               "linear map for the LSTM's c) starts the decoder"),
    "cell": Field(str, default="lstm", choices=CELLS,
                  doc="the recurrent cell: Elman RNN, LSTM (Hochreiter & Schmidhuber 1997) or "
                      "GRU (Cho et al. 2014)"),
    "implementation": Field(str, default="explicit", choices=IMPLEMENTATIONS,
                            doc="rnnzoo's recurrent layers (the CPU fast path) or Keras's "
                                "built-in ones (cuDNN on GPU)"),
    "reset_after": Field(bool, default=True,
                         doc="GRU only: the reset gate applied after the recurrent matrix "
                             "product, with a second bias (Keras's and cuDNN's variant)"),
    "attention": Field(str, default="luong", choices=ATTENTIONS, nullable=True,
                       doc="the score of global attention: additive vᵀ tanh(W₁ h_t + W₂ m_s) "
                           "(Bahdanau et al. 2015) or general h_tᵀ W m_s (Luong et al. 2015); "
                           "null: none"),
    "dropout": Field(default=0.2, **PROBABILITY,
                     doc="dropout on the inputs of each encoder and decoder layer and on the "
                         "output layer's input"),
    "beam_size": Field(int, default=5, low=1, high=64,
                       doc="decoding default: the hypotheses beam search keeps (never worse than "
                           "greedy decoding)"),
    "length_penalty": Field(float, default=0.6, low=0.0,
                            doc="decoding default: GNMT's α, hypotheses ranked by log p(Y | X) / "
                                "((5 + |Y|) / 6)^α (Wu et al. 2016)"),
    "max_decode_length": Field(int, default=100, low=1,
                               doc="decoding default: the most tokens a translation has (also at "
                                   "most twice the batch's longest source + 10)"),
    "bos_id": Field(int, default=1, low=1,
                    doc="the target id that starts every decoder input, set by training to "
                        "`<bos>`'s (id 0 is padding in both vocabularies)"),
    "eos_id": Field(int, default=2, low=1,
                    doc="the target id that ends every target output and decoding, set by "
                        "training to `<eos>`'s"),
}

SOURCE = "source"
TARGET_IN = "target_in"
SOURCE_EMBEDDING = "source_embedding"
TARGET_EMBEDDING = "target_embedding"
ATTENTION = "attention"
ATTENTION_CONCAT = "attention_concat"
ATTENTIONAL = "attentional"
OUTPUT_DROPOUT = "output_dropout"
LOGITS = "logits"


def encoder_name(index: int) -> str:
    return f"encoder_{index}"


def decoder_name(index: int) -> str:
    return f"decoder_{index}"


def validate_config(config: dict) -> dict:
    """``config`` checked against :data:`SCHEMA` (and ids against the target vocabulary)."""
    cfg = validate(config, SCHEMA, "seq2seq")
    for key in ("bos_id", "eos_id"):
        if cfg[key] >= cfg["target_vocab_size"]:
            raise ConfigError(
                f"seq2seq.{key}: must be < target_vocab_size ({cfg['target_vocab_size']}), "
                f"got {cfg[key]}"
            )
    if cfg["bos_id"] == cfg["eos_id"]:
        raise ConfigError(f"seq2seq.eos_id: must differ from bos_id, got {cfg['eos_id']}")
    return cfg


@dataclass
class Seq2SeqParts:
    """The layers of a seq2seq model, and the equations that connect them.

    Made fresh by :meth:`create` (what :func:`build` wires into the functional model) or found by
    name in a built, loaded or converted model by :meth:`from_model` (what decoding uses).
    """

    source_embedding: keras.layers.Layer
    encoder: list
    target_embedding: keras.layers.Layer
    decoder: list
    logits: keras.layers.Layer
    bridge: list = field(default_factory=list)
    bridge_concat: list = field(default_factory=list)
    attention: keras.layers.Layer | None = None
    attention_concat: keras.layers.Layer | None = None
    attentional: keras.layers.Layer | None = None
    dropout: dict = field(default_factory=dict)

    @classmethod
    def create(cls, cfg: dict) -> Seq2SeqParts:
        """New layers for a validated config."""
        hidden = cfg["hidden"]

        def rnn(name: str, **kwargs) -> keras.layers.Layer:
            return recurrent_layer(cfg["cell"], cfg["implementation"], hidden,
                                   return_sequences=True, reset_after=cfg["reset_after"],
                                   name=name, **kwargs)

        encoder = []
        for index in range(cfg["encoder_layers"]):
            layer = rnn(encoder_name(index), return_state=True)
            if cfg["bidirectional"]:
                layer = keras.layers.Bidirectional(layer, name=encoder_name(index))
            encoder.append(layer)
        states = 2 if cfg["cell"] == "lstm" else 1
        parts = cls(
            source_embedding=keras.layers.Embedding(cfg["source_vocab_size"], cfg["embedding_dim"],
                                                    mask_zero=True, name=SOURCE_EMBEDDING),
            encoder=encoder,
            target_embedding=keras.layers.Embedding(cfg["target_vocab_size"], cfg["embedding_dim"],
                                                    mask_zero=True, name=TARGET_EMBEDDING),
            decoder=[rnn(decoder_name(i)) for i in range(cfg["decoder_layers"])],
            logits=keras.layers.Dense(cfg["target_vocab_size"], name=LOGITS),
        )
        if cfg["bidirectional"]:
            parts.bridge_concat = [keras.layers.Concatenate(name=f"bridge_concat_{k}")
                                   for k in range(states)]
            parts.bridge = [keras.layers.Dense(hidden, activation="tanh" if k == 0 else None,
                                               name=f"bridge_{k}") for k in range(states)]
        if cfg["attention"] is not None:
            parts.attention = (BahdanauAttention(hidden, name=ATTENTION)
                               if cfg["attention"] == "bahdanau"
                               else LuongAttention(name=ATTENTION))
            parts.attention_concat = keras.layers.Concatenate(name=ATTENTION_CONCAT)
            parts.attentional = keras.layers.Dense(hidden, activation="tanh", use_bias=False,
                                                   name=ATTENTIONAL)
        if cfg["dropout"]:
            names = ([f"encoder_dropout_{i}" for i in range(cfg["encoder_layers"])]
                     + [f"decoder_dropout_{i}" for i in range(cfg["decoder_layers"])]
                     + [OUTPUT_DROPOUT])
            parts.dropout = {name: keras.layers.Dropout(cfg["dropout"], name=name)
                             for name in names}
        return parts

    @classmethod
    def from_model(cls, model: keras.Model) -> Seq2SeqParts:
        """The layers of a model made by :func:`build` (or loaded, or converted), by name."""
        layers = {layer.name: layer for layer in model.layers}
        if encoder_name(0) not in layers or decoder_name(0) not in layers:
            raise ValueError(f"{model.name}: not a seq2seq model (no layer {encoder_name(0)!r})")

        def numbered(name) -> list:
            found = []
            while name(len(found)) in layers:
                found.append(layers[name(len(found))])
            return found

        return cls(
            source_embedding=layers[SOURCE_EMBEDDING],
            encoder=numbered(encoder_name),
            target_embedding=layers[TARGET_EMBEDDING],
            decoder=numbered(decoder_name),
            logits=layers[LOGITS],
            bridge=numbered(lambda k: f"bridge_{k}"),
            bridge_concat=numbered(lambda k: f"bridge_concat_{k}"),
            attention=layers.get(ATTENTION),
            attention_concat=layers.get(ATTENTION_CONCAT),
            attentional=layers.get(ATTENTIONAL),
            dropout={name: layer for name, layer in layers.items()
                     if isinstance(layer, keras.layers.Dropout)},
        )

    def _drop(self, name: str, x, training):
        layer = self.dropout.get(name)
        return x if layer is None else layer(x, training=training)

    def encode(self, source, training=None) -> tuple:
        """Source ids (B, S) → memory (B, S, Dm) (masked where the id is 0) and the decoder's
        initial states, one list per decoder layer."""
        x = self.source_embedding(source)
        for index, layer in enumerate(self.encoder):
            x = self._drop(f"encoder_dropout_{index}", x, training)
            x, *final = layer(x, training=training)
        if self.bridge:
            half = len(final) // 2
            final = [dense(concat([final[k], final[half + k]]))
                     for k, (dense, concat) in enumerate(zip(self.bridge, self.bridge_concat))]
        return x, [list(final) for _ in self.decoder]

    def memory_mask(self, source):
        """Which source positions hold a token (id ≠ 0), (B, S) bool."""
        return self.source_embedding.compute_mask(source)

    def decode(self, target_in, memory, states, training=None):
        """Teacher forcing: target inputs (B, T) (BOS first) → logits (B, T, V)."""
        x = self.target_embedding(target_in)
        for index, (layer, initial) in enumerate(zip(self.decoder, states)):
            x = self._drop(f"decoder_dropout_{index}", x, training)
            x = layer(x, initial_state=initial, training=training)
        logits, _ = self._output(x, memory, None, training)
        return logits

    def decode_step(self, tokens, states, memory, memory_mask) -> tuple:
        """One decoder step: previous tokens (B,) → logits (B, V), the new states and the
        attention weights (B, S) (zeros without attention)."""
        # The embedding's lookup without its padding mask, which the cells do not take.
        x = ops.take(self.target_embedding.embeddings, tokens, axis=0)
        new_states = []
        for layer, state in zip(self.decoder, states):
            x, state = layer.cell(x, list(state), training=False)
            new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
        logits, weights = self._output(x[:, None, :], memory, memory_mask, False)
        if weights is None:
            weights = ops.zeros_like(ops.cast(memory_mask, logits.dtype))
        else:
            weights = weights[:, 0]
        return logits[:, 0], new_states, weights

    def _output(self, h, memory, memory_mask, training) -> tuple:
        """Eq. (5) of Luong et al.: h̃_t = tanh(W_c [c_t; h_t]), logits = W_s h̃_t + b_s."""
        weights = None
        if self.attention is not None:
            context, weights = self.attention(h, memory, memory_mask=memory_mask)
            h = self.attentional(self.attention_concat([context, h]))
        h = self._drop(OUTPUT_DROPOUT, h, training)
        return self.logits(h), weights


def build(config: dict) -> keras.Model:
    """The teacher-forcing model: {"source": (B, S), "target_in": (B, T)} int32 ids →
    logits (B, T, V_tgt), masked where ``target_in`` is padding: the logits of
    p(y_t | y_<t, x) = softmax(W_s h̃_t + b_s), h̃_t = tanh(W_c [c_t; h_t]) (module docstring).

    Args:
        config: The model section of a recipe, checked against :data:`SCHEMA` (defaults
            filled in); `source_vocab_size` and `target_vocab_size` are required.

    Returns:
        An uncompiled functional `keras.Model` named `"{bi}{cell}_seq2seq"`, whose layers
        :meth:`Seq2SeqParts.from_model` finds for decoding.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.seq2seq import model as seq2seq

    model = seq2seq.build({"source_vocab_size": 20, "target_vocab_size": 30,
                           "embedding_dim": 8, "hidden": 8, "encoder_layers": 1,
                           "decoder_layers": 1})
    model.name  # 'bilstm_seq2seq'
    logits = model({"source": np.array([[3, 4, 5]]), "target_in": np.array([[1, 6]])})
    tuple(logits.shape)  # (1, 2, 30)
    ```
    """
    cfg = validate_config(config)
    source = keras.Input(shape=(None,), dtype="int32", name=SOURCE)
    target_in = keras.Input(shape=(None,), dtype="int32", name=TARGET_IN)
    parts = Seq2SeqParts.create(cfg)
    memory, states = parts.encode(source)
    logits = parts.decode(target_in, memory, states)
    bi = "bi" if cfg["bidirectional"] else ""
    return keras.Model({SOURCE: source, TARGET_IN: target_in}, logits,
                       name=f"{bi}{cfg['cell']}_seq2seq")


def teacher_forcing(targets, bos_id: int, eos_id: int) -> tuple:
    """Target ids (B, T), 0-padded on the right → (target_in, target_out), both (B, T + 1):
    ``[BOS, y_1 … y_n]`` and ``[y_1 … y_n, EOS]``, 0-padded."""
    targets = tf.convert_to_tensor(targets, tf.int32)
    batch = tf.shape(targets)[0]
    lengths = tf.reduce_sum(tf.cast(targets != 0, tf.int32), axis=1)
    target_in = tf.concat([tf.fill([batch, 1], bos_id), targets], axis=1)
    padded = tf.concat([targets, tf.zeros([batch, 1], tf.int32)], axis=1)
    ends = tf.one_hot(lengths, tf.shape(padded)[1], dtype=tf.int32)
    return target_in, padded + eos_id * ends


def set_output_prior(model: keras.Model, counts) -> None:
    """Starts the output layer's bias at the log unigram distribution of the target tokens,
    b_s = log((n_y + 1) / Σ_y' (n_y' + 1)), so that the untrained model already predicts the
    unigram distribution.

    Started at zero instead, the bias leaves the unigram's consistent gradient to the layers
    below, and Adam drives them to a constant, saturated h̃_t (tanh' ≈ 0) that never recovers:
    the loss stalled at the unigram entropy (≈ 6.1 nats on the Bible) until this was added.
    ``counts`` (V_tgt,) are the training targets' token counts, EOS included.
    """
    layer = model.get_layer(LOGITS)
    counts = np.asarray(counts, dtype="float64")
    if counts.shape != tuple(layer.bias.shape) or (counts < 0).any():
        raise ValueError(
            f"counts: expected {tuple(layer.bias.shape)} non-negative token counts, "
            f"got shape {counts.shape}"
        )
    smoothed = counts + 1.0
    layer.bias.assign(np.log(smoothed / smoothed.sum()).astype(layer.bias.dtype))


def compile_for_training(model: keras.Model, learning_rate: float = 1e-3,
                         clipnorm: float | None = 1.0) -> keras.Model:
    """Adam on the mean token cross-entropy −log p(y_t | y_<t, x) (padding, id 0, ignored).

    Args:
        model: A model from :func:`build`.
        learning_rate: Adam's learning rate. Default: 1e-3.
        clipnorm: The gradient norm clipped to, or `None`. Default: 1.0.

    Returns:
        `model`, compiled (without XLA) for `fit({"source", "target_in"}, target_out)` (see
        :func:`teacher_forcing`).

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.seq2seq import model as seq2seq

    model = seq2seq.build({"source_vocab_size": 20, "target_vocab_size": 30,
                           "embedding_dim": 8, "hidden": 8, "encoder_layers": 1,
                           "decoder_layers": 1, "attention": None})
    model = seq2seq.compile_for_training(model)
    target_in, target_out = seq2seq.teacher_forcing(np.array([[6, 7]]), bos_id=1, eos_id=2)
    target_out.numpy().tolist()  # [[6, 7, 2]]
    x = {"source": np.array([[3, 4, 5]]), "target_in": target_in}
    sorted(model.fit(x, target_out, verbose=0).history)  # ['loss']
    ```
    """
    return compile_token_model(model, learning_rate, clipnorm)
