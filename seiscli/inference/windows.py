"""Sliding-window arithmetic: pure functions on shapes, tested with numbers.

A volume is indexed (inline, crossline, sample); a 2D line is (1, cdp, sample). Every window is a
box in those three axes: a section along inline is (1, W, H) (one inline, W crosslines, H samples),
a cube is (D, H, W). The window grid is global (its starts depend only on the axis length, the
window and the overlap), so the prediction of a voxel does not depend on how the volume is chunked.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

BLENDS = ("gaussian", "hann", "constant")
MIN_WEIGHT = 1e-3  # the floor of every blending weight: each voxel keeps a positive total weight
ORIENTATIONS = ("inline", "crossline", "sample", "cube")


def window_starts(length: int, window: int, overlap: float) -> np.ndarray:
    """Starts of windows of ``window`` covering ``[0, length)``, consecutive ones sharing ``overlap``
    of a window; the last is moved back to end flush with the axis. An axis shorter than the window
    gets one window at 0 (the read is padded to the window)."""
    if window < 1 or length < 1:
        raise ValueError(f"window ({window}) and axis length ({length}) must be positive")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    if length <= window:
        return np.zeros(1, np.int64)
    step = max(1, int(round(window * (1 - overlap))))
    starts = np.arange(0, length - window + 1, step)
    if starts[-1] != length - window:
        starts = np.append(starts, length - window)
    return starts


def blend_weights(window: int, blend: str) -> np.ndarray:
    """(window,) float32 weights of one axis, peaking at the centre, never below ``MIN_WEIGHT``.

    ``gaussian``: sigma = window / 8 (as nnU-Net and MONAI); ``hann``: the Hann window sampled at pixel
    centres; ``constant``: all ones (a plain average of the overlapping windows).
    """
    if blend not in BLENDS:
        raise ValueError(f"unknown blend {blend!r}; choose from {', '.join(BLENDS)}")
    if blend == "constant" or window == 1:
        return np.ones(window, np.float32)
    centres = np.arange(window) + 0.5  # pixel centres in [0, window]
    if blend == "gaussian":
        sigma = window / 8
        weights = np.exp(-0.5 * ((centres - window / 2) / sigma) ** 2)
    else:
        weights = 0.5 - 0.5 * np.cos(2 * np.pi * centres / window)
    return np.maximum(weights / weights.max(), MIN_WEIGHT).astype(np.float32)


def box_weights(box: tuple[int, int, int], blend: str) -> np.ndarray:
    """(I, X, T) weights of one window box: the outer product of each axis' weights."""
    wi, wx, wt = (blend_weights(n, blend) for n in box)
    return wi[:, None, None] * wx[None, :, None] * wt[None, None, :]  # (I, X, T)


@dataclass(frozen=True)
class WindowLayout:
    """How the model sees a window: its box in (inline, crossline, sample) and the axis order of its input.

    ``order`` lists the volume axes in the model's input order: a section along inline is
    (sample, crossline) = (2, 1), as preprocess cuts it; a time slice (inline, crossline) = (0, 1);
    a cube (inline, crossline, sample) = (0, 1, 2).
    """

    orientation: str
    box: tuple[int, int, int]
    order: tuple[int, ...]

    @classmethod
    def make(cls, orientation: str, size: tuple[int, ...]) -> "WindowLayout":
        """The layout of windows of the model's ``size`` ((H, W) sections or (D, H, W) cubes)."""
        if orientation == "cube":
            if len(size) != 3:
                raise ValueError(f"cubes need a DxHxW size, got {size}")
            return cls(orientation, tuple(size), (0, 1, 2))
        if len(size) != 2:
            raise ValueError(f"sections need an HxW size, got {size}")
        height, width = size
        box, order = {
            "inline": ((1, width, height), (2, 1)),
            "crossline": ((width, 1, height), (2, 0)),
            "sample": ((height, width, 1), (0, 1)),
        }[orientation]
        return cls(orientation, box, order)

    @property
    def dropped_axis(self) -> int | None:
        """The volume axis a section runs along (absent from the model's input); None for cubes."""
        missing = set(range(3)) - set(self.order)
        return missing.pop() if missing else None

    def to_model(self, boxes: np.ndarray) -> np.ndarray:
        """(B, C, I, X, T) window boxes -> (B, C, *model spatial axes) model inputs."""
        if self.dropped_axis is not None:
            boxes = np.take(boxes, 0, axis=2 + self.dropped_axis)  # (B, C, two remaining axes)
            remaining = [a for a in range(3) if a != self.dropped_axis]
            order = [remaining.index(a) for a in self.order]
        else:
            order = list(self.order)
        return boxes.transpose(0, 1, *(2 + a for a in order))

    def from_model(self, maps: np.ndarray) -> np.ndarray:
        """(B, K, *model spatial axes) outputs -> (B, K, I, X, T) window boxes."""
        if self.dropped_axis is None:
            return maps.transpose(0, 1, *(2 + self.order.index(a) for a in range(3)))
        remaining = [a for a in range(3) if a != self.dropped_axis]
        back = maps.transpose(0, 1, *(2 + self.order.index(a) for a in remaining))  # (B, K, remaining axes)
        return np.expand_dims(back, 2 + self.dropped_axis)


def axis_starts(shape: tuple[int, int, int], layout: WindowLayout, overlap: float) -> list[np.ndarray]:
    """Global window starts along each volume axis (every line along a section's own axis)."""
    return [window_starts(n, w, overlap) if w > 1 else np.arange(n) for n, w in zip(shape, layout.box)]


def touching(starts: np.ndarray, window: int, lo: int, hi: int) -> np.ndarray:
    """The starts whose window [s, s + window) meets [lo, hi)."""
    return starts[(starts < hi) & (starts + window > lo)]


def work_chunks(shape: tuple[int, ...], store_chunks: tuple[int, ...], box: tuple[int, ...]) -> tuple[int, ...]:
    """Chunks of the prediction: the volume's chunks, grown by whole multiples to at least two windows
    along each windowed axis (windows straddling a chunk edge run once per chunk they touch, so small
    chunks would repeat much of the work), never beyond the axis."""
    grown = []
    for n, chunk, window in zip(shape, store_chunks, box):
        factor = 1 if window == 1 else -(-2 * window // chunk)
        grown.append(min(n, max(1, chunk * factor)))
    return tuple(grown)


def chunk_grid(shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Number of chunks along each axis."""
    return tuple(-(-n // c) for n, c in zip(shape, chunks))


def chunk_indices(shape: tuple[int, ...], chunks: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every chunk's index, in row-major order."""
    return list(itertools.product(*(range(n) for n in chunk_grid(shape, chunks))))


def chunk_bounds(index: tuple[int, ...], shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[slice, ...]:
    """The slices a chunk covers, clipped at the volume's edge."""
    return tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunks, shape))


def parse_part(text: str) -> tuple[int, int]:
    """``"i/n"`` (0-based i) -> (i, n)."""
    head, sep, tail = text.partition("/")
    try:
        index, count = int(head), int(tail)
    except ValueError:
        raise ValueError(f"part {text!r} must be i/n, such as 0/4") from None
    if not sep or count < 1 or not 0 <= index < count:
        raise ValueError(f"part {text!r} must be i/n with 0 <= i < n, such as 0/4 (parts count from 0)")
    return index, count


def part_of(indices: list[tuple[int, ...]], part: tuple[int, int]) -> list[tuple[int, ...]]:
    """Every n-th chunk, starting at the i-th: the share of process i of n."""
    index, count = part
    return indices[index::count]


def batched(items: list, size: int) -> Iterator[list]:
    """Consecutive lists of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
