"""Synthetic post-stack seismic with faithful labels: layered geology, folded, faulted, salt intruded.

The recipe of FaultSeg3D (Wu et al. 2019, Geophysics 84(3)): a flat layered model is folded by
vertical shifts growing with time, sheared by a planar dip, then cut by planar faults. Every
deformation is written as its inverse, so each output voxel is traced back to the point of the flat
model it came from. That one mapping gives the impedance, the relative geologic time (RGT), the
facies and the fault label, so labels cannot drift from the seismic. Salt intrudes last, in
present-day coordinates, and drags the layers up around it.
Lengths are in voxels (inline, crossline, time sample); dips are measured in that voxel space.
"""

from dataclasses import asdict, dataclass

import numpy as np

from seiscli.synth.seismic import coloured_noise, convolve_time, reflectivity, ricker, unit_rms, wavelet_length

KINDS = ("faults", "salt", "facies")
SAMPLE_INTERVAL_MS = 4.0
SALT_IMPEDANCE = 4500.0 * 2.16  # velocity (m/s) x density (g/cm3): faster than any sediment here
MIN_THROW = 0.5  # samples: a smaller displacement is invisible, so it is not labelled a fault
FAULT_COUNTS = {"faults": (1, 6), "salt": (0, 1), "facies": (0, 3)}
GROUP_COUNTS = {"faults": (2, 5), "salt": (2, 5), "facies": (4, 8)}


@dataclass(frozen=True)
class Bump:
    """A Gaussian fold: inverse vertical shift ``amplitude * t / T`` at its centre (> 0: layers appear deeper)."""

    center: tuple[float, float]  # (inline, crossline)
    sigma: float
    amplitude: float  # samples, at the last time sample


@dataclass(frozen=True)
class Fault:
    """A planar fault; the hanging wall (the block above the plane) slides along the dip direction."""

    center: tuple[float, float, float]  # a point of the plane (inline, crossline, sample)
    strike_deg: float  # azimuth of the strike, from the inline axis toward the crossline axis
    dip_deg: float  # 90 = vertical
    throw: float  # vertical throw (samples) at the centre: > 0 normal (hanging wall down), < 0 reverse
    half_length: float | None = None  # along-strike distance where the throw has tapered to 0; None: constant


@dataclass(frozen=True)
class Diapir:
    """A salt diapir rising from below the volume: a stem capped by an ellipsoidal (mushroom) head."""

    center: tuple[float, float]  # axis (inline, crossline) at the crest
    top: float  # crest sample
    stem_radius: float
    head_radius: float  # >= stem_radius; larger makes an overhanging mushroom
    head_height: float  # vertical half axis of the head
    tilt: tuple[float, float]  # axis drift (inline, crossline) per sample downward
    rough: tuple[tuple[float, float, float, float, float], ...] = ()  # (k_i, k_x, k_t, phase, amplitude)


@dataclass(frozen=True)
class Structure:
    bumps: tuple[Bump, ...] = ()
    dip: tuple[float, float] = (0.0, 0.0)  # planar inverse shift per inline and per crossline (samples)
    faults: tuple[Fault, ...] = ()  # in the order they happened
    diapirs: tuple[Diapir, ...] = ()


@dataclass(frozen=True)
class Mapping:
    source: np.ndarray  # (3, I, X, T) float32: where each voxel was in the flat model; source[2] is the RGT
    fault: np.ndarray  # (I, X, T) uint8: j + 1 on the plane of fault j where it displaces layers, else 0


@dataclass(frozen=True)
class Stratigraphy:
    tops: np.ndarray  # (L-1,) float32 flat-model sample where layer k+1 begins, increasing
    impedance: np.ndarray  # (L,) float32 mean impedance of each layer
    lateral: np.ndarray  # (L, 2) float32 weight of the two lateral fields: relative impedance change
    group: np.ndarray  # (L,) uint8 layer group (sequence) of each layer
    waves: np.ndarray  # (2, M, 4) plane waves (k_i, k_x, phase, amplitude) making the lateral fields
    start_s: float  # two-way time of the first sample


