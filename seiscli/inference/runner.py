"""Stream a volume through a model, chunk by chunk: memory bounded by a chunk and its halo, never the volume.

For each chunk of the prediction, the windows of the global grid that touch it are read (the chunk
plus a halo, clipped at the volume's edges), normalized as preprocess normalizes, run in batches,
and their outputs blended with the window weights; only the chunk's own part is written, then its
done marker. Reading (a pool of ``workers`` threads, a few chunks ahead), the model (this thread)
and writing (one thread) overlap; queues stay short so memory stays bounded.
"""

import itertools
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from seiscli.data.normalize import Normalization
from seiscli.data.volume_patches import VolumeSource
from seiscli.inference.windows import (
    WindowLayout,
    axis_starts,
    batched,
    box_weights,
    chunk_bounds,
    touching,
)
from seiscli.progress import Progress, SilentProgress

WRITES_IN_FLIGHT = 2


@dataclass(frozen=True)
class Sweep:
    """What to run over one volume: its source and normalization, the windows, the chunks."""

    source: VolumeSource
    normalization: Normalization
    layout: WindowLayout
    overlap: float
    blend: str
    chunks: tuple[int, int, int]  # prediction chunks in (inline, crossline, sample)
    batch_size: int = 16

    def starts(self) -> list[np.ndarray]:
        return axis_starts(self.source.shape, self.layout, self.overlap)


@dataclass
class SweepStats:
    chunks: int = 0
    windows: int = 0
    bytes_read: int = 0
    seconds: float = 0.0


@dataclass
class Region:
    """The normalized samples a chunk's windows need: ``data`` (I, X, T) starting at ``origin``."""

    index: tuple[int, int, int]
    origin: tuple[int, int, int]
    data: np.ndarray
    windows: list[tuple[int, int, int]]


def read_region(sweep: Sweep, starts: list[np.ndarray], index: tuple[int, int, int]) -> Region:
    """The chunk's halo region, normalized, padded by mirroring where an axis is shorter than the window."""
    bounds = chunk_bounds(index, sweep.source.shape, sweep.chunks)
    near = [touching(s, w, b.start, b.stop) for s, w, b in zip(starts, sweep.layout.box, bounds)]
    lo = tuple(int(s[0]) for s in near)
    hi = tuple(min(int(s[-1]) + w, n) for s, w, n in zip(near, sweep.layout.box, sweep.source.shape))
    data = _normalized(sweep, lo, hi)  # (I, X, T)
    short = [(0, max(w - (b - a), 0)) for a, b, w in zip(lo, hi, sweep.layout.box)]
    if any(after for _, after in short):
        data = np.pad(data, short, mode="reflect" if min(data.shape) > 1 else "edge")
    return Region(index, lo, data, list(itertools.product(*(s.tolist() for s in near))))


def _normalized(sweep: Sweep, lo: tuple[int, ...], hi: tuple[int, ...]) -> np.ndarray:
    """Samples [lo, hi) normalized; AGC reads half its window more along time so that edges match."""
    method, n_t = sweep.normalization.method, sweep.source.shape[2]
    margin = sweep.normalization.agc_window // 2 + 1 if method == "agc" else 0
    t0, t1 = max(0, lo[2] - margin), min(n_t, hi[2] + margin)
    raw = sweep.source.read(slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(t0, t1))  # (I, X, T + margins)
    raw = np.nan_to_num(raw, nan=0.0, posinf=0.0, neginf=0.0)  # chunks never written hold the NaN fill
    return sweep.normalization.apply(raw, time_axis=-1)[:, :, lo[2] - t0 : hi[2] - t0]


