"""``seis info PATH``: what an artifact holds, as one dictionary."""

import math
from pathlib import Path
from typing import Any

from seiscli.errors import GeometryError
from seiscli.storage.segy_format import SegyLayout, read_layout
from seiscli.storage.segy_geometry import HeaderKey, build_geometry
from seiscli.storage.volume import VolumeStore, open_volume


def run_info(path: Path) -> dict[str, Any]:
    """Describe the artifact at ``path``: a volume store, or a SEG-Y file about to be ingested."""
    if path.is_file():
        return describe_segy(read_layout(path))
    return describe_volume(open_volume(path))


def describe_segy(layout: SegyLayout) -> dict[str, Any]:
    """File facts and the grid ``seis ingest`` would build with the default header bytes."""
    from seiscli.config.ingest import IngestConfig

    keys = IngestConfig(segy=layout.path, out=layout.path).header_keys()
    try:
        geometry = build_geometry(layout, {n: HeaderKey(b - 1, k) for n, (b, k) in keys.items()}, False)
        grid = {
            "dims": dict(zip(geometry.dims, geometry.trace_index.shape)),
            "coordinates": {d: _axis_summary(c) for d, c in zip(geometry.dims, geometry.coords)},
            "traces": {"live": geometry.live_count, "dead": geometry.trace_index.size - geometry.live_count},
        }
    except GeometryError as error:
        grid = {"error": error.message}
    return {
        "kind": "segy",
        "path": str(layout.path),
        "size_bytes": layout.path.stat().st_size,
        "byte_order": "big" if layout.byte_order == ">" else "little",
        "sample_format": layout.sample_format.code,
        "sample_format_name": layout.sample_format.name,
        "samples_per_trace": layout.n_samples,
        "sample_interval": layout.sample_interval,
        "traces": layout.n_traces,
        "text_encoding": "ebcdic" if layout.text_is_ebcdic else "ascii",
        "text_header": layout.text(),
        "grid": grid,
    }


def describe_volume(volume: VolumeStore) -> dict[str, Any]:
    amplitude = volume.amplitude
    mask = volume.group["trace_mask"][...]
    stored = _stored_bytes(volume.path)
    raw = math.prod(amplitude.shape) * amplitude.dtype.itemsize
    segy = volume.seis.get("segy", {})
    return {
        "kind": "volume",
        "path": str(volume.path),
        "template": volume.attrs.get("name"),
        "dims": dict(zip(volume.dims, amplitude.shape)),
        "coordinates": {dim: _axis_summary(volume.coords(dim)) for dim in volume.dims},
        "domain": volume.dims[-1],
        "sample_interval": _axis_summary(volume.coords(volume.dims[-1]))["step"],
        "traces": {"live": int(mask.sum()), "dead": int(mask.size - mask.sum())},
        "dtype": str(amplitude.dtype),
        "chunks": list(amplitude.chunks),
        "compression": _codec_names(amplitude),
        "stored_bytes": stored,
        "compression_ratio": round(raw / stored, 2) if stored else None,
        "statistics": _statistics(volume.stats()),
        "segy": {k: segy[k] for k in ("byteOrder", "sampleFormat", "sampleFormatName", "textEncoding") if k in segy},
        "provenance": volume.seis.get("provenance"),
    }


def _axis_summary(values) -> dict[str, Any]:
    steps = sorted(set((values[1:] - values[:-1]).tolist())) if len(values) > 1 else []
    step = steps[0] if len(steps) == 1 else (None if not steps else "irregular")
    return {"min": values.min().item(), "max": values.max().item(), "count": len(values), "step": step}


def _statistics(stats: dict | None) -> dict[str, float] | None:
    if not stats or not stats.get("count"):
        return None
    n = stats["count"]
    mean = stats["sum"] / n
    rms = math.sqrt(stats["sumSquares"] / n)
    std = math.sqrt(max(stats["sumSquares"] / n - mean * mean, 0.0))
    return {"count": n, "min": stats["min"], "max": stats["max"], "mean": mean, "std": std, "rms": rms}


def _codec_names(array) -> list[str]:
    codecs = [*(array.serializer and [array.serializer] or []), *array.compressors]
    return [type(c).__name__ for c in codecs if type(c).__name__ != "BytesCodec"]


def _stored_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
