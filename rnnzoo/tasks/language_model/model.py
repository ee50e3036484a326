"""Language model builder: embedding → N recurrent layers → softmax over the vocabulary.

p(w_t | w_<t) = softmax(W_o h_t^(N) + b_o), h_t^(l) the l-th recurrent layer's state. Regularised
as in Merity et al. (2018): embedding dropout (a word's whole vector dropped at a position),
variational ("locked") dropout on the embeddings and after each layer (one mask for the whole
sequence; Gal & Ghahramani 2016) and
weight tying (W_o = E, Press & Wolf 2017). Trained with truncated BPTT over a continuous stream:
with ``stateful=True`` each layer carries its state from one batch to the next.
"""

from __future__ import annotations

import keras

from rnnzoo.layers import recurrent_layer
from rnnzoo.layers.embedding import TiedEmbedding
from rnnzoo.training.compiling import compile_token_model
from rnnzoo.training.config import CELLS, IMPLEMENTATIONS, PROBABILITY, Field, validate

SCHEMA = {
    "vocab_size": Field(int, low=2),
    "level": Field(str, default="word", choices=("word", "char")),
    "embedding_dim": Field(int, default=256, low=1),
    "hidden": Field(int, default=256, low=1),
    "num_layers": Field(int, default=2, low=1, high=8),
    "cell": Field(str, default="lstm", choices=CELLS),
    "implementation": Field(str, default="explicit", choices=IMPLEMENTATIONS),
    "reset_after": Field(bool, default=True),
    "dropout": Field(default=0.0, **PROBABILITY),
    "embedding_dropout": Field(default=0.0, **PROBABILITY),
    "input_dropout": Field(default=0.0, **PROBABILITY),
    "tie_weights": Field(bool, default=True),
}

EMBEDDING = "embedding"
OUTPUT = "output"
PROJECTION = "projection"


def rnn_name(index: int) -> str:
    return f"rnn_{index}"


def build(config: dict, batch_size: int | None = None, stateful: bool = False) -> keras.Model:
    """The language model: ids (B, T) int32 → logits (B, T, V).

    ``stateful=True`` (needs ``batch_size``) keeps each layer's final state as the next batch's
    initial state, for truncated BPTT over a continuous stream.
    """
    cfg = validate(config, SCHEMA, "language_model")
    if stateful and batch_size is None:
        raise ValueError("language_model: a stateful model needs a fixed `batch_size`")
    ids = keras.Input(shape=(None,), batch_size=batch_size, dtype="int32", name="ids")
    if cfg["tie_weights"]:
        embedding = TiedEmbedding(cfg["vocab_size"], cfg["embedding_dim"], name=EMBEDDING)
    else:
        embedding = keras.layers.Embedding(cfg["vocab_size"], cfg["embedding_dim"],
                                           mask_zero=True, name=EMBEDDING)
    x = embedding(ids)
    if cfg["embedding_dropout"]:
        x = keras.layers.Dropout(cfg["embedding_dropout"], noise_shape=(None, None, 1),
                                 name="embedding_dropout")(x)
    if cfg["input_dropout"]:
        x = keras.layers.Dropout(cfg["input_dropout"], noise_shape=(None, 1, None),
                                 name="locked_input_dropout")(x)
    for index in range(cfg["num_layers"]):
        x = recurrent_layer(
            cfg["cell"], cfg["implementation"], cfg["hidden"], return_sequences=True,
            stateful=stateful, reset_after=cfg["reset_after"], name=rnn_name(index),
        )(x)
        if cfg["dropout"]:
            x = keras.layers.Dropout(cfg["dropout"], noise_shape=(None, 1, None),
                                     name=f"locked_dropout_{index}")(x)
    if cfg["tie_weights"]:
        if cfg["hidden"] != cfg["embedding_dim"]:
            x = keras.layers.Dense(cfg["embedding_dim"], name=PROJECTION)(x)
        logits = embedding(x, reverse=True)
    else:
        logits = keras.layers.Dense(cfg["vocab_size"], name=OUTPUT)(x)
    return keras.Model(ids, logits, name=f"{cfg['cell']}_{cfg['level']}_lm")


def compile_for_training(model: keras.Model, learning_rate: float = 1e-3,
                         clipnorm: float | None = 0.25, optimizer: str = "adam") -> keras.Model:
    """Adam or SGD on the mean token cross-entropy (padding, id 0, ignored)."""
    return compile_token_model(model, learning_rate, clipnorm, optimizer)

