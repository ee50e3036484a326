"""rnnzoo demo: the explicit layers are the equations, equal to Keras's, and fast.

Runs in about a minute on a laptop CPU:
1. builds each explicit layer from a Keras built-in and shows outputs and gradients agree;
2. checks the NumPy BPTT reference against TensorFlow's autodiff;
3. draws the vanishing-gradient comparison (SimpleRNN vs LSTM) into a temporary folder (or
   the folder given as the first argument);
4. loads every shipped model and shows it at its job: each input beside its answer, and the
   model's test figure from its card.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

from rnnzoo.cli import quiet_native_logs

if __name__ == "__main__":
    quiet_native_logs()

import keras
import numpy as np
import tensorflow as tf

import rnnzoo
from rnnzoo import layers, reference

sys.path.insert(0, os.path.dirname(__file__))
from vanishing_gradients import main as plot_gradients


def compare(name: str, builtin: keras.layers.Layer, x: tf.Tensor) -> None:
    builtin.build(x.shape)
    explicit = getattr(layers, name).from_builtin(builtin)
    timings = {}
    for label, layer in (("keras", builtin), ("rnnzoo", explicit)):
        step = tf.function(lambda layer=layer: layer(x))
        step()
        start = time.perf_counter()
        for _ in range(3):
            out = step()
        timings[label] = (time.perf_counter() - start) / 3 * 1e3
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) ** 2)
        timings[label + "_grad"] = tape.gradient(loss, x)
        timings[label + "_out"] = out
    diff = float(tf.reduce_max(tf.abs(timings["keras_out"] - timings["rnnzoo_out"])))
    gdiff = float(tf.reduce_max(tf.abs(timings["keras_grad"] - timings["rnnzoo_grad"])))
    print(f"  {name:<9} max |Δoutput| = {diff:.1e}   max |Δ∂L/∂x| = {gdiff:.1e}   "
          f"forward: keras {timings['keras']:.0f} ms, rnnzoo {timings['rnnzoo']:.0f} ms")


def main() -> None:
    print(f"rnnzoo {rnnzoo.__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print("1. Explicit layers vs Keras built-ins (B=32, T=50, I=64, H=128):")
    x = tf.random.stateless_normal((32, 50, 64), seed=(1, 2))
    for name in ("SimpleRNN", "LSTM", "GRU"):
        compare(name, getattr(keras.layers, name)(128, return_sequences=True), x)

    print("2. NumPy BPTT reference vs tf.GradientTape (float64):")
    rng = np.random.default_rng(0)
    T, B, I, H, O = 6, 3, 4, 5, 2
    xs = rng.normal(size=(T, B, I))
    params = [rng.normal(size=s) * 0.5 for s in ((H, I), (H, H), (H,), (O, H), (O,))]
    dy = rng.normal(size=(T, B, O))
    grads = reference.rnn_bptt(xs, *params, dy)
    tparams = [tf.constant(p) for p in params]
    with tf.GradientTape() as tape:
        tape.watch(tparams)
        w_xh, w_hh, b_h, w_hy, b_y = tparams
        h, loss = tf.zeros((B, H), tf.float64), 0.0
        for t in range(T):
            h = tf.tanh(h @ tf.transpose(w_hh) + xs[t] @ tf.transpose(w_xh) + b_h)
            loss += tf.reduce_sum((h @ tf.transpose(w_hy) + b_y) * dy[t])
    auto = tape.gradient(loss, tparams)
    for name, mine, theirs in zip(("W_xh", "W_hh", "b_h", "W_hy", "b_y"),
                                  (grads.dW_xh, grads.dW_hh, grads.db_h, grads.dW_hy, grads.db_y),
                                  auto):
        rel = np.abs(mine - theirs.numpy()).max() / np.abs(theirs.numpy()).max()
        print(f"  ∂L/∂{name:<5} relative difference {rel:.1e}")

    print("3. Vanishing gradients, ‖∂L/∂h_t‖ for a loss on the last step:")
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="rnnzoo-"))
    folder.mkdir(parents=True, exist_ok=True)
    plot_gradients(str(folder / "vanishing_gradients.png"))

    print("4. The shipped models:")
    for name in rnnzoo.list_models():
        show(name)


EXAMPLES = {
    "language_model": {"char": "It is a truth universally acknowledged",
                       "word": "the company said"},
    "tagger": "Mary works for Google in London.",
    "seq2seq": "In the beginning God created the heaven and the earth.",
    "classifier": "Congratulations! You won a free cruise, click here now",
}


def headline(name: str) -> str:
    """The card's test figures, rounded: 'F1 0.70', 'perplexity 95.1', 'bits/char 1.68'."""
    test = rnnzoo.info(name)["metrics"].get("test", {})
    for key, label, digits in (("bits_per_char", "bits/char", 2), ("perplexity", "perplexity", 1),
                               ("f1", "F1", 3), ("bleu", "BLEU", 1), ("accuracy", "accuracy", 3)):
        if key in test:
            return f"test {label} {test[key]:.{digits}f}"
    return "no test figure"


def show(name: str) -> None:
    """One shipped model at its job: its input, its answer, and its card's test figure."""
    model = rnnzoo.load(name)
    print(f"  {name} ({model.task}; {headline(name)})")
    if model.task == "language_model":
        prompt = EXAMPLES["language_model"][model.level]
        text = model.continuation(prompt, max_tokens=200 if model.level == "char" else 40,
                                  temperature=0.7, seed=0)
        print(f"    prompt:  {prompt}")
        print("    written: " + text.replace("\n", "\n             "))
    elif model.task == "tagger":
        from rnnzoo.data.text import ud_tokens

        sentence = EXAMPLES["tagger"]
        print(f"    input:   {sentence}")
        print("    tags:    " + " ".join(f"{t}/{tag}" for t, tag in model.tag(ud_tokens(sentence))))
    elif model.task == "seq2seq":
        print(f"    input:   {EXAMPLES['seq2seq']}")
        print(f"    output:  {model.translate(EXAMPLES['seq2seq'])}")
    elif model.task == "classifier":
        label, probability = model.classify(EXAMPLES["classifier"])
        print(f"    input:   {EXAMPLES['classifier']}")
        print(f"    answer:  {label} (p = {probability:.2f})")


if __name__ == "__main__":
    main()
