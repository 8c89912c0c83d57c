"""On-the-fly augmentations of one training sample: the input and its target move together.

A sample is ``x`` (C, H, W) or (C, D, H, W); its target ``y`` holds class ids (H, W) / (D, H, W)
or values (1, H, W) / (1, D, H, W). One spatial axis may be time or depth (``vertical_axis``):
the first by default, as in sections (sample, lateral), image tiles and ``seis synth fwi`` (shots
(S, T, R), velocity (1, depth, x)); the last in cubes (inline, crossline, sample); none in time
slices. That axis is never flipped or shifted: a time-reversed wavelet or an upside-down velocity
model is not geology. Only the lateral axes are mirrored and shifted, identically in ``x`` and
``y``; gain and noise touch ``x`` alone. Zoom stretches every spatial axis by one factor, time
included: a stretched trace is the same geology at another velocity and frequency.

Elastic deformation is left out on purpose: a smooth random warp needs a filtered displacement
field and an interpolation of every voxel, which is not cheap without scipy (not a dependency), and
on a velocity pair it would break the physics linking the shot gathers to the model.

Augmentations never modify their inputs in place: the loader may hand in cached arrays.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from seiscli.config.augment import AugmentConfig


@dataclass(frozen=True)
class Augment:
    """Random lateral flips and shifts, gain and noise; call as ``augment(x, y, rng)``."""

    config: AugmentConfig = field(default_factory=AugmentConfig)
    # FWI: the channels are shots spread evenly along the lateral axis (OpenFWI, seis synth fwi),
    # so mirroring the model mirrors the spread too: shot k becomes shot S-1-k.
    mirror_channels: bool = False
    vertical_axis: int | None = 0  # time/depth, as an index among the spatial axes; None: no such axis

    @classmethod
    def for_task(cls, task: str, config: AugmentConfig | None = None) -> "Augment":
        """The augmentations that keep a sample of ``task`` a valid pair."""
        config = config or AugmentConfig()
        if task == "velocity":
            # The sources stay where they were fired: shifting the receivers is no longer the same survey.
            # Nor is a zoomed record: time, offsets and velocities would no longer agree.
            return cls(config.model_copy(update={"shift": 0.0, "zoom": 0.0}), mirror_channels=True)
        return cls(config)

    def __call__(
        self, x: np.ndarray, y: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None]:
        cfg = self.config
        lateral = _lateral_axes(x, y, self.vertical_axis)
        if cfg.shift and y is not None and any(x.shape[a] != y.shape[a] for a in lateral):
            raise ValueError(f"shifts need x and y on one lateral grid, got {x.shape} and {y.shape}")
        for axis in lateral:
            if rng.random() < cfg.flip:
                x, y = self._mirror(x, axis), None if y is None else np.flip(y, axis)
        for axis in lateral:
            if rng.random() < cfg.shift and cfg.max_shift:
                pixels = int(rng.integers(-cfg.max_shift, cfg.max_shift + 1))
                x, y = _shift(x, axis, pixels), None if y is None else _shift(y, axis, pixels)
        if rng.random() < cfg.zoom:
            factor = _log_uniform(rng, cfg.zoom_range)
            spatial = x.ndim - 1
            x, y = _zoom(x, factor, spatial), None if y is None else _zoom(y, factor, spatial)
        if rng.random() < cfg.gain:
            x = x * np.float32(_log_uniform(rng, cfg.gain_range))
        if rng.random() < cfg.noise:
            sigma = np.float32(cfg.noise_std * float(x.std()))
            x = x + sigma * rng.standard_normal(x.shape, dtype=np.float32)
        return x, y

    def _mirror(self, x: np.ndarray, axis: int) -> np.ndarray:
        x = np.flip(x, axis)
        return np.flip(x, 0) if self.mirror_channels else x


def _lateral_axes(x: np.ndarray, y: np.ndarray | None, vertical: int | None) -> list[int]:
    """The spatial axes but ``vertical``, as negative indices: valid in ``x`` and ``y`` alike (y may lack C)."""
    spatial = x.ndim - 1  # (C, H, W): 2; (C, D, H, W): 3
    if spatial not in (2, 3):
        raise ValueError(f"expected a sample (C, H, W) or (C, D, H, W), got shape {x.shape}")
    if y is not None and y.ndim not in (spatial, spatial + 1):
        raise ValueError(f"target shape {y.shape} does not match sample shape {x.shape}")
    axes = list(range(-spatial, 0))
    if vertical is not None:
        del axes[vertical]
    return axes


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _zoom(a: np.ndarray, factor: float, spatial: int) -> np.ndarray:
    """``a`` magnified ``factor`` times about the centre of its last ``spatial`` axes, same shape.

    Floats are interpolated linearly; integers (class ids) take the nearest value, so they stay
    valid. Beyond the edges the edge value repeats, as in ``_shift``.
    """
    linear = np.issubdtype(a.dtype, np.floating)
    for axis in range(-spatial, 0):
        n = a.shape[axis]
        source = np.clip((np.arange(n) - (n - 1) / 2) / factor + (n - 1) / 2, 0, n - 1)  # (n,)
        if not linear:
            a = np.take(a, np.rint(source).astype(np.intp), axis=axis)
            continue
        below = np.floor(source).astype(np.intp)
        above = np.minimum(below + 1, n - 1)
        weight = (source - below).astype(np.float32).reshape([n] + [1] * (-axis - 1))
        a = np.take(a, below, axis=axis) * (1 - weight) + np.take(a, above, axis=axis) * weight
    return a


def _shift(a: np.ndarray, axis: int, pixels: int) -> np.ndarray:
    """``a`` moved ``pixels`` along ``axis``, the edge column repeated into the gap.

    Repeating the edge keeps class ids valid and the section continuous, where a roll would
    wrap one side's geology onto the other.
    """
    n = a.shape[axis]
    return np.take(a, np.clip(np.arange(n) - pixels, 0, n - 1), axis=axis)
