"""The volume store: an MDIO v1 dataset (Zarr v3) that the MDIO library opens as its own.

Layout (post-stack 3D; a 2D line has ``cdp`` in place of inline/crossline)::

    amplitude   (inline, crossline, time|depth)  the samples, statsV1 in its attributes
    trace_mask  (inline, crossline)              true where a trace exists
    headers     (inline, crossline)              every trace header field, structured
    cdp_x/cdp_y (inline, crossline)              float64, coordinate scalar applied
    inline, crossline, time|depth                int32 dimension coordinates
    segy_file_header ()                          text and binary headers, as MDIO keeps them
    segy_trace_order (inline, crossline)         each trace's position in its SEG-Y file (-1: none)
"""

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.errors import NotAnArtifactError
from seiscli.storage.location import as_location, open_group
from seiscli.storage.segy_headers import STORED_HEADER_DTYPE

MDIO_API_VERSION = "1.1.3"


@dataclass(frozen=True)
class Compression:
    """``lossless`` (Blosc/zstd), ``none``, or ``lossy`` (ZFP fixed accuracy within ``tolerance``)."""

    kind: str
    tolerance: float | None = None

    def codecs(self, dtype: np.dtype) -> dict[str, Any]:
        """Keyword arguments of ``zarr.create_array`` for the amplitude array."""
        from zarr.codecs import BloscCodec

        if self.kind == "none":
            return {"compressors": None}
        if self.kind == "lossy":
            import zfpy  # noqa: F401  (fail here, with a clear error, if it is missing)
            from zarr.codecs.numcodecs import ZFPY

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zarr marks numcodecs' v3 wrappers unstable
                return {"serializer": ZFPY(mode=_ZFP_FIXED_ACCURACY, tolerance=self.tolerance), "compressors": None}
        return {"compressors": [BloscCodec(cname=_CNAME, clevel=_CLEVEL, shuffle=_shuffle(dtype))]}

    def encoder(self, dtype: np.dtype):
        """A function from one C-ordered little-endian chunk to the bytes those codecs store."""
        if self.kind == "none":
            return lambda chunk: chunk.tobytes()
        if self.kind == "lossy":
            from numcodecs import ZFPY

            return ZFPY(mode=_ZFP_FIXED_ACCURACY, tolerance=self.tolerance).encode
        from numcodecs import Blosc

        shuffle = Blosc.BITSHUFFLE if _shuffle(dtype) == "bitshuffle" else Blosc.SHUFFLE
        return Blosc(cname=_CNAME, clevel=_CLEVEL, shuffle=shuffle, typesize=np.dtype(dtype).itemsize).encode


# Lossless default: LZ4 at level 5 with byte shuffling compresses seismic nearly as well as zstd
# and several times faster, which keeps ingest close to the speed of reading the file.
_CNAME, _CLEVEL = "lz4", 5
_ZFP_FIXED_ACCURACY = 4  # zfpy's mode code


def _shuffle(dtype: np.dtype) -> str:
    return "bitshuffle" if np.dtype(dtype).itemsize == 1 else "shuffle"


class ChunkWriter:
    """Writes whole chunks of one array straight into a local store, encoded as its codecs say.

    Going around zarr's write path for the bulk data avoids its per-call overhead and buffer
    copies; the bytes are exactly what zarr itself would store (its regular chunk grid pads edge
    chunks with the fill value), so zarr and MDIO read them back as usual.
    """

    def __init__(self, array, store_root: Path, compression: Compression):
        self.array = array
        self.chunks = tuple(array.chunks)
        self.fill = array.metadata.fill_value
        self.folder = store_root / array.path
        self.encode = compression.encoder(array.dtype)
        self.dtype = np.dtype(array.dtype).newbyteorder("<")

    def write(self, chunk_index: tuple[int, ...], data: np.ndarray) -> None:
        if data.shape != self.chunks:
            padded = np.full(self.chunks, self.fill, self.dtype)
            padded[tuple(slice(0, n) for n in data.shape)] = data
            data = padded
        path = self.folder / self.array.metadata.encode_chunk_key(chunk_index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.encode(np.ascontiguousarray(data, dtype=self.dtype)))


def _blosc(shuffle: str = "shuffle") -> dict[str, Any]:
    from zarr.codecs import BloscCodec

    return {"compressors": [BloscCodec(cname="lz4", clevel=5, shuffle=shuffle)]}


def template_name(dims: tuple[str, ...]) -> str:
    """MDIO's template name for a post-stack volume over ``dims``."""
    domain = dims[-1].capitalize()
    return f"PostStack{'2D' if dims[0] == 'cdp' else '3D'}{domain}"


def create_volume(
    path: Path,
    dims: tuple[str, ...],
    coords: dict[str, np.ndarray],
    dtype: np.dtype,
    chunks: tuple[int, ...],
    compression: Compression,
    attributes: dict[str, Any],
):
    """Create an empty volume store at ``path``; returns the open zarr group."""
    import zarr
    from zarr.errors import UnstableSpecificationWarning

    # The structured headers dtype (as MDIO writes it) has no final Zarr v3 spec yet.
    warnings.filterwarnings("ignore", category=UnstableSpecificationWarning)
    spatial = dims[:-1]
    shape = tuple(len(coords[d]) for d in dims)
    chunks = tuple(min(c, s) for c, s in zip(chunks, shape))
    root_attrs = {
        "apiVersion": MDIO_API_VERSION,
        "createdOn": attributes["seis"]["provenance"]["createdOn"],
        "name": template_name(dims),
        "attributes": {
            "surveyType": "2D" if dims[0] == "cdp" else "3D",
            "gatherType": "stacked",
            "defaultVariableName": "amplitude",
            **attributes,
        },
    }
    group = zarr.open_group(path, mode="w-", zarr_format=3, attributes=root_attrs)
    for dim in dims:
        values = coords[dim]
        group.create_array(dim, data=values, chunks=values.shape, dimension_names=(dim,), **_blosc())
    fill = np.nan if np.dtype(dtype).kind == "f" else 0
    group.create_array(
        "amplitude", shape=shape, dtype=dtype, chunks=chunks, dimension_names=dims, fill_value=fill,
        attributes={"coordinates": "cdp_x cdp_y"}, **compression.codecs(np.dtype(dtype)),
    )  # fmt: skip
    grid_shape, grid_chunks = shape[:-1], chunks[:-1]
    group.create_array(
        "headers", shape=grid_shape, dtype=STORED_HEADER_DTYPE, chunks=grid_chunks, dimension_names=spatial,
        attributes={"coordinates": "cdp_x cdp_y"}, **_blosc(),
    )  # fmt: skip
    return group


