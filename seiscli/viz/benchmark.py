"""Pictures of ``seis benchmark ... --plot``: one panel of grouped bars per measured quantity.

Each suite's result becomes a list of ``Panel``s (``panels``); ``draw_benchmark`` draws them side by side
with every bar labelled by its value.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seiscli.viz.plot import save
from seiscli.viz.style import figure


@dataclass
class Panel:
    title: str
    ylabel: str
    groups: list[str]  # the x tick labels
    series: dict[str, list[float]]  # legend label -> one value per group (NaN: not measured)


def draw_benchmark(result, out: Path) -> None:
    """Draw ``result`` of any benchmark suite to the PNG ``out``."""
    shown = panels(result)
    fig, axes = figure(len(shown), width=6.0, height=4.5)
    for ax, panel in zip(np.atleast_1d(axes), shown):
        _draw_panel(ax, panel)
    save(fig, out)


def _draw_panel(ax, panel: Panel) -> None:
    width = 0.8 / len(panel.series)
    groups = np.arange(len(panel.groups))
    for k, (label, values) in enumerate(panel.series.items()):
        bars = ax.bar(groups + (k - (len(panel.series) - 1) / 2) * width, values, width, label=label)
        ax.bar_label(bars, fmt="%.3g", fontsize=8)
    ax.set_xticks(groups, panel.groups)
    ax.set_ylabel(panel.ylabel)
    ax.set_title(panel.title, fontsize=10)
    if len(panel.series) > 1:
        ax.legend(fontsize=8)


def panels(result) -> list[Panel]:
    """The panels of a result of ``seis benchmark ingest|loader|infer|model|train``."""
    kind = type(result).__name__
    if kind in ("IngestBenchmark", "InferBenchmark"):
        rows = [r for r in result.rows if r.ok]
        names = [r.name for r in rows]
        return [Panel("throughput", "MB/s", names, {"MB/s": [r.mb_per_s for r in rows]}),
                Panel("peak memory", "MB", names, {"peak MB": [r.peak_mb for r in rows]})]  # fmt: skip
    if kind == "LoaderBenchmark":
        speeds = [result.loader_samples_per_s, result.train_samples_per_s]
        return [Panel(f"loader {result.ratio:.1f}x the training step", "samples / s",
                      ["loader", f"train step ({result.precision})"], {"samples/s": speeds})]  # fmt: skip
    if kind == "ModelBenchmark":
        series = {(r.name if r.metric is None else f"{r.name} ({result.metric_name} {r.metric:.4f})"):
                  [r.samples_per_s(b) for b in result.batch_sizes] for r in result.rows}  # fmt: skip
        shape = "x".join(map(str, result.sample_shape))
        return [Panel(f"{result.model.name}: {shape} samples", "samples / s",
                      [f"batch {b}" for b in result.batch_sizes], series)]  # fmt: skip
    if kind == "TrainBenchmark":
        series = {p: [result.batch_size / r.seconds_per_step[p] for r in result.rows] for p in result.precisions}
        return [Panel(f"training, batch {result.batch_size}", "samples / s", [r.model for r in result.rows], series)]
    raise TypeError(f"no picture for {kind}")
