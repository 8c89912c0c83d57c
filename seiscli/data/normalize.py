"""Amplitude normalization: statistics gathered in one bounded streaming pass, applied per patch.

Methods (the ones seismic ML codebases use):
- ``zscore``: (x - mean) / std, clipped to +-``clip`` sigma and divided by ``clip`` -> [-1, 1]
- ``percentile``: clipped to the [low, high] percentiles and scaled to [-1, 1]
- ``agc``: per-trace automatic gain control, x / RMS over a sliding time window
- ``none``: stored as read
The method and each source's statistics are recorded in the dataset store, and every checkpoint
trained on it carries them, so inference normalizes new data the same way.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

METHODS = ("zscore", "percentile", "agc", "none")
HISTOGRAM_BINS = 1 << 14  # percentile resolution: (max - min) / 16384


@dataclass(frozen=True)
class Normalization:
    """How to normalize, and the statistics of one source."""

    method: str = "zscore"
    clip: float = 3.0
    percentiles: tuple[float, float] = (0.5, 99.5)
    agc_window: int = 64  # samples along time
    stats: dict[str, float] = field(default_factory=dict)

    def needs_histogram(self) -> bool:
        return self.method == "percentile"

    def apply(self, x: np.ndarray, time_axis: int = -1) -> np.ndarray:
        """Normalized float32 copy of ``x``; ``time_axis`` matters for AGC only."""
        x = np.asarray(x, dtype=np.float32)
        if self.method == "zscore":
            z = (x - self.stats["mean"]) / max(self.stats["std"], 1e-12)
            return np.clip(z, -self.clip, self.clip) / self.clip
        if self.method == "percentile":
            low, high = self.stats["low"], self.stats["high"]
            return np.clip((x - low) / max(high - low, 1e-12) * 2 - 1, -1, 1)
        if self.method == "agc":
            return agc(x, self.agc_window, time_axis)
        return x

    def to_attrs(self) -> dict[str, Any]:
        return {"method": self.method, "clip": self.clip, "percentiles": list(self.percentiles),
                "agcWindow": self.agc_window, "stats": self.stats}  # fmt: skip


def agc(x: np.ndarray, window: int, time_axis: int = -1) -> np.ndarray:
    """Divide each trace by its RMS amplitude over a centred ``window`` of samples."""
    moved = np.moveaxis(x, time_axis, -1)  # (..., T)
    energy = np.cumsum(np.square(moved, dtype=np.float64), axis=-1)
    energy = np.concatenate([np.zeros(moved.shape[:-1] + (1,)), energy], axis=-1)  # (..., T + 1)
    n = moved.shape[-1]
    half = window // 2
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    rms = np.sqrt((energy[..., hi] - energy[..., lo]) / (hi - lo))
    scale = np.where(rms > 0, 1.0 / np.maximum(rms, 1e-30), 0.0)
    return np.moveaxis((moved * scale).astype(np.float32), -1, time_axis)


class StreamingStats:
    """Mean, std and (optionally) a histogram for percentiles, fed block by block."""

    def __init__(self, value_range: tuple[float, float] | None = None):
        self.count = 0
        self.total = 0.0
        self.squares = 0.0
        self.range = value_range
        self.histogram = np.zeros(HISTOGRAM_BINS, np.int64) if value_range else None

    def add(self, values: np.ndarray) -> None:
        flat = values.reshape(-1).astype(np.float64)
        self.count += flat.size
        self.total += float(flat.sum())
        self.squares += float(flat @ flat)
        if self.histogram is not None:
            self.histogram += np.histogram(flat, HISTOGRAM_BINS, self.range)[0]

    def summary(self, normalization: Normalization) -> dict[str, float]:
        mean = self.total / max(self.count, 1)
        stats = {"mean": mean, "std": float(np.sqrt(max(self.squares / max(self.count, 1) - mean * mean, 0.0)))}
        if self.histogram is not None:
            stats.update(zip(("low", "high"), (self._percentile(p) for p in normalization.percentiles)))
        return stats

    def _percentile(self, p: float) -> float:
        cdf = np.cumsum(self.histogram) / max(self.histogram.sum(), 1)
        edges = np.linspace(*self.range, HISTOGRAM_BINS + 1)
        return float(edges[np.searchsorted(cdf, p / 100.0) + 1])


def gather_statistics(arrays: Callable[[], Iterable[np.ndarray]], normalization: Normalization) -> Normalization:
    """``normalization`` with the statistics of every array ``arrays()`` yields: one pass for
    mean/std (and range), a second for the histogram when percentiles are asked for."""
    if normalization.method in ("agc", "none"):
        return normalization
    low, high, streaming = np.inf, -np.inf, StreamingStats()
    for array in arrays():
        streaming.add(array)
        low, high = min(low, float(array.min())), max(high, float(array.max()))
    if normalization.method == "percentile":
        streaming = StreamingStats((low, high if high > low else low + 1))
        for array in arrays():
            streaming.add(array)
    return replace(normalization, stats=streaming.summary(normalization))
