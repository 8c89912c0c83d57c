"""``seis info PATH``: what an artifact holds, as one dictionary."""

import math
from pathlib import Path
from typing import Any

from seiscli.storage.volume import VolumeStore, open_volume


def run_info(path: Path) -> dict[str, Any]:
    """Describe the artifact at ``path`` (today: a volume store)."""
    volume = open_volume(path)
    return describe_volume(volume)


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
