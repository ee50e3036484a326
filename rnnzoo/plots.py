"""Figures (matplotlib, Agg canvas, no display): the attention of a translation as a heatmap, and
a run's learning curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def save_attention_heatmap(weights, source_tokens: Sequence[str], target_tokens: Sequence[str],
                           path: str | Path) -> Path:
    """Writes a PNG of a_ts, target token t down the rows, source token s across the columns.

    ``weights``: (T', S') with T' ≥ len(target_tokens) and S' ≥ len(source_tokens) (decoder
    outputs are padded; the extra rows and columns are cropped).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    weights = np.asarray(weights, dtype=float)
    rows, cols = len(target_tokens), len(source_tokens)
    if weights.ndim != 2 or weights.shape[0] < rows or weights.shape[1] < cols:
        raise ValueError(
            f"save_attention_heatmap: weights of shape {weights.shape} do not cover "
            f"{rows} target × {cols} source tokens"
        )
    weights = weights[:rows, :cols]
    figure = Figure(figsize=(1.0 + 0.45 * cols, 1.0 + 0.45 * rows))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="equal")
    axes.set_xticks(range(cols), labels=list(source_tokens), rotation=90)
    axes.set_yticks(range(rows), labels=list(target_tokens))
    axes.set_xlabel("source")
    axes.set_ylabel("target")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, format="png", dpi=100)
    return path


def save_learning_curves(history: dict[str, Sequence[float]], path: str | Path) -> Path:
    """Writes a PNG of a run's per-epoch history: one panel per quantity (``loss`` beside
    ``val_loss``, ``accuracy`` beside ``val_accuracy``, ...), epochs 1, 2, ... across."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = sorted({key.removeprefix("val_") for key in history
                    if key not in ("epoch_seconds", "learning_rate") and history[key]})
    if not names:
        raise ValueError("save_learning_curves: the history holds no per-epoch values")
    figure = Figure(figsize=(4.0 * len(names), 3.2))
    FigureCanvasAgg(figure)
    for index, name in enumerate(names, start=1):
        axes = figure.add_subplot(1, len(names), index)
        for key in (name, f"val_{name}"):
            values = history.get(key) or []
            if values:
                axes.plot(range(1, len(values) + 1), values, marker="o", label=key)
        axes.set_xlabel("epoch")
        axes.set_title(name)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    return Path(path)