def _grid_chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(min(size, 2048) for size in shape)


def write_grid_arrays(group, dims: tuple[str, ...], trace_order, cdp_x, cdp_y) -> None:
    """The small per-trace arrays, written once: mask, file order and real-world coordinates."""
    spatial = dims[:-1]
    trace_mask = trace_order >= 0
    group.create_array(
        "segy_trace_order", data=trace_order, chunks=_grid_chunks(trace_order.shape), dimension_names=spatial,
        fill_value=-1, **_blosc(),
    )  # fmt: skip
    group.create_array(
        "trace_mask", data=trace_mask, chunks=_grid_chunks(trace_mask.shape), dimension_names=spatial,
        attributes={"coordinates": "cdp_x cdp_y"}, **_blosc("bitshuffle"),
    )  # fmt: skip
    for name, values in (("cdp_x", cdp_x), ("cdp_y", cdp_y)):
        group.create_array(
            name, data=values, chunks=_grid_chunks(values.shape), dimension_names=spatial, fill_value=np.nan,
            attributes={"unitsV1": {"length": "m"}}, **_blosc(),
        )  # fmt: skip


def write_file_headers(group, text: str, binary: dict[str, int]) -> None:
    """SEG-Y text and binary headers where MDIO keeps them: a scalar ``segy_file_header``."""
    group.create_array(
        "segy_file_header", shape=(), dtype="<U1", fill_value="",
        attributes={"textHeader": text, "binaryHeader": binary},
    )  # fmt: skip


_STATS_PIECE = 1 << 16  # pieces summed on their own, then added in float64


@dataclass(frozen=True)
class SummaryStats:
    """MDIO's ``statsV1``: count, sum, sum of squares, min, max over live samples."""

    count: int = 0
    sum: float = 0.0
    sum_squares: float = 0.0
    min: float = float("inf")
    max: float = float("-inf")

    @classmethod
    def of(cls, values: np.ndarray) -> "SummaryStats":
        """Statistics of ``values``, accumulated in float64 over pieces."""
        flat = values.reshape(-1)
        if flat.size == 0:
            return cls()
        total = squares = 0.0
        for start in range(0, flat.size, _STATS_PIECE):
            piece = flat[start : start + _STATS_PIECE]
            total += float(np.add.reduce(piece, dtype=np.float64))
            squares += float(np.dot(piece, piece))  # BLAS; piece-wise, so float32 rounding stays local
        return cls(int(flat.size), total, squares, float(flat.min()), float(flat.max()))

    def __add__(self, other: "SummaryStats") -> "SummaryStats":
        return SummaryStats(
            self.count + other.count, self.sum + other.sum, self.sum_squares + other.sum_squares,
            min(self.min, other.min), max(self.max, other.max),
        )  # fmt: skip

    def to_json(self) -> str:
        empty = self.count == 0
        return json.dumps(
            {
                "count": self.count, "sum": self.sum, "sumSquares": self.sum_squares,
                "min": 0.0 if empty else self.min, "max": 0.0 if empty else self.max,
                "histogram": {"counts": [], "binCenters": []},
            }, separators=(",", ":"),
        )  # fmt: skip


class VolumeStore:
    """A volume store opened read-only; ``variable`` reads another variable on its grid as the samples
    (a prediction, for export)."""

    def __init__(self, path: Path, group, variable: str = "amplitude"):
        self.path = path
        self.group = group
        self.amplitude = group[variable]
        self.dims: tuple[str, ...] = tuple(self.amplitude.metadata.dimension_names)
        self.attrs: dict[str, Any] = dict(group.attrs)
        self.seis: dict[str, Any] = self.attrs.get("attributes", {}).get("seis", {})

    def coords(self, dim: str) -> np.ndarray:
        return self.group[dim][...]

    def stats(self) -> dict[str, Any] | None:
        raw = self.amplitude.attrs.get("statsV1")
        return json.loads(raw) if isinstance(raw, str) else raw


def drain_pending_writes() -> None:
    """Wait for the writes zarr's I/O thread is still running.

    An interrupt stops only the main thread's wait for a zarr write, not the write itself.
    """
    import asyncio

    from zarr.core.sync import sync

    async def _others_done() -> None:
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        await asyncio.gather(*others, return_exceptions=True)

    sync(_others_done())


def open_volume(path: str | Path) -> VolumeStore:
    """Open a volume store (local or a URL) read-only, or explain why ``path`` is not one."""
    group = open_group(path, "volume store written by seis ingest")
    if "amplitude" not in group or "apiVersion" not in group.attrs:
        raise NotAnArtifactError(f"{path} is a Zarr store but not a volume store (no MDIO amplitude variable)")
    return VolumeStore(as_location(path), group)
