"""Recipes small enough to train in a test."""

TINY_LM = {
    "name": "tiny-lm", "task": "language_model", "seed": 0, "description": "tests",
    "model": {"level": "char", "cell": "gru", "embedding_dim": 8, "hidden": 16, "num_layers": 1,
              "tie_weights": False},
    "data": {"corpus": "austen", "test": "PERSUASION", "valid_fraction": 0.1},
    "training": {"batch_size": 4, "bptt": 20, "epochs": 1, "learning_rate": 0.01,
                 "eval_bptt": 50},
}
"""A one-epoch character GRU of the tiny Austen fixture (``austen_dir``)."""
