"""From trace header keys to a grid: 3D inline/crossline, or a 2D line keyed by CDP."""

from dataclasses import dataclass
from functools import reduce
from math import gcd

import numpy as np

from seiscli.errors import DuplicateTraceError, GeometryError
from seiscli.storage.segy_format import SegyLayout

SCAN_BYTES = 8 << 20  # bytes per read while scanning headers: bounds the scan's working memory
MIN_LIVE_FRACTION = 0.1  # below this the keys are not a survey grid but the wrong header bytes


@dataclass(frozen=True)
class HeaderKey:
    """A trace header field: 0-based byte offset and numpy kind (``i4``, ``i2`` ...)."""

    offset: int
    kind: str

    @property
    def byte(self) -> int:
        return self.offset + 1


@dataclass(frozen=True)
class Geometry:
    """Where every trace sits: ``trace_index[cell]`` is its position in the file, -1 if missing."""

    dims: tuple[str, ...]  # ("inline", "crossline") or ("cdp",)
    coords: tuple[np.ndarray, ...]  # int32 values along each spatial dim
    trace_index: np.ndarray  # int64, shape of the spatial grid
    cdp_x: np.ndarray  # float64, scalar applied, NaN where no trace
    cdp_y: np.ndarray
    line_key: str  # the header key the dims come from ("inline" for a 3D survey)
    constant_keys: dict[str, int]  # keys that never change (the crossline of a 2D line ...)

    @property
    def live_count(self) -> int:
        return int((self.trace_index >= 0).sum())


def read_keys(layout: SegyLayout, keys: dict[str, HeaderKey]) -> dict[str, np.ndarray]:
    """The values of ``keys`` for every trace, read in blocks of headers."""
    dtype = np.dtype(
        {
            "names": list(keys),
            "formats": [layout.byte_order + key.kind for key in keys.values()],
            "offsets": [key.offset for key in keys.values()],
            "itemsize": layout.trace_size,
        }
    )
    # int32 holds every signed 2- and 4-byte key: 4 bytes per trace and key is all the scan keeps
    values = {name: np.empty(layout.n_traces, np.int64 if key.kind == "u4" else np.int32) for name, key in keys.items()}
    per_read = max(1, SCAN_BYTES // layout.trace_size)
    with open(layout.path, "rb") as stream:
        for start in range(0, layout.n_traces, per_read):
            block = layout.read_block(stream, start, per_read).view(dtype)
            for name in keys:
                values[name][start : start + len(block)] = block[name]
    return values


def axis_coordinates(values: np.ndarray) -> np.ndarray:
    """Sorted axis values: a regular axis (gaps filled) when the values sit on a common step."""
    unique = np.unique(values).astype(np.int64)
    if len(unique) < 2:
        return unique
    step = reduce(gcd, np.diff(unique).tolist())
    regular = np.arange(unique[0], unique[-1] + step, step)
    return regular if len(regular) <= 2 * len(unique) else unique


def _line_key(keys: dict[str, np.ndarray], forced_cdp: bool) -> tuple[str, ...]:
    """Which keys index the grid: (inline, crossline), or a single key for a 2D line."""
    varies = {name: bool(values.min() != values.max()) for name, values in keys.items() if len(values)}
    if forced_cdp:
        return ("cdp",)
    if varies["inline"] and varies["crossline"]:
        return ("inline", "crossline")
    if varies["inline"] or varies["crossline"]:
        return ("inline",) if varies["inline"] else ("crossline",)
    return ("cdp",)


def _scaled(values: np.ndarray, scalar: np.ndarray) -> np.ndarray:
    """SEG-Y coordinate scalar: negative divides, positive multiplies, zero means one."""
    factor = np.where(scalar < 0, 1.0 / np.abs(np.where(scalar == 0, 1, scalar)), np.where(scalar == 0, 1, scalar))
    return values.astype(np.float64) * factor


def _check_grid(shape: tuple[int, ...], n_traces: int, keys: tuple[str, ...], where: dict[str, HeaderKey]) -> None:
    cells = int(np.prod(shape))
    if len(keys) == 2 and cells > 1000 and n_traces < MIN_LIVE_FRACTION * cells:
        described = " and ".join(f"{k} (byte {where[k].byte})" for k in keys)
        raise GeometryError(
            f"the {described} headers do not form a grid: {n_traces} traces scattered over a "
            f"{' x '.join(map(str, shape))} grid ({100 * n_traces / cells:.2f}% filled)",
            "set the right byte locations with --header inline=BYTE,crossline=BYTE",
        )


def build_geometry(layout: SegyLayout, keys: dict[str, HeaderKey], forced_cdp: bool) -> Geometry:
    """Scan the headers of ``layout`` and place every trace on the grid."""
    values = read_keys(layout, keys)
    grid_keys = _line_key(values, forced_cdp)
    if grid_keys == ("cdp",) and layout.n_traces > 1 and values["cdp"].min() == values["cdp"].max():
        raise DuplicateTraceError(
            f"all {layout.n_traces} traces share inline {values['inline'][0]}, crossline "
            f"{values['crossline'][0]} and CDP {values['cdp'][0]}: nothing tells them apart",
            "set the bytes that number the traces with --header inline=BYTE,crossline=BYTE or cdp=BYTE",
        )
    coords = tuple(axis_coordinates(values[k]) for k in grid_keys)
    shape = tuple(len(c) for c in coords)
    _check_grid(shape, layout.n_traces, grid_keys, keys)
    cell = np.ravel_multi_index(tuple(np.searchsorted(c, values[k]) for c, k in zip(coords, grid_keys)), shape)
    trace_index = np.full(int(np.prod(shape)), -1, np.int64)
    trace_index[cell] = np.arange(layout.n_traces)
    _check_duplicates(cell, values, grid_keys, layout.n_traces)
    cdp_x = np.full(trace_index.shape, np.nan)
    cdp_y = np.full(trace_index.shape, np.nan)
    cdp_x[cell] = _scaled(values["cdp_x"], values["coordinate_scalar"])
    cdp_y[cell] = _scaled(values["cdp_y"], values["coordinate_scalar"])
    constant = {k: int(v[0]) for k, v in values.items() if k not in grid_keys and k in ("inline", "crossline")}
    return Geometry(
        dims=("inline", "crossline") if len(grid_keys) == 2 else ("cdp",),
        coords=tuple(c.astype(np.int32) for c in coords),
        trace_index=trace_index.reshape(shape),
        cdp_x=cdp_x.reshape(shape),
        cdp_y=cdp_y.reshape(shape),
        line_key=grid_keys[0] if len(grid_keys) == 1 else "inline",
        constant_keys={k: v for k, v in constant.items() if values[k].min() == values[k].max()},
    )


def _check_duplicates(cell: np.ndarray, values: dict[str, np.ndarray], keys: tuple[str, ...], n: int) -> None:
    unique, first, counts = np.unique(cell, return_index=True, return_counts=True)
    if len(unique) == n:
        return
    trace = int(first[np.argmax(counts > 1)])
    position = ", ".join(f"{k} {values[k][trace]}" for k in keys)
    raise DuplicateTraceError(
        f"{n - len(unique)} duplicate traces: {int(counts.max())} traces at {position} (first is trace {trace + 1})",
        "the key bytes may be wrong (--header) or the file holds pre-stack gathers, which seis does not ingest yet",
    )
