"""Write a language-model recipe's token ids for ``train_lm.py``: the train / valid / test
streams and the vocabulary exactly as ``rnnzoo train`` builds them.

Usage: python prepare_lm.py RECIPE.yaml OUT_DIR [--data-dir DIR]
Writes OUT_DIR/ids.npz (train, valid, test ids in the smallest unsigned type; vocab_size) and OUT_DIR/vocab.txt.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rnnzoo.data.vocab import EOS, Vocabulary
from rnnzoo.models.config import load_yaml, validate
from rnnzoo.training.language_model import (
    DATA_SCHEMA, VOCABULARY_SCHEMA, corpus_splits, tokens_of,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("out")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    recipe = load_yaml(Path(args.recipe).read_text(encoding="utf-8"), args.recipe)
    level = recipe["model"].get("level", "word")
    data = validate(recipe["data"], DATA_SCHEMA, "data")
    splits = corpus_splits(data, args.data_dir, recipe.get("seed", 0))
    tokens = {name: tokens_of(text, level) for name, text in splits.items()}
    vocab = Vocabulary.build(tokens["train"], level, specials=(EOS,) if level == "word" else (),
                             **validate(recipe.get("vocabulary", {}), VOCABULARY_SCHEMA,
                                        "vocabulary"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dtype = np.min_scalar_type(len(vocab) - 1)
    ids = {name: np.asarray(vocab.ids(toks), dtype=dtype) for name, toks in tokens.items()}
    np.savez(out / "ids.npz", vocab_size=len(vocab), **ids)
    vocab.save(out / "vocab.txt")
    print({name: len(array) for name, array in ids.items()}, "vocabulary", len(vocab))


if __name__ == "__main__":
    main()