def blend_region(sweep: Sweep, region: Region, predict: Callable[[np.ndarray], np.ndarray], channels: int
                 ) -> np.ndarray:  # fmt: skip
    """Blended maps (K, I, X, T) over the chunk: every touching window predicted, weighted and averaged."""
    bounds = chunk_bounds(region.index, sweep.source.shape, sweep.chunks)
    shape = tuple(b.stop - b.start for b in bounds)
    total = np.zeros((channels, *shape), np.float32)  # (K, I, X, T)
    weight_sum = np.zeros(shape, np.float32)  # (I, X, T)
    weights = box_weights(sweep.layout.box, sweep.blend)  # (wi, wx, wt)
    for batch in batched(region.windows, sweep.batch_size):
        boxes = np.stack([region.data[_local(start, region.origin, sweep.layout.box)] for start in batch])
        maps = sweep.layout.from_model(predict(sweep.layout.to_model(boxes[:, None])))  # (B, K, wi, wx, wt)
        for start, window_maps in zip(batch, maps):
            inside, part = _overlap(start, sweep.layout.box, bounds)
            total[(slice(None), *inside)] += window_maps[(slice(None), *part)] * weights[part]
            weight_sum[inside] += weights[part]
    return total / weight_sum


def _local(start: tuple[int, ...], origin: tuple[int, ...], box: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(s - o, s - o + w) for s, o, w in zip(start, origin, box))


def _overlap(start: tuple[int, ...], box: tuple[int, ...], bounds: tuple[slice, ...]):
    """(slices in the chunk, slices in the window) of the part of a window inside the chunk."""
    inside, part = [], []
    for s, w, b in zip(start, box, bounds):
        a, z = max(s, b.start), min(s + w, b.stop)
        inside.append(slice(a - b.start, z - b.start))
        part.append(slice(a - s, z - s))
    return tuple(inside), tuple(part)


def run_sweep(sweep: Sweep, todo: list[tuple[int, int, int]], predict: Callable[[np.ndarray], np.ndarray],
              channels: int, finish: Callable[[np.ndarray], list[np.ndarray]],
              write: Callable[[tuple[int, ...], tuple[slice, ...], list[np.ndarray]], None],
              workers: int = 1, progress: Progress | None = None) -> SweepStats:  # fmt: skip
    """Predict and write every chunk of ``todo``; ``write(index, bounds, arrays)`` marks it done after writing."""
    progress = progress or SilentProgress()
    stats, started = SweepStats(), time.perf_counter()
    starts = sweep.starts()
    progress.start("predicting chunks", len(todo))
    with ThreadPoolExecutor(max(workers, 1), "seis-read") as readers, ThreadPoolExecutor(1, "seis-write") as writer:
        reads = deque(readers.submit(read_region, sweep, starts, index) for index in todo[: workers + 1])
        queued, writes = iter(todo[workers + 1 :]), deque()
        try:
            while reads:
                region = reads.popleft().result()
                reads.extend(readers.submit(read_region, sweep, starts, i) for i in itertools.islice(queued, 1))
                values = finish(blend_region(sweep, region, predict, channels))
                values = _dead_traces_zero(sweep.source, region.index, sweep.chunks, values)
                bounds = chunk_bounds(region.index, sweep.source.shape, sweep.chunks)
                writes.append(writer.submit(write, region.index, bounds, values))
                stats.windows += len(region.windows)
                stats.bytes_read += region.data.nbytes
                _settle(writes, WRITES_IN_FLIGHT, stats, progress)
            _settle(writes, 0, stats, progress)
        except BaseException:
            for future in reads:
                future.cancel()
            for future in writes:  # chunks already handed to the writer are finished and marked
                future.exception()
            raise
    stats.seconds = time.perf_counter() - started
    return stats


def _settle(writes: deque[Future], keep: int, stats: SweepStats, progress: Progress) -> None:
    while len(writes) > keep:
        writes.popleft().result()
        stats.chunks += 1
        progress.advance()


def _dead_traces_zero(source: VolumeSource, index: tuple[int, ...], chunks: tuple[int, ...],
                      values: list[np.ndarray]) -> list[np.ndarray]:  # fmt: skip
    bounds = chunk_bounds(index, source.shape, chunks)
    dead = ~source.mask[bounds[0], bounds[1]]  # (I, X)
    if dead.any():
        for array in values:
            array[dead] = 0
    return values
