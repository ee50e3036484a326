"""Text classifier builder: embedding → bidirectional recurrent encoder → pooling → softmax.

p(y | x) = softmax(W pool(h_1..h_T) + b), pool ∈ {last: [h→_T; h←_1], max: max_t h_t,
attention: Σ_t a_t h_t with a = softmax(vᵀ tanh(W h_t + b))}.
"""

from __future__ import annotations

import keras

from rnnzoo.layers import recurrent_layer
from rnnzoo.layers.pooling import AttentionPooling, MaskedMaxPooling
from rnnzoo.training.compiling import optimizer
from rnnzoo.training.config import CELLS, IMPLEMENTATIONS, PROBABILITY, Field, validate

SCHEMA = {
    "vocab_size": Field(int, low=2,
                        doc="the vocabulary's size, set by training from the vocabulary it "
                            "builds (leave it out)"),
    "num_classes": Field(int, low=2,
                         doc="the number of labels, set by training from the training labels "
                             "(leave it out)"),
    "embedding_dim": Field(int, default=128, low=1, doc="the width of the word embeddings"),
    "hidden": Field(int, default=128, low=1,
                    doc="units per direction of each bidirectional recurrent layer"),
    "num_layers": Field(int, default=1, low=1, high=8,
                        doc="the stacked bidirectional recurrent layers"),
    "cell": Field(str, default="lstm", choices=CELLS,
                  doc="the recurrent cell: Elman RNN, LSTM (Hochreiter & Schmidhuber 1997) or "
                      "GRU (Cho et al. 2014)"),
    "implementation": Field(str, default="explicit", choices=IMPLEMENTATIONS,
                            doc="rnnzoo's recurrent layers (the CPU fast path) or Keras's "
                                "built-in ones (cuDNN on GPU)"),
    "reset_after": Field(bool, default=True,
                         doc="GRU only: the reset gate applied after the recurrent matrix "
                             "product, with a second bias (Keras's and cuDNN's variant)"),
    "pooling": Field(str, default="attention", choices=("last", "max", "attention"),
                     doc="the text's vector: last states [h→_T; h←_1], max_t h_t, or Σ_t a_t h_t "
                         "with a = softmax(vᵀ tanh(W h_t + b))"),
    "attention_units": Field(int, default=64, low=1,
                             doc="attention pooling: the width of W, the score's hidden layer"),
    "dropout": Field(default=0.0, **PROBABILITY,
                     doc="dropout after each bidirectional layer"),
}


def build(config: dict) -> keras.Model:
    """The classifier: ids (B, T) int32 (0 = padding) → class probabilities (B, C),
    p(y | x) = softmax(W pool(h_1..h_T) + b) over the bidirectional encoder's states h_t.

    Args:
        config: The model section of a recipe, checked against :data:`SCHEMA` (defaults
            filled in); `vocab_size` and `num_classes` are required.

    Returns:
        An uncompiled functional `keras.Model` named `"bi{cell}_classifier"`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.classifier import model as classifier

    model = classifier.build({"vocab_size": 100, "num_classes": 3, "embedding_dim": 8,
                              "hidden": 8, "pooling": "max"})
    model.name  # 'bilstm_classifier'
    model.output_shape  # (None, 3)
    tuple(model(np.array([[5, 6, 0]])).shape)  # (1, 3)
    ```
    """
    cfg = validate(config, SCHEMA, "classifier")
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(cfg["vocab_size"], cfg["embedding_dim"], mask_zero=True,
                               name="embedding")(ids)
    for index in range(cfg["num_layers"]):
        last = index == cfg["num_layers"] - 1
        layer = recurrent_layer(cfg["cell"], cfg["implementation"], cfg["hidden"],
                                return_sequences=not (last and cfg["pooling"] == "last"),
                                reset_after=cfg["reset_after"])
        x = keras.layers.Bidirectional(layer, name=f"birnn_{index}")(x)
        if cfg["dropout"]:
            x = keras.layers.Dropout(cfg["dropout"])(x)
    if cfg["pooling"] == "max":
        x = MaskedMaxPooling(name="pooling")(x)
    elif cfg["pooling"] == "attention":
        x = AttentionPooling(cfg["attention_units"], name="pooling")(x)
    probabilities = keras.layers.Dense(cfg["num_classes"], activation="softmax", name="output")(x)
    return keras.Model(ids, probabilities, name=f"bi{cfg['cell']}_classifier")


def compile_for_training(model: keras.Model, learning_rate: float = 1e-3,
                         average_momentum: float | None = None) -> keras.Model:
    """Adam on the cross-entropy of integer labels, −log p(y | x), with accuracy.

    Args:
        model: A model from :func:`build`.
        learning_rate: Adam's learning rate. Default: 1e-3.
        average_momentum: With a momentum m, Adam also keeps the weights' moving average
            θ̄_t = m·θ̄_{t−1} + (1 − m)·θ_t (Keras's `use_ema`), for
            :class:`rnnzoo.training.averaging.SwapAveragedWeights`. Default: `None` (none).

    Returns:
        `model`, compiled (without XLA) for `fit(ids, labels)`.

    Example:

    ```python
    import numpy as np
    from rnnzoo.tasks.classifier import model as classifier

    model = classifier.build({"vocab_size": 100, "num_classes": 3, "embedding_dim": 8,
                              "hidden": 8})
    model = classifier.compile_for_training(model, learning_rate=1e-2)
    history = model.fit(np.array([[5, 6, 0], [7, 0, 0]]), np.array([2, 0]), verbose=0)
    sorted(history.history)  # ['accuracy', 'loss']
    ```
    """
    model.compile(optimizer=optimizer("adam", learning_rate, None, average_momentum),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=False)
    return model
