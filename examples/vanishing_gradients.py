"""Plot ‖∂L/∂h_t‖ over t for a SimpleRNN and an LSTM, with a loss on the last step only.

Usage: python examples/vanishing_gradients.py [out.png]   (default: vanishing_gradients.png)
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rnnzoo.reference import gradient_norms_over_time


def main(path: str) -> None:
    T, H = 100, 64
    fig, ax = plt.subplots(figsize=(7, 4))
    for cell, label in (("rnn", "SimpleRNN"), ("lstm", "LSTM (forget bias 1)")):
        ax.semilogy(np.arange(T), gradient_norms_over_time(cell, T=T, H=H, seed=0), label=label)
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title(f"Gradient of a last-step loss through time (H={H}, Keras-style init)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "vanishing_gradients.png")
