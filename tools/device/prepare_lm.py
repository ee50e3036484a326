"""Write a language-model recipe's token ids for ``train_lm.py``: the train / valid / test
streams and the vocabulary exactly as ``rnnzoo train`` builds them, and the recipe with every
default filled in.

Usage: python prepare_lm.py RECIPE.yaml OUT_DIR [--data-dir DIR]
Writes OUT_DIR/ids.npz (train, valid, test ids in the smallest unsigned type; vocab_size),
OUT_DIR/vocab.txt and OUT_DIR/recipe.yaml (the recipe train_lm.py reads).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rnnzoo.tasks.language_model import model as language_model
from rnnzoo.tasks.language_model.recipe import (
    DATA_SCHEMA,
    TRAINING_SCHEMA,
    VOCABULARY_SCHEMA,
    corpus_ids,
)
from rnnzoo.training.config import dump_yaml, load_yaml, validate
from rnnzoo.training.recipe import validate_recipe
from rnnzoo.training.runs import sections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("out")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    recipe = validate_recipe(load_yaml(Path(args.recipe).read_text(encoding="utf-8"),
                                       args.recipe))
    data, vocab_cfg, training = sections(recipe, DATA_SCHEMA, VOCABULARY_SCHEMA, TRAINING_SCHEMA)
    level = recipe["model"].get("level", "word")
    vocab, ids = corpus_ids(data, vocab_cfg, level, args.data_dir, recipe["seed"])
    model = validate({**recipe["model"], "vocab_size": len(vocab)}, language_model.SCHEMA,
                     "model")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dtype = np.min_scalar_type(len(vocab) - 1)
    np.savez(out / "ids.npz", vocab_size=len(vocab),
             **{name: np.asarray(split, dtype=dtype) for name, split in ids.items()})
    vocab.save(out / "vocab.txt")
    (out / "recipe.yaml").write_text(dump_yaml({**recipe, "model": model, "data": data,
                                                "vocabulary": vocab_cfg, "training": training}),
                                     encoding="utf-8")
    print({name: len(split) for name, split in ids.items()}, "vocabulary", len(vocab))


if __name__ == "__main__":
    main()