@dataclass(frozen=True)
class Model:
    """The geology behind a survey, in the requested shape."""

    impedance: np.ndarray  # float32
    rgt: np.ndarray  # float32 relative geologic time: flat-model sample each voxel came from
    fault: np.ndarray  # uint8 fault id (0 = none) on displacing fault planes
    salt: np.ndarray  # bool
    facies: np.ndarray  # uint8 layer group id
    n_groups: int
    info: dict


@dataclass(frozen=True)
class Survey:
    seismic: np.ndarray
    impedance: np.ndarray
    reflectivity: np.ndarray
    labels: dict[str, np.ndarray]
    class_names: dict[str, list[str]]
    sample_interval_ms: float
    info: dict


# ---- deformation: every output voxel traced back to the flat model --------------------------------


def _fault_frame(fault: Fault) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit normal (pointing into the hanging wall), strike, and the heave per sample of throw."""
    phi, delta = np.radians(fault.strike_deg), np.radians(fault.dip_deg)
    strike = np.array([np.cos(phi), np.sin(phi), 0.0])
    downdip = np.array([-np.sin(phi), np.cos(phi), 0.0])  # horizontal, toward which the plane dips
    normal = np.sin(delta) * downdip - np.cos(delta) * np.array([0.0, 0.0, 1.0])
    per_throw = downdip / np.tan(delta) + np.array([0.0, 0.0, 1.0])  # slip vector scaled to unit throw
    return normal, strike, per_throw


def _undo_fault(q: np.ndarray, fault: Fault, fault_id: np.ndarray, label: int, axes: list[int]) -> None:
    """Move hanging-wall points back by the slip, labelling the plane where it displaces. The slip is
    parallel to the plane and the throw varies only along strike, so this inverse is exact."""
    normal, strike, per_throw = _fault_frame(fault)
    rel = [q[a] - c for a, c in enumerate(fault.center)]  # 3 x (I, X, T)
    dist = normal[0] * rel[0] + normal[1] * rel[1] + normal[2] * rel[2]  # (I, X, T) signed, voxels
    throw = np.float32(fault.throw)
    if fault.half_length is not None:
        along = (strike[0] * rel[0] + strike[1] * rel[1]) / fault.half_length
        throw = fault.throw * np.clip(1.0 - along**2, 0.0, None)  # (I, X, T) elliptical taper
    hanging = dist > 0  # (I, X, T)
    on_plane = _footwall_edge(hanging, axes) & (np.abs(throw) >= MIN_THROW)
    fault_id[on_plane & (fault_id == 0)] = label
    moved = np.where(hanging, throw, np.float32(0)).astype(np.float32)  # (I, X, T) vertical slip
    for a in range(3):
        if per_throw[a] != 0:
            q[a] -= moved * np.float32(per_throw[a])


def _footwall_edge(hanging: np.ndarray, axes: list[int]) -> np.ndarray:
    """Footwall voxels with a hanging-wall neighbour: a surface one voxel thick along the axis most
    normal to the plane, without holes even where younger faults have moved pieces of it."""
    edge = np.zeros_like(hanging)
    for a in axes:
        first = tuple(slice(None, -1) if b == a else slice(None) for b in range(3))
        second = tuple(slice(1, None) if b == a else slice(None) for b in range(3))
        edge[first] |= hanging[second] & ~hanging[first]
        edge[second] |= hanging[first] & ~hanging[second]
    return edge


def _sample_smooth(field, qi: np.ndarray, qx: np.ndarray) -> list[np.ndarray]:
    """Smooth 2D fields at scattered (inline, crossline) points: evaluated on a unit grid covering them,
    then bilinearly interpolated, far cheaper than Gaussians or cosines at every voxel."""
    lo_i, lo_x = float(np.floor(qi.min())), float(np.floor(qx.min()))
    gi = np.arange(lo_i, np.ceil(qi.max()) + 2)  # +2: the right-hand neighbour always exists
    gx = np.arange(lo_x, np.ceil(qx.max()) + 2)
    grids = np.asarray(field(gi[:, None], gx[None, :]), np.float32)  # (C, Gi, Gx)
    fi, fx = qi - np.float32(lo_i), qx - np.float32(lo_x)
    ii, jj = fi.astype(np.int32), fx.astype(np.int32)  # floor: both are >= 0
    wi, wx = fi - ii, fx - jj
    flat = ii * len(gx) + jj
    out = []
    for grid in grids.reshape(len(grids), -1):
        v00, v01 = grid[flat], grid[flat + 1]
        v10, v11 = grid[flat + len(gx)], grid[flat + len(gx) + 1]
        out.append(v00 + wi * (v10 - v00) + wx * (v01 - v00) + wi * wx * (v11 - v10 - v01 + v00))
    return out


def _bump_field(bumps: tuple[Bump, ...]):
    def field(i, x):
        total = np.zeros(np.broadcast_shapes(i.shape, x.shape))
        for b in bumps:
            total += b.amplitude * np.exp(-((i - b.center[0]) ** 2 + (x - b.center[1]) ** 2) / (2 * b.sigma**2))
        return [total]

    return field


def trace_back(shape: tuple[int, int, int], structure: Structure) -> Mapping:
    """Where every voxel of a (I, X, T) volume comes from: undo the faults youngest first, then the fold."""
    q = np.empty((3, *shape), np.float32)  # (3, I, X, T) current position, ends as the flat-model position
    for a, n in enumerate(shape):
        q[a] = np.arange(n, dtype=np.float32).reshape([-1 if b == a else 1 for b in range(3)])
    fault_id = np.zeros(shape, np.uint8)
    axes = [a for a, n in enumerate(shape) if n > 1]
    for j in reversed(range(len(structure.faults))):
        _undo_fault(q, structure.faults[j], fault_id, j + 1, axes)
    (fold,) = _sample_smooth(_bump_field(structure.bumps), q[0], q[1])  # (I, X, T)
    # fold grows linearly with time (older layers are more folded); d(shift)/dt < 1 keeps it one-to-one
    q[2] -= fold * q[2] / np.float32(shape[2]) + structure.dip[0] * q[0] + structure.dip[1] * q[1]
    return Mapping(q, fault_id)


# ---- the flat layered model ------------------------------------------------------------------------


def _compaction_velocity(t_s: np.ndarray) -> np.ndarray:
    """Interval velocity trend with two-way time (m/s): fast near-surface compaction, then flattening."""
    return 1500.0 + 2400.0 * (1.0 - np.exp(-np.clip(t_s, 0.0, None) / 2.5))


def _group_layers(top: float, bottom: float, rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """Bed boundaries and relative velocity anomalies of one sequence: its own bed thickness, contrast
    and bed-to-bed correlation (negative: sand/shale alternation), so each group has its own texture."""
    thickness, offset = rng.uniform(2.5, 10.0), rng.normal(0.0, 0.03)
    spread, corr = rng.uniform(0.02, 0.08), rng.uniform(-0.7, 0.7)  # |r| mostly < 0.1, as in well logs
    starts, anomalies, t, previous = [], [], top, 0.0
    while t < bottom:
        starts.append(t)
        previous = corr * previous + np.sqrt(1 - corr**2) * rng.standard_normal()
        anomalies.append(offset + spread * previous)
        step = max(1.5, rng.gamma(3.0, thickness / 3.0))
        t = bottom if bottom - (t + step) < 1.5 else t + step  # no sliver thinner than 1.5 samples
    return starts, anomalies


def random_stratigraphy(n_groups: int, span: tuple[float, float], n_t: int, rng: np.random.Generator) -> Stratigraphy:
    """Layers covering ``span`` of the flat model, in ``n_groups`` sequences spread over the volume's ``n_t``."""
    # every group gets at least half its fair share of the volume, so none is thinner than a wavelet
    shares = 0.5 / n_groups + 0.5 * rng.dirichlet(np.full(n_groups, 4.0))
    inner = n_t * np.cumsum(shares)[:-1]
    edges = [min(span[0], 0.0), *inner, max(span[1], n_t) + 1.0]
    starts, anomalies, groups = [], [], []
    for g in range(n_groups):
        s, a = _group_layers(edges[g], edges[g + 1], rng)
        starts += s
        anomalies += a
        groups += [g] * len(s)
    start_s = rng.uniform(0.3, 2.0)
    mid = np.append(np.diff(starts), 2.0) / 2 + np.array(starts)  # (L,) layer centres
    velocity = _compaction_velocity(start_s + mid * SAMPLE_INTERVAL_MS / 1000) * (1 + np.array(anomalies))
    velocity = np.clip(velocity, 1450.0, 4300.0)
    impedance = velocity * 0.31 * velocity**0.25  # Gardner density (g/cm3)
    lateral = rng.normal(0.0, rng.uniform(0.005, 0.03, (len(starts), 1)), (len(starts), 2))
    waves = np.stack([_plane_waves(rng, 3), _plane_waves(rng, 3)])
    return Stratigraphy(
        np.asarray(starts[1:], np.float32),
        impedance.astype(np.float32),
        lateral.astype(np.float32),
        np.asarray(groups, np.uint8),
        waves,
        float(start_s),
    )


