"""The picture of ``seis benchmark model --plot``: samples/s of each contender per batch size, and the metric."""

from pathlib import Path

import numpy as np

from seiscli.viz.plot import save
from seiscli.viz.style import figure


def draw_model_benchmark(result, out: Path) -> None:
    """Grouped bars of samples/s (one group per batch size, one bar per contender), the metric in the legend."""
    fig, ax = figure(1, width=7.0, height=4.5)
    width = 0.8 / len(result.rows)
    groups = np.arange(len(result.batch_sizes))
    for k, row in enumerate(result.rows):
        speeds = [row.samples_per_s(b) for b in result.batch_sizes]
        label = row.name if row.metric is None else f"{row.name} ({result.metric_name} {row.metric:.4f})"
        bars = ax.bar(groups + (k - (len(result.rows) - 1) / 2) * width, speeds, width, label=label)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(groups, [f"batch {b}" for b in result.batch_sizes])
    ax.set_ylabel("samples / s")
    ax.set_title(f"{result.model.name}: {'x'.join(map(str, result.sample_shape))} samples")
    ax.legend(fontsize=8)
    save(fig, out)
