"""Figures: the attention of a translation as a heatmap (matplotlib, Agg canvas, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

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