def _plane_waves(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 4) random horizontal plane waves (k_i, k_x, phase, amplitude), wavelengths 40-200 traces."""
    k = 2 * np.pi / rng.uniform(40.0, 200.0, n)
    azimuth = rng.uniform(0.0, 2 * np.pi, n)
    return np.stack([k * np.cos(azimuth), k * np.sin(azimuth), rng.uniform(0, 2 * np.pi, n), np.full(n, n**-0.5)], 1)


def _lateral_field(waves: np.ndarray):
    def field(i, x):
        return [sum(a * np.cos(ki * i + kx * x + p) for ki, kx, p, a in w) for w in waves]

    return field


def layer_impedance(strat: Stratigraphy, mapping: Mapping) -> np.ndarray:
    """Impedance at every voxel; a cell cut by a bed boundary gets the thickness-weighted mix of both
    beds, so dipping reflectors are not staircased by the sampling."""
    rgt = mapping.source[2]  # (I, X, T)
    fields = _sample_smooth(_lateral_field(strat.waves), mapping.source[0], mapping.source[1])
    lo = np.searchsorted(strat.tops, rgt - np.float32(0.5), side="right")  # (I, X, T) layer index
    hi = np.searchsorted(strat.tops, rgt + np.float32(0.5), side="right")

    def bed(k):
        return strat.impedance[k] * (1 + strat.lateral[:, 0][k] * fields[0] + strat.lateral[:, 1][k] * fields[1])

    z_lo = bed(lo)
    fraction = np.clip(rgt + np.float32(0.5) - strat.tops[np.maximum(hi - 1, 0)], 0, 1) * (hi > lo)
    return z_lo + fraction * (bed(hi) - z_lo)


# ---- salt --------------------------------------------------------------------------------------


def salt_body(shape: tuple[int, int, int], diapirs: tuple[Diapir, ...]) -> np.ndarray:
    """(I, X, T) bool: the union of the diapirs, in present-day coordinates."""
    i, x, t = (
        np.arange(n, dtype=np.float32).reshape([-1 if b == a else 1 for b in range(3)]) for a, n in enumerate(shape)
    )
    body = np.zeros(shape, bool)
    for d in diapirs:
        depth = t - np.float32(d.top)  # (1, 1, T) below the crest
        below = np.clip(depth, 0, None)
        rho = np.sqrt((i - d.center[0] - d.tilt[0] * below) ** 2 + (x - d.center[1] - d.tilt[1] * below) ** 2)
        for ki, kx, kt, phase, amplitude in d.rough:  # a lumpy outline instead of a perfect solid of revolution
            rho = rho * (1 + amplitude * np.cos(ki * i + kx * x + kt * t + phase))
        head = (rho / d.head_radius) ** 2 + ((depth - d.head_height) / d.head_height) ** 2 < 1
        stem_radius = d.stem_radius * (1 + 0.5 * below / shape[2])  # roots widen toward the mother salt
        body |= head | ((depth >= d.head_height) & (rho < stem_radius))
    return body


# ---- random geology ------------------------------------------------------------------------------


def _random_bumps(shape: tuple[int, int, int], rng: np.random.Generator) -> list[Bump]:
    width = max(shape[:2])
    bumps = []
    for _ in range(rng.integers(4, 10)):
        center = (rng.uniform(-0.2, 1.2) * (shape[0] - 1), rng.uniform(-0.2, 1.2) * (shape[1] - 1))
        sigma = rng.uniform(0.08, 0.25) * width
        # amplitude relative to the width keeps limb dips (~ amplitude / sigma) geological for any shape
        amplitude = rng.choice([-1, 1]) * min(rng.uniform(0.15, 0.6) * sigma, 0.25 * shape[2])
        bumps.append(Bump(center, sigma, amplitude))
    return bumps


def _random_fault(shape: tuple[int, int, int], rng: np.random.Generator) -> Fault:
    n_i, n_x, n_t = shape
    if n_i == 1:  # a 2D line is shot across strike
        strike = rng.uniform(-15.0, 15.0) + 180.0 * rng.integers(2)
    else:
        strike = rng.uniform(0.0, 360.0)
    center = (rng.uniform(0.2, 0.8) * (n_i - 1), rng.uniform(0.15, 0.85) * (n_x - 1), rng.uniform(0.2, 0.8) * n_t)
    size = min(30.0, rng.uniform(max(3.0, 0.03 * n_t), max(6.0, 0.1 * n_t)))
    throw = size if rng.random() < 0.6 else -size  # normal faults are the more common
    half_length = rng.uniform(0.4, 1.0) * max(n_i, n_x) if rng.random() < 0.5 else None
    return Fault(tuple(map(float, center)), float(strike), float(rng.uniform(55.0, 85.0)), float(throw), half_length)


def _random_diapir(shape: tuple[int, int, int], rng: np.random.Generator) -> Diapir:
    n_i, n_x, n_t = shape
    width = max(n_i, n_x) if n_i > 1 else min(n_x, 2 * n_t)  # a 2D line: size relative to the section
    stem = rng.uniform(0.04, 0.1) * width
    center = (rng.uniform(0.2, 0.8) * (n_i - 1), rng.uniform(0.2, 0.8) * (n_x - 1))
    tilt = (rng.uniform(-0.2, 0.2) * (n_i > 1), rng.uniform(-0.2, 0.2))
    rough = tuple(
        (*(2 * np.pi / rng.uniform(0.15, 0.5) / width * rng.choice([-1, 1], 3)), rng.uniform(0, 2 * np.pi), 0.08)
        for _ in range(3)
    )
    return Diapir(
        center,
        rng.uniform(0.2, 0.55) * n_t,
        stem,
        stem * rng.uniform(1.0, 2.2),
        rng.uniform(0.05, 0.12) * n_t,
        tilt,
        tuple(tuple(map(float, r)) for r in rough),
    )


def random_structure(kind: str, shape: tuple[int, int, int], rng: np.random.Generator) -> Structure:
    bumps = _random_bumps(shape, rng)
    dip = (rng.uniform(-0.08, 0.08) * (shape[0] > 1), rng.uniform(-0.08, 0.08))
    low, high = FAULT_COUNTS[kind]
    faults = tuple(_random_fault(shape, rng) for _ in range(rng.integers(low, high + 1)))
    diapirs = ()
    if kind == "salt":
        diapirs = tuple(_random_diapir(shape, rng) for _ in range(rng.integers(1, 3 if shape[0] == 1 else 4)))
        # the rising salt drags the layers up around it (inverse shift < 0 lifts them)
        lift = [-min(rng.uniform(0.5, 1.0) * d.head_radius, 0.2 * shape[2]) for d in diapirs]
        bumps += [Bump(d.center, 1.5 * d.head_radius, a) for d, a in zip(diapirs, lift)]
    return Structure(tuple(bumps), (float(dip[0]), float(dip[1])), faults, diapirs)


# ---- the survey ----------------------------------------------------------------------------------


def _as_3d(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(inlines, crosslines, samples); a 2D (traces, samples) line is a volume of one inline."""
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"shape must be (traces, samples) or (inlines, crosslines, samples), got {shape}")
    return (1, *map(int, shape)) if len(shape) == 2 else tuple(map(int, shape))


