"""Every zoo model's answers to a fixed set of inputs, kept in ``tests/data/golden_answers.json``.

The file was written from the shipped weights before the tasks moved into their folders; the
test (``tests/test_golden.py``) asks the same questions again and wants the same answers: the
same strings and tags, probabilities and log-likelihoods within 1e-4. Rewrite it only when a
model is re-published (``python tests/golden.py --write``, which names the models it changed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent / "data" / "golden_answers.json"

PROMPTS = {"word": ["the company said", "it is n't clear whether"],
           "char": ["It is a truth universally", "Mr. Darcy"]}
SCORED = {"word": ["the stock market fell sharply in october",
                   "the new york stock exchange closed early"],
          "char": ["She was the youngest of the two daughters.", "Emma smiled."]}
SENTENCES = [["German", "Chancellor", "Olaf", "Scholz", "visited", "Paris", "on", "Monday", "."],
             ["Bank", "of", "America", "said", "it", "would", "cut", "jobs", "in", "Ohio", "."],
             ["I", "love", "this", "place", "!"]]
MESSAGES = ["Lunch at noon?", "hello",
            "Congratulations! You have won a FREE cruise. Click here to claim your prize now!!!",
            "Subject: meeting notes\n\nHi all, the notes from today's meeting are attached.",
            "Your invoice for November hosting is attached. Amount due: $12.00."]
VERSES = ["In the beginning God created the heaven and the earth.",
          "And God said, Let there be light: and there was light.",
          "Jesus wept."]


def answers(model) -> dict:
    """The model's answers to the fixed inputs of its task (plain JSON values)."""
    if model.task == "language_model":
        level = model.config["model"]["level"]
        return {"greedy": model.generate(PROMPTS[level], max_tokens=20, temperature=0.0),
                "sampled": model.generate(PROMPTS[level], max_tokens=20, temperature=0.8,
                                          seed=7),
                "log_likelihood": [list(model.log_likelihood(t)) for t in SCORED[level]]}
    if model.task == "tagger":
        return {"tags": [[tag for _, tag in row] for row in model.tag(SENTENCES)]}
    if model.task == "classifier":
        return {"labels": [label for label, _ in model.classify(MESSAGES)],
                "probabilities": model.probabilities(MESSAGES).tolist()}
    if model.task == "seq2seq":
        return {"greedy": model.translate(VERSES, beam_size=1), "beam": model.translate(VERSES)}
    raise ValueError(f"no golden questions for the task {model.task!r}")


def raw_text_answers(model, config: dict) -> dict:
    """The answers of a raw-text ``.keras`` (loaded with ``keras.saving.load_model``) to its
    task's questions, in :func:`answers`' form: what the model called on strings returns, and
    a language model's ``generate`` and a translator's ``translate``."""
    import tensorflow as tf

    task = config["task"]
    if task == "language_model":
        level = config["model"]["level"]
        out = model(tf.constant(SCORED[level]))
        return {"greedy": model.generate(PROMPTS[level], max_tokens=20, temperature=0.0),
                "sampled": model.generate(PROMPTS[level], max_tokens=20, temperature=0.8,
                                          seed=7),
                "log_likelihood": [[float(s), int(n)] for s, n in
                                   zip(out["log_likelihood"].numpy(), out["tokens"].numpy())]}
    if task == "seq2seq":
        return {"greedy": model.translate(VERSES, beam_size=1), "beam": model.translate(VERSES)}

    if task == "classifier":
        out = model(tf.constant(MESSAGES))
        return {"labels": [label.decode() for label in out["label"].numpy()],
                "probabilities": out["probabilities"].numpy().tolist()}
    if task == "tagger":
        out = model(tf.constant([" ".join(sentence) for sentence in SENTENCES]))
        return {"tags": [[tag.decode() for tag in row[:length]]
                         for row, length in zip(out["tags"].numpy(), out["lengths"].numpy())]}
    raise ValueError(f"no raw-text questions for the task {task!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the golden file")
    parser.add_argument("--only", nargs="*", help="models to re-answer (default: all)")
    args = parser.parse_args()
    import rnnzoo

    golden = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}
    for name in args.only or rnnzoo.list_models():
        new = answers(rnnzoo.load(name))
        if golden.get(name) != new:
            print(f"{name}: changed" if name in golden else f"{name}: new")
        golden[name] = new
    if args.write:
        GOLDEN.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
    else:
        json.dump(golden, sys.stdout, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
