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
from rnnzoo.training.config import CELLS, IMPLEMENTATIONS, PROBABILITY, Field, check_value, validate

SCHEMA = {
    "vocab_size": Field(int, low=2,
                        doc="V, the vocabulary's size, set by training from the vocabulary it "
                            "builds (leave it out)"),
    "level": Field(str, default="word", choices=("word", "char"),
                   doc="the tokens: words (line ends read as `<eos>`; scored by perplexity) or "
                       "characters (scored by bits per character)"),
    "embedding_dim": Field(int, default=256, low=1, doc="the width of the token embeddings E"),
    "hidden": Field(int, default=256, low=1, doc="the units of each recurrent layer"),
    "num_layers": Field(int, default=2, low=1, high=8, doc="N, the stacked recurrent layers"),
    "cell": Field(str, default="lstm", choices=CELLS,
                  doc="the recurrent cell: Elman RNN, LSTM (Hochreiter & Schmidhuber 1997) or "
                      "GRU (Cho et al. 2014)"),
    "implementation": Field(str, default="explicit", choices=IMPLEMENTATIONS,
                            doc="rnnzoo's recurrent layers (the CPU fast path) or Keras's "
                                "built-in ones (cuDNN on GPU)"),
    "reset_after": Field(bool, default=True,
                         doc="GRU only: the reset gate applied after the recurrent matrix "
                             "product, with a second bias (Keras's and cuDNN's variant)"),
    "dropout": Field(default=0.0, **PROBABILITY,
                     doc="locked (variational) dropout after each recurrent layer, one mask per "
                         "sequence of a batch (Gal & Ghahramani 2016)"),
    "embedding_dropout": Field(default=0.0, **PROBABILITY,
                               doc="embedding dropout: a token's whole embedding vector dropped "
                                   "at a position (Merity et al. 2018)"),
    "input_dropout": Field(default=0.0, **PROBABILITY,
                           doc="locked (variational) dropout on the embeddings, one mask per "
                               "sequence of a batch (Gal & Ghahramani 2016)"),
    "tie_weights": Field(bool, default=True,
                         doc="weight tying, W_o = E (Press & Wolf 2017), through a linear "
                             "projection to `embedding_dim` when `hidden` differs"),
}

EMBEDDING = "embedding"
OUTPUT = "output"
PROJECTION = "projection"


def rnn_name(index: int) -> str:
    return f"rnn_{index}"


def model_level(model: dict) -> str:
    """The recipe model's ``level`` (checked), before the data fix its sizes."""
    field = SCHEMA["level"]
    return check_value("model.level", model.get("level", field.default), field)


def build(config: dict, batch_size: int | None = None, stateful: bool = False) -> keras.Model:
    """The language model: ids (B, T) int32 → logits (B, T, V), the logits of
    p(w_t | w_<t) = softmax(W_o h_t^(N) + b_o).

    ``stateful=True`` (needs ``batch_size``) keeps each layer's final state as the next batch's
    initial state, for truncated BPTT over a continuous stream.

    Args:
        config: The model section of a recipe, checked against :data:`SCHEMA` (defaults
            filled in); `vocab_size` is required.
        batch_size: The fixed batch size of the input, or `None` (any).
        stateful: Boolean (default `False`), whether the recurrent layers are stateful.

    Returns:
        An uncompiled functional `keras.Model` named `"{cell}_{level}_lm"`.

    Raises:
        ValueError: For `stateful=True` without `batch_size`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.language_model import model as language_model

    config = {"vocab_size": 50, "embedding_dim": 8, "hidden": 16, "num_layers": 1}
    model = language_model.build(config)
    model.output_shape  # (None, None, 50)
    tuple(model(np.array([[3, 4, 5, 6]])).shape)  # (1, 4, 50)
    language_model.build(config, batch_size=4, stateful=True).input_shape  # (4, None)
    ```
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
                         clipnorm: float | None = 0.25, optimizer: str = "adam",
                         average_momentum: float | None = None) -> keras.Model:
    """Adam or SGD on the mean token cross-entropy −log p(w_t | w_<t) (padding, id 0,
    ignored).

    Args:
        model: A model from :func:`build`.
        learning_rate: The optimizer's learning rate. Default: 1e-3.
        clipnorm: The gradient norm clipped to, or `None`. Default: 0.25.
        optimizer: `"adam"` (default) or `"sgd"`.
        average_momentum: With a momentum m, the optimizer also keeps the weights' moving
            average θ̄ ← m·θ̄ + (1 − m)·θ (averaged SGD, Merity et al. 2018, as an exponential
            average). Default: `None` (none).

    Returns:
        `model`, compiled (without XLA) for `fit(ids, next_ids)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.language_model import model as language_model

    model = language_model.build({"vocab_size": 50, "embedding_dim": 8, "hidden": 8,
                                  "num_layers": 1})
    model = language_model.compile_for_training(model, learning_rate=1.0, optimizer="sgd")
    ids = np.array([[3, 4, 5, 6], [7, 8, 9, 0]])
    history = model.fit(ids[:, :-1], ids[:, 1:], verbose=0)
    sorted(history.history)  # ['loss']
    ```
    """
    return compile_token_model(model, learning_rate, clipnorm, optimizer, average_momentum)

