"""Training curves from a run's ``metrics.jsonl``: losses, validation metrics, learning rate, best epoch."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.errors import NotAnArtifactError
from seiscli.viz.plot import CURVES_SIZE, DPI, save
from seiscli.viz.style import figure

_NOT_CURVES = ("pixels", "maps", "matrix")  # counts, not metrics


@dataclass(frozen=True)
class RunLog:
    """The epochs of a training run, one dictionary each, as ``seis finetune`` / ``pretrain`` log them."""

    path: Path
    epochs: list[dict[str, Any]]

    def best(self) -> tuple[str, float, int] | None:
        """(primary metric, its best value, the first epoch that reached it), or None before any validation."""
        name, value = next(iter((self.epochs[-1].get("best") or {}).items()), (None, None))
        if name is None or value is None:
            return None
        epoch = next((e["epoch"] for e in self.epochs if (e.get("val") or {}).get(name) == value), None)
        return (name, value, epoch) if epoch is not None else None

    def series(self, key: str) -> np.ndarray:
        """One value per epoch (NaN where absent): ``train_loss``, ``lr`` or ``val.<metric>`` / ``val.iou.<class>``."""
        out = []
        for epoch in self.epochs:
            value: Any = epoch
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            out.append(np.nan if value is None else float(value))
        return np.asarray(out)

    def val_metrics(self) -> list[str]:
        """The scalar validation metrics logged, loss aside."""
        names: dict[str, None] = {}
        for epoch in self.epochs:
            for name, value in (epoch.get("val") or {}).items():
                if isinstance(value, int | float) and name not in _NOT_CURVES and name != "loss":
                    names[name] = None
        return list(names)


def read_run_log(path: Path) -> RunLog:
    """The log at ``path`` (a ``metrics.jsonl`` or the run folder holding one)."""
    file = path / "metrics.jsonl" if path.is_dir() else path
    epochs = []
    for number, line in enumerate(file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise NotAnArtifactError(
                f"{file} line {number} is not JSON", "give a metrics.jsonl written by seis"
            ) from None
        if not isinstance(entry, dict) or "epoch" not in entry or "train_loss" not in entry:
            raise NotAnArtifactError(f"{file} line {number} is not an epoch record (epoch, train_loss, ...)")
        epochs.append(entry)
    if not epochs:
        raise NotAnArtifactError(f"{file} holds no epoch yet", "plot it once the first epoch has ended")
    return RunLog(file, epochs)


def draw_curves(out: Path, title: str, log: RunLog, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """Losses on top, validation metrics in the middle, the learning rate small beneath; the best epoch marked."""
    width, height = size or CURVES_SIZE
    fig, axes = figure(1, width / DPI, height / DPI / 3, nrows=3, sharex=True, height_ratios=[3, 3, 1])
    losses, metrics, rate = axes[:, 0]
    epochs = log.series("epoch")
    losses.plot(epochs, log.series("train_loss"), "-o", ms=3, label="train loss")
    if np.isfinite(log.series("val.loss")).any():
        losses.plot(epochs, log.series("val.loss"), "-o", ms=3, label="val loss")
    losses.set_ylabel("loss")
    drawn_on = {"loss": losses, **_draw_metrics(metrics, epochs, log)}
    rate.plot(epochs, log.series("lr"), color="0.3")
    rate.set_ylabel("learning rate")
    rate.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    rate.set_xlabel("epoch")
    rate.xaxis.get_major_locator().set_params(integer=True)
    _mark_best(log, (losses, metrics, rate), drawn_on)
    losses.legend(loc="upper right")
    for ax in (losses, metrics, rate):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return save(fig, out)


def _draw_metrics(ax, epochs: np.ndarray, log: RunLog) -> dict[str, Any]:
    """Metrics between 0 and 1 (IoU, SSIM, accuracy) on the left axis; others (MAE, RMSE in m/s) on the right."""
    names = log.val_metrics()
    if not names:
        ax.text(0.5, 0.5, "no validation metrics logged", ha="center", va="center", transform=ax.transAxes)
        return {}
    unit = [n for n in names if np.nanmax(np.abs(log.series(f"val.{n}"))) <= 1.0]
    other = [n for n in names if n not in unit]
    lines = []
    for name in unit:
        lines += ax.plot(epochs, log.series(f"val.{name}"), "-o", ms=3, label=f"val {name}")
    for cls in _class_names(log):
        lines += ax.plot(epochs, log.series(f"val.iou.{cls}"), "--", lw=1, alpha=0.7, label=f"val IoU {cls}")
    ax.set_ylabel("validation metric" if unit else "")
    if other:
        right = ax.twinx() if unit else ax
        for name in other:
            lines += right.plot(epochs, log.series(f"val.{name}"), "-s", ms=3, label=f"val {name}",
                                color=f"C{len(lines) + 2}")  # fmt: skip
        right.set_ylabel(", ".join(other))
    else:
        right = ax
    ax.legend(handles=lines, loc="best", fontsize=8)
    return {**{name: ax for name in unit}, **{name: right for name in other}}


def _class_names(log: RunLog) -> list[str]:
    iou = (log.epochs[-1].get("val") or {}).get("iou")
    return list(iou) if isinstance(iou, dict) else []


def _mark_best(log: RunLog, axes, drawn_on: dict[str, Any]) -> None:
    """A dotted line through every panel at the best epoch, a star on the metric that chose it."""
    best = log.best()
    if best is None:
        return
    name, value, epoch = best
    for ax in axes:
        ax.axvline(epoch, color="tab:green", ls=":", lw=1.5)
    target = drawn_on.get(name, axes[1])
    target.plot([epoch], [value], "*", ms=14, color="tab:green", zorder=5, label=f"best {name}")
    late = epoch > (log.epochs[0]["epoch"] + log.epochs[-1]["epoch"]) / 2  # write the note on the roomier side
    target.annotate(f"best {name} {value:.4g} (epoch {epoch})", xy=(epoch, value), xytext=(-8 if late else 8, 8),
                    textcoords="offset points", ha="right" if late else "left", color="tab:green", fontsize=9)  # fmt: skip
