"""Patch geometry and leak-free splits: pure arithmetic on volume shapes, tested with numbers.

A volume is indexed (inline, crossline, sample); a 2D line is the volume (1, cdp, sample).
2D patches are sections: an inline or crossline section is (H, W) = (sample, lateral), a time
slice is (inline, crossline). A 3D patch is a cube (inline, crossline, sample).
"""

from dataclasses import dataclass

import numpy as np

AXES = ("inline", "crossline", "sample", "cube")
DROPPED = 255  # split code of a patch that straddles a split boundary or its gap


@dataclass(frozen=True)
class PatchPlan:
    """Which patches to cut: orientation, size and stride."""

    axis: str
    size: tuple[int, ...]  # (H, W), or (D, H, W) for cubes
    stride: tuple[int, ...]

    @property
    def code(self) -> int:
        return AXES.index(self.axis)


def starts(length: int, size: int, stride: int) -> np.ndarray:
    """Patch starts along one axis: every ``stride``, the last moved back to end at ``length``."""
    if size > length:
        raise ValueError(f"patch size {size} is larger than the axis ({length})")
    positions = np.arange(0, length - size + 1, stride)
    if positions[-1] != length - size:
        positions = np.append(positions, length - size)
    return positions


def _grid(*axes: np.ndarray) -> np.ndarray:
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def patch_corners(shape: tuple[int, int, int], plan: PatchPlan) -> np.ndarray:
    """(K, 3) corners (inline, crossline, sample) of every patch, in reading order."""
    n_i, n_x, n_t = shape
    if plan.axis == "cube":
        depth, height, width = plan.size
        return _grid(*(starts(n, s, st) for n, s, st in zip(shape, plan.size, plan.stride)))
    (height, width), (step_h, step_w) = plan.size, plan.stride
    if plan.axis == "inline":  # section over (crossline, sample) at every inline
        return _grid(np.arange(n_i), starts(n_x, width, step_w), starts(n_t, height, step_h))
    if plan.axis == "crossline":
        corners = _grid(np.arange(n_x), starts(n_i, width, step_w), starts(n_t, height, step_h))
        return corners[:, [1, 0, 2]]
    corners = _grid(np.arange(n_t), starts(n_i, height, step_h), starts(n_x, width, step_w))  # time slices
    return corners[:, [1, 2, 0]]


def footprint(corners: np.ndarray, plan: PatchPlan) -> tuple[np.ndarray, np.ndarray]:
    """Inline and crossline extents of each patch: two (K, 2) arrays of [start, stop)."""
    size_i, size_x = {
        "inline": (1, plan.size[-1]),
        "crossline": (plan.size[-1], 1),
        "sample": plan.size,
        "cube": plan.size[:2],
    }[plan.axis]
    inline = np.stack([corners[:, 0], corners[:, 0] + size_i], axis=1)
    crossline = np.stack([corners[:, 1], corners[:, 1] + size_x], axis=1)
    return inline, crossline


def live_fraction(mask: np.ndarray, inline: np.ndarray, crossline: np.ndarray) -> np.ndarray:
    """Fraction of live traces under each footprint, from an integral image of the trace mask."""
    integral = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    integral[1:, 1:] = mask.astype(np.int64).cumsum(0).cumsum(1)
    (i0, i1), (x0, x1) = inline.T, crossline.T
    live = integral[i1, x1] - integral[i0, x1] - integral[i1, x0] + integral[i0, x0]
    return live / ((i1 - i0) * (x1 - x0))


def blocked_split(extent: np.ndarray, length: int, fractions: tuple[float, float, float], gap: int) -> np.ndarray:
    """Split codes by position along one axis: train, val and test take consecutive blocks of
    ``fractions`` of the axis, ``gap`` lines apart; a patch not wholly inside one block is DROPPED."""
    bounds = np.round(np.cumsum((0.0, *fractions)) * length).astype(int)  # block edges along the axis
    codes = np.full(len(extent), DROPPED, np.uint8)
    for code in range(3):
        lo = bounds[code] + (gap if code > 0 else 0)
        hi = bounds[code + 1]
        inside = (extent[:, 0] >= lo) & (extent[:, 1] <= hi)
        codes[inside & (codes == DROPPED)] = code
    return codes
