"""OpenFWI-compatible velocity models and shot gathers.

The four families follow OpenFWI's FlatVel, CurveVel, FlatFault and CurveFault (Deng et al., OpenFWI,
NeurIPS 2022 datasets track): 2-5 blocky layers whose velocity generally grows with depth, optionally
bent by smooth sine curves and cut by one or two dipping faults. ``simulate`` records them with
OpenFWI's acquisition: 2D acoustic finite differences, 15 Hz Ricker, 5 shots into 70 receivers,
1000 samples at 1 ms, absorbing boundaries on all four sides (OpenFWI has no free surface).

One geometric idea builds every family: each grid point has a *stratigraphic depth*, its depth minus
the fold and fault displacements at that point, and the layer is looked up from that depth. Layers
therefore never cross, and a fault moves every layer of its hanging wall by the same throw.
"""

from dataclasses import dataclass

import numpy as np

from seiscli.errors import MissingDependencyError

FAMILIES = ("flat", "curved", "flat-fault", "curved-fault")  # OpenFWI's FlatVel, CurveVel, FlatFault, CurveFault

# Layering, as fractions of the model depth. Interfaces stay inside [TOP, BOTTOM] even after the fold
# moves them by up to FOLD_AMPLITUDE, so every interface is visible and a fault always offsets one.
INTERFACE_TOP, INTERFACE_BOTTOM, MIN_THICKNESS = 0.14, 0.85, 0.06
FOLD_AMPLITUDE = 0.12
# Folds stay gentler than 45 degrees (in cells per column) so that steep offsets come from faults only.
MAX_FOLD_SLOPE = 0.8
FAULT_DIP_DEGREES = (60.0, 80.0)
FAULT_THROW = (0.06, 0.15)  # fraction of the depth; the sign (normal or reverse) is random
FAULT_SPACING = 0.15  # minimum distance between two faults, as a fraction of the width
MIN_CONTRAST = 0.05  # adjacent layers differ by at least this fraction of vmax - vmin
LOW_VELOCITY_LAYER_PROBABILITY = 0.25  # chance that two deeper layers swap, as in OpenFWI's "B" sets

# OpenFWI's dataset_config.json puts sources and receivers at sz = gz = 10 m: one cell below the top.
SURFACE_ROW = 1
PML_WIDTH = 20  # cells on every side; edge echoes measured at <= 0.1 % of the record peak (1500-4500 m/s)
FD_ACCURACY = 4  # spatial order; 6 and 8 cost ~40 % more on a 70 x 70 grid
# deepwave's default Courant number (0.6) would halve its time step for 4500 m/s at dt = 1 ms, dx = 10 m
# (Courant 0.64) and resample sources and receivers by FFT. The 4th-order scheme is stable up to 0.87,
# so stepping at the user's dt directly is safe and twice as fast (measured 0.22 -> 0.12 s per record).
COURANT_NUMBER = 0.8


@dataclass(frozen=True)
class Acquisition:
    """OpenFWI's surface acquisition; sources and receivers both at ``SURFACE_ROW``.

    Sources are spread evenly over the surface, ends included (x = 0, 17, 34, 52, 69 on a 70-wide grid);
    receivers sit on every surface grid point, or are spread evenly when ``n_receivers`` != width.
    """

    n_shots: int = 5
    n_receivers: int = 70
    peak_frequency: float = 15.0  # Hz, Ricker
    dt: float = 0.001  # s
    n_time: int = 1000
    dx: float = 10.0  # m, grid spacing

    def __post_init__(self):
        if min(self.n_shots, self.n_receivers, self.n_time) < 1:
            raise ValueError("n_shots, n_receivers and n_time must be at least 1")
        if min(self.peak_frequency, self.dt, self.dx) <= 0:
            raise ValueError("peak_frequency, dt and dx must be positive")


