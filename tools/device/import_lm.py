"""Make an rnnzoo run folder of weights that ``train_lm.py`` trained elsewhere.

The recipe's model is built with Keras's built-in layers (the layout ``train_lm.py`` trained),
given the weights, converted to the recipe's ``implementation`` (rnnzoo's explicit layers: the
GRU's update gate flipped, see ``rnnzoo.layers.conversion``) and finished as ``rnnzoo train``
finishes a run: ``model.keras``, ``config.yaml``, ``vocab.txt``, ``history.json`` and
``metrics.json`` (valid and test, evaluated here), ready for ``rnnzoo publish``.

Usage: python import_lm.py RECIPE.yaml OUT.npz VOCAB.txt RUN_DIR [--data-dir DIR]
       [--machine "what trained it"]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rnnzoo.data.vocab import Vocabulary
from rnnzoo.layers import convert_model
from rnnzoo.tasks.language_model import model as language_model
from rnnzoo.tasks.language_model.recipe import evaluate
from rnnzoo.training.checkpoints import write_json
from rnnzoo.training.config import load_yaml
from rnnzoo.training.recipe import validate_recipe
from rnnzoo.training.runs import finish, write_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_lm import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("trained", help="the OUT.npz that train_lm.py wrote")
    parser.add_argument("vocab")
    parser.add_argument("run")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--machine", default="an accelerator, Keras's JAX backend")
    args = parser.parse_args()
    recipe = validate_recipe(load_yaml(Path(args.recipe).read_text(encoding="utf-8"),
                                       args.recipe))
    out = Path(args.run)
    if out.exists():
        raise FileExistsError(f"{out} exists: choose another run folder")
    out.mkdir(parents=True)
    vocab = Vocabulary.load(args.vocab, recipe["model"].get("level", "word"))
    model_config = {**recipe["model"], "vocab_size": len(vocab)}
    weights, epoch, history = load(Path(args.trained))
    builtin = language_model.build({**model_config, "implementation": "builtin"})
    builtin.set_weights(weights)
    model = (convert_model(builtin, "explicit")
             if model_config.get("implementation", "explicit") == "explicit" else builtin)
    vocab.save(out / "vocab.txt")
    write_config(out, recipe | {"model": model_config})
    write_json(out / "runtime.json", {
        "strategy": None, "replicas": 1, "dtype_policy": "float32", "jit": True,
        "cpu": args.machine, "cores": None, "best_epoch": epoch,
        "trainer": f"KERAS_BACKEND=jax python tools/device/train_lm.py {args.recipe} IDS OUT, "
                   "imported by tools/device/import_lm.py"})
    metrics = finish(out, model, lambda: language_model.build(model_config), evaluate,
                     args.data_dir, history, recipe["data"])
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
