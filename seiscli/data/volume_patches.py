"""Cut normalized patches (and their labels) out of a volume store, one slab of lines at a time."""

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from seiscli.data.normalize import Normalization, StreamingStats
from seiscli.data.patches import PatchPlan
from seiscli.errors import ConfigError, GeometryError
from seiscli.storage.labels import open_labels
from seiscli.storage.trace_copy import column_blocks
from seiscli.storage.volume import VolumeStore, open_volume

SLAB_BYTES = 256 << 20  # volume lines read at once: bounds memory whatever the survey size


@dataclass(frozen=True)
class VolumeSource:
    """One volume (and its labels) seen as (inline, crossline, sample); a 2D line is (1, cdp, sample)."""

    path: str
    volume: VolumeStore
    labels: object | None  # the zarr array of the task's labels, co-registered with the volume
    shape: tuple[int, int, int]
    mask: np.ndarray  # (I, X) live traces

    def read(self, sl_i: slice, sl_x: slice, sl_t: slice, labels: bool = False) -> np.ndarray:
        array = self.labels if labels else self.volume.amplitude
        if len(array.shape) == 2:  # (cdp, sample)
            return array[sl_x, sl_t][None][sl_i]
        return array[sl_i, sl_x, sl_t]


def open_source(path: str, labels_path: str | None, task: str | None) -> VolumeSource:
    """Open a volume and its label store, checking they share the same grid coordinates."""
    volume = open_volume(path)
    shape = volume.amplitude.shape
    mask = volume.group["trace_mask"][...]
    shape3 = (1, *shape) if len(shape) == 2 else shape
    labels = _co_registered_labels(volume, labels_path, task) if labels_path else None
    return VolumeSource(path, volume, labels, shape3, mask.reshape(shape3[:2]))


def _co_registered_labels(volume: VolumeStore, labels_path: str, task: str | None):
    store = open_labels(labels_path)
    if task is None or task == "pretrain":
        if len(store.tasks) != 1:
            raise ConfigError(f"{labels_path} holds {', '.join(store.tasks)}: choose one with --task")
        task = store.tasks[0]
    if task not in store.tasks:
        raise ConfigError(f"{labels_path} has no {task!r} labels (it has {', '.join(store.tasks)})")
    if store.dims != volume.dims:
        raise GeometryError(f"labels {labels_path} are over {store.dims}, the volume over {volume.dims}")
    for dim in volume.dims:
        if not np.array_equal(store.coords(dim), volume.coords(dim)):
            raise GeometryError(
                f"labels {labels_path} are not co-registered with {volume.path}: their {dim} coordinates differ",
                "labels must share the volume's inline/crossline/sample values (made for this volume)",
            )
    return store.group[task]


def source_statistics(source: VolumeSource, normalization: Normalization) -> Normalization:
    """The normalization with this volume's statistics: from MDIO's statsV1 when that is enough,
    else one streaming pass over the live traces, a chunk column at a time."""
    if normalization.method in ("agc", "none"):
        return normalization
    stats = source.volume.stats()
    if normalization.method == "zscore" and stats and stats.get("count"):
        mean = stats["sum"] / stats["count"]
        std = float(np.sqrt(max(stats["sumSquares"] / stats["count"] - mean * mean, 0.0)))
        return replace(normalization, stats={"mean": mean, "std": std})
    value_range = (stats["min"], stats["max"]) if stats and stats.get("count") else _value_range(source)
    streaming = StreamingStats(value_range if value_range[1] > value_range[0] else (value_range[0], value_range[0] + 1))
    for block in column_blocks(source.shape[:2], (64, 256)):
        live = source.mask[block]
        if live.any():
            streaming.add(source.read(block[0], block[1], slice(None))[live])
    return replace(normalization, stats=streaming.summary(normalization))


def _value_range(source: VolumeSource) -> tuple[float, float]:
    low, high = np.inf, -np.inf
    for block in column_blocks(source.shape[:2], (64, 64)):
        values = source.read(block[0], block[1], slice(None))
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    return low, high


def _slab_lines(source: VolumeSource, axis: int) -> int:
    per_line = 4 * int(np.prod(source.shape)) // source.shape[axis]
    return max(1, SLAB_BYTES // max(per_line, 1))


def cut_patches(source: VolumeSource, plan: PatchPlan, corners: np.ndarray, normalization: Normalization
                ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:  # fmt: skip
    """(x (C, ...) float32, y or None) for every corner, in order, reading one slab of lines at a time."""
    axis = {"inline": 0, "crossline": 1, "sample": 2, "cube": 0}[plan.axis]
    thickness = plan.size[0] if plan.axis == "cube" else 1
    lines = max(_slab_lines(source, axis), thickness)
    first = 0
    while first < len(corners):
        start = int(corners[first, axis])
        stop = min(start + lines, source.shape[axis])
        last = first + int(np.searchsorted(corners[first:, axis], stop - thickness, side="right"))
        last = max(last, first + 1)
        stop = max(stop, int(corners[last - 1, axis]) + thickness)
        x_slab = _read_slab(source, axis, start, stop, normalization)
        y_slab = _read_slab(source, axis, start, stop, None) if source.labels is not None else None
        for corner in corners[first:last]:
            local = corner.copy()
            local[axis] -= start
            yield _cut(x_slab, local, plan)[None], (_cut(y_slab, local, plan) if y_slab is not None else None)
        first = last


def _read_slab(source: VolumeSource, axis: int, start: int, stop: int, normalization: Normalization | None):
    if normalization is None:
        bounds = [slice(None)] * 3
        bounds[axis] = slice(start, stop)
        return source.read(*bounds, labels=True)
    margin = normalization.agc_window if normalization.method == "agc" and axis == 2 else 0
    lo, hi = max(0, start - margin), min(source.shape[2] if axis == 2 else source.shape[axis], stop + margin)
    bounds = [slice(None)] * 3
    bounds[axis] = slice(lo, hi)
    slab = normalization.apply(source.read(*bounds), time_axis=-1)  # (lines or I, X, T)
    crop = [slice(None)] * 3
    crop[axis] = slice(start - lo, start - lo + stop - start)
    return slab[tuple(crop)]


def _cut(slab: np.ndarray, corner: np.ndarray, plan: PatchPlan) -> np.ndarray:
    i, x, t = (int(v) for v in corner)
    if plan.axis == "cube":
        d, h, w = plan.size
        return slab[i : i + d, x : x + h, t : t + w]
    h, w = plan.size
    if plan.axis == "inline":
        return slab[i, x : x + w, t : t + h].T  # (sample, crossline)
    if plan.axis == "crossline":
        return slab[i : i + w, x, t : t + h].T  # (sample, inline)
    return slab[i : i + h, x : x + w, t]  # (inline, crossline)