def velocity_model(
    family: str,
    rng: np.random.Generator,
    shape: tuple[int, int] = (70, 70),
    vmin: float = 1500.0,
    vmax: float = 4500.0,
) -> np.ndarray:
    """A random OpenFWI-style velocity model, float32 (depth, x) in m/s within [vmin, vmax]."""
    if family not in FAMILIES:
        raise ValueError(f"unknown velocity family {family!r}; choose one of {', '.join(FAMILIES)}")
    if not 0 < vmin < vmax:
        raise ValueError(f"need 0 < vmin < vmax, got vmin={vmin}, vmax={vmax}")
    height, width = shape
    if height < 8 or width < 2:
        raise ValueError(f"shape {shape} is too small for 2-5 layers; use at least 8 rows and 2 columns")
    n_layers = int(rng.integers(2, 6))
    interfaces = _interface_depths(rng, n_layers, height)  # (L-1,) in cells
    velocities = _layer_velocities(rng, n_layers, vmin, vmax)  # (L,)
    depth = np.arange(height, dtype=np.float64)[:, None]  # (H, 1)
    displacement = np.zeros((height, width))  # (H, W) downward shift of the layering, in cells
    if family.startswith("curved"):
        displacement += _fold(rng, height, width)[None, :]
    if family.endswith("fault"):
        displacement += _faults(rng, height, width)
    layer = np.searchsorted(interfaces, depth - displacement, side="right")  # (H, W) layer index
    return velocities[layer].astype(np.float32)


def _spaced_sorted(rng: np.random.Generator, n: int, low: float, high: float, min_gap: float) -> np.ndarray:
    """``n`` ascending uniform values in [low, high], neighbours at least ``min_gap`` apart."""
    # Draw in the range left over after reserving the gaps, then add the gaps back.
    slack = (high - low) - (n - 1) * min_gap
    return low + np.sort(rng.uniform(0.0, slack, n)) + min_gap * np.arange(n)


def _interface_depths(rng: np.random.Generator, n_layers: int, height: int) -> np.ndarray:
    """Depths (cells) of the ``n_layers - 1`` interfaces, top to bottom."""
    return _spaced_sorted(rng, n_layers - 1, INTERFACE_TOP * height, INTERFACE_BOTTOM * height, MIN_THICKNESS * height)


def _layer_velocities(rng: np.random.Generator, n_layers: int, vmin: float, vmax: float) -> np.ndarray:
    """Layer velocities, increasing with depth but for an occasional deeper low-velocity layer."""
    velocities = _spaced_sorted(rng, n_layers, vmin, vmax, MIN_CONTRAST * (vmax - vmin))
    if n_layers >= 3 and rng.random() < LOW_VELOCITY_LAYER_PROBABILITY:
        below = int(rng.integers(1, n_layers - 1))  # a slow layer under faster rock; the top stays slowest
        velocities[[below, below + 1]] = velocities[[below + 1, below]]
    return np.clip(velocities, vmin, vmax)  # the spacing arithmetic may overshoot by a rounding error