def _geology_info(kind: str, shape: tuple[int, ...], structure: Structure, strat: Stratigraphy, salt) -> dict:
    faults = [{**asdict(f), "type": "normal" if f.throw > 0 else "reverse"} for f in structure.faults]
    return {
        "kind": kind,
        "shape": list(shape),
        "sample_interval_ms": SAMPLE_INTERVAL_MS,
        "start_time_s": strat.start_s,
        "layers": len(strat.impedance),
        "layer_groups": int(strat.group.max()) + 1,
        "fold_bumps": len(structure.bumps),
        "planar_dip_samples_per_trace": list(structure.dip),
        "faults": faults,
        "diapirs": len(structure.diapirs),
        "salt_fraction": float(salt.mean()),
    }


def make_model(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> Model:
    """The random geology of one survey: structure, then the traced-back layers, then salt."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    shape3 = _as_3d(shape)
    structure = random_structure(kind, shape3, rng)
    mapping = trace_back(shape3, structure)
    rgt = mapping.source[2]  # (I, X, T)
    low, high = GROUP_COUNTS[kind]
    span = (float(rgt.min()) - 1.0, float(rgt.max()) + 1.0)
    strat = random_stratigraphy(int(rng.integers(low, high + 1)), span, shape3[2], rng)
    impedance = layer_impedance(strat, mapping)
    salt = salt_body(shape3, structure.diapirs)
    impedance[salt] = SALT_IMPEDANCE
    mapping.fault[salt] = 0  # no layers inside salt, so nothing is displaced there
    facies = strat.group[np.searchsorted(strat.tops, rgt, side="right")]
    volumes = (impedance.astype(np.float32), rgt, mapping.fault, salt, facies)
    info = _geology_info(kind, shape, structure, strat, salt)
    return Model(*(v.reshape(shape) for v in volumes), int(strat.group.max()) + 1, info)


def _labels(kind: str, model: Model) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    if kind == "faults":
        return {"fault": (model.fault > 0).astype(np.uint8)}, {"fault": ["background", "fault"]}
    if kind == "salt":
        return {"salt": model.salt.astype(np.uint8)}, {"salt": ["background", "salt"]}
    names = [f"layer group {g}" for g in range(model.n_groups)]
    return {"facies": model.facies.astype(np.uint8)}, {"facies": names}


def make_survey(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> Survey:
    """A labelled synthetic post-stack survey of ``kind`` (one of KINDS); last axis of ``shape`` is time."""
    model = make_model(kind, shape, rng)
    peak_hz = float(rng.uniform(20.0, 40.0))
    wavelet = ricker(peak_hz, SAMPLE_INTERVAL_MS, wavelet_length(peak_hz, SAMPLE_INTERVAL_MS))
    r = reflectivity(model.impedance)
    clean = convolve_time(r, wavelet)
    snr, correlation = float(rng.uniform(2.0, 10.0)), float(rng.uniform(0.5, 3.0))
    noise = coloured_noise(r.shape, wavelet, correlation, rng)
    signal_rms = float(np.sqrt(np.mean(clean.astype(np.float64) ** 2)))
    seismic = unit_rms(clean + noise * np.float32(signal_rms / snr))
    labels, class_names = _labels(kind, model)
    info = {
        **model.info,
        "wavelet": {"type": "ricker", "peak_hz": peak_hz},
        "noise": {"snr_rms": snr, "correlation_traces": correlation},
    }
    return Survey(seismic, model.impedance, r, labels, class_names, SAMPLE_INTERVAL_MS, info)