def _fold(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(W,) downward displacement of the layers, a sum of two random sines, as in CurveVel."""
    x = np.arange(width, dtype=np.float64)
    amplitude = 0.5 * FOLD_AMPLITUDE * height * rng.uniform(0.3, 1.0, 2)  # (2,) their sum <= FOLD_AMPLITUDE
    wavelength = width * rng.uniform(0.8, 2.0, 2)  # (2,)
    phase = rng.uniform(0.0, 2.0 * np.pi, 2)  # (2,)
    fold = (amplitude[:, None] * np.sin(2.0 * np.pi * x[None, :] / wavelength[:, None] + phase[:, None])).sum(0)
    steepest = np.abs(np.diff(fold)).max(initial=0.0)
    return fold * min(1.0, MAX_FOLD_SLOPE / steepest) if steepest > 0 else fold


def _faults(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(H, W) displacement by one or two planar faults: each moves its hanging wall by its own throw."""
    # The faults share dip and direction: parallel planes never cross, so no block is cut twice and
    # every fault offsets the layering by its full throw along its whole length.
    n_faults = int(rng.integers(1, 3))
    dip = np.deg2rad(rng.uniform(*FAULT_DIP_DEGREES))
    direction = rng.choice((-1.0, 1.0))  # the planes deepen towards +x or towards -x
    # Where each plane crosses mid-depth; kept central so that a plane stays inside the model.
    centres = _spaced_sorted(rng, n_faults, 0.3 * width, 0.7 * width, FAULT_SPACING * width)  # (F,)
    throws = height * rng.uniform(*FAULT_THROW, n_faults) * rng.choice((-1.0, 1.0), n_faults)  # (F,) > 0 normal
    z = np.arange(height, dtype=np.float64)[None, :, None]  # (1, H, 1)
    x = np.arange(width, dtype=np.float64)[None, None, :]  # (1, 1, W)
    plane_x = centres[:, None, None] + direction * (z - 0.5 * height) / np.tan(dip)  # (F, H, 1)
    hanging_wall = direction * (x - plane_x) > 0  # (F, H, W) the block above each dipping plane
    return (throws[:, None, None] * hanging_wall).sum(0)  # (H, W)


def simulate(velocity: np.ndarray, acquisition: Acquisition = Acquisition()) -> np.ndarray:
    """Shot gathers of one model (H, W) or a batch (N, H, W): float32 (N, n_shots, n_time, n_receivers).

    2D acoustic finite differences with deepwave on the CPU, one model per call so that each record
    depends on its own model only (deepwave sizes the PML and time step from the model's maximum).
    deepwave runs with torch's current thread settings, which this function leaves alone: callers that
    simulate in several worker processes should call ``torch.set_num_threads(1)`` in each worker.
    """
    torch, deepwave = _import_deepwave()
    models = np.asarray(velocity, dtype=np.float32)
    models = models[None] if models.ndim == 2 else models  # (N, H, W)
    _check_models(models, acquisition)
    sources, receivers = _survey(torch, acquisition, models.shape[2])  # (S, 1, 2), (S, R, 2)
    a = acquisition
    wavelet = deepwave.wavelets.ricker(
        a.peak_frequency, a.n_time, a.dt, peak_time=1.5 / a.peak_frequency, shape=(a.n_shots, 1)
    )  # (S, 1, T); the 1.5 / f delay lets the wavelet start from ~zero instead of mid-swing
    gathers = np.empty((len(models), a.n_shots, a.n_time, a.n_receivers), dtype=np.float32)  # (N, S, T, R)
    with torch.no_grad():
        for gather, model in zip(gathers, models):
            out = deepwave.scalar(
                torch.from_numpy(model),
                a.dx,
                a.dt,
                source_amplitudes=wavelet,
                source_locations=sources,
                receiver_locations=receivers,
                accuracy=FD_ACCURACY,
                pml_width=PML_WIDTH,
                boundary="pml",
                pml_freq=a.peak_frequency,
                courant_number=COURANT_NUMBER,
            )
            gather[...] = out.receiver_amplitudes.transpose(1, 2).numpy()  # (S, R, T) -> (S, T, R)
    return gathers


def _import_deepwave():
    try:
        import deepwave
        import torch
    except ImportError as exc:
        raise MissingDependencyError(
            f"shot-gather simulation needs torch and deepwave ({exc})", "pip install torch deepwave"
        ) from exc
    return torch, deepwave


def _check_models(models: np.ndarray, acquisition: Acquisition) -> None:
    if models.ndim != 3:
        raise ValueError(f"velocity must be (H, W) or (N, H, W), got shape {models.shape}")
    if not (np.isfinite(models).all() and (models > 0).all()):
        raise ValueError("velocity must be finite and positive everywhere")
    height, width = models.shape[1:]
    if height <= SURFACE_ROW or max(acquisition.n_shots, acquisition.n_receivers) > width:
        raise ValueError(
            f"a {height} x {width} model cannot hold {acquisition.n_shots} shots and "
            f"{acquisition.n_receivers} receivers on distinct surface cells"
        )


def _survey(torch, acquisition: Acquisition, width: int):
    """(depth, x) cells of sources (S, 1, 2) and receivers (S, R, 2), all on ``SURFACE_ROW``."""
    # np.rint rounds halves to even, which reproduces OpenFWI's x = 0, 17, 34, 52, 69 for 5 shots on 70.
    source_x = np.rint(np.linspace(0, width - 1, acquisition.n_shots)).astype(np.int64)  # (S,)
    receiver_x = np.rint(np.linspace(0, width - 1, acquisition.n_receivers)).astype(np.int64)  # (R,)
    sources = torch.full((acquisition.n_shots, 1, 2), SURFACE_ROW, dtype=torch.long)  # (S, 1, 2)
    sources[:, 0, 1] = torch.from_numpy(source_x)
    receivers = torch.full((acquisition.n_shots, acquisition.n_receivers, 2), SURFACE_ROW, dtype=torch.long)
    receivers[:, :, 1] = torch.from_numpy(receiver_x)[None, :]  # (S, R) every shot uses the same spread
    return sources, receivers
