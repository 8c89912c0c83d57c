"""``seis info PATH``: what an artifact holds, as one dictionary."""

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.errors import GeometryError
from seiscli.storage.dataset import DatasetStore, open_dataset
from seiscli.storage.labels import LabelStore, open_labels
from seiscli.storage.segy_format import SegyLayout, read_layout
from seiscli.storage.segy_geometry import HeaderKey, build_geometry
from seiscli.storage.volume import VolumeStore, open_volume
from seiscli.synth import MANIFEST


def run_info(path: Path) -> dict[str, Any]:
    """Describe the artifact at ``path``: a SEG-Y file, a checkpoint, a volume, label or dataset store,
    or a folder made by ``seis synth``."""
    if path.is_file() and path.suffix == ".safetensors":
        return describe_checkpoint(path)
    if path.is_file():
        return describe_segy(read_layout(path))
    if (path / MANIFEST).is_file():
        return describe_synth(path)
    kind = _zarr_kind(path)
    if kind == "labels":
        return describe_labels(open_labels(path))
    if kind == "dataset":
        return describe_dataset(open_dataset(path))
    return describe_volume(open_volume(path))


def _zarr_kind(path: Path) -> str | None:
    """``seis.kind`` from a Zarr group's metadata, read without opening it as a store."""
    try:
        meta = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    return meta.get("attributes", {}).get("seis", {}).get("kind")


def describe_synth(path: Path) -> dict[str, Any]:
    manifest = json.loads((path / MANIFEST).read_text())
    return {"kind": "synth", "path": str(path), "made": manifest["kind"], "count": manifest["count"],
            "files": manifest["files"], "facts": manifest["facts"], "provenance": manifest["provenance"]}  # fmt: skip


def describe_labels(store: LabelStore) -> dict[str, Any]:
    variables = {}
    for task in store.tasks:
        array = store.group[task]
        names = store.class_names(task)
        entry: dict[str, Any] = {"dtype": str(array.dtype), "chunks": list(array.chunks)}
        if names:
            counts = np.bincount(array[...].ravel(), minlength=len(names))
            entry["classes"] = {name: int(n) for name, n in zip(names, counts)}
        else:
            values = array[...]
            entry.update(units=array.attrs.get("units"), min=float(values.min()), max=float(values.max()))
        variables[task] = entry
    return {
        "kind": "labels",
        "path": str(store.path),
        "dims": {d: len(store.coords(d)) for d in store.dims},
        "coordinates": {d: _axis_summary(store.coords(d)) for d in store.dims},
        "variables": variables,
        "provenance": store.attrs.get("provenance"),
    }


def describe_dataset(store: DatasetStore) -> dict[str, Any]:
    attrs = store.attrs
    return {
        "kind": "dataset",
        "path": str(store.path),
        "task": attrs["task"],
        "samples": len(store),
        "x": {"shape": list(store.x.shape), "dtype": str(store.x.dtype)},
        "y": {"shape": list(store.y.shape), "dtype": str(store.y.dtype)} if store.y is not None else None,
        "splits": store.split_counts(),
        "class_names": attrs.get("classNames"),
        "class_frequencies": attrs.get("classFrequencies"),
        "patch": {k: v for k, v in (attrs.get("patch") or {}).items() if k != "ids"},
        "normalization": attrs.get("normalization"),
        "sources": attrs.get("sources"),
        "provenance": attrs.get("provenance"),
    }


CARD_FACTS = ("model", "task", "classes", "in_channels", "sample_shape", "normalization", "metrics", "encoder",
              "corpus", "provenance")  # fmt: skip


def describe_checkpoint(path: Path) -> dict[str, Any]:
    """The model card of a checkpoint (its weights are not loaded)."""
    from seiscli.training.checkpoint import read_card

    card = read_card(path)
    return {"kind": "checkpoint", "path": str(path), **{key: card.get(key) for key in CARD_FACTS}}


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


def model_catalogue() -> dict[str, Any]:
    """Every registered model with the first line of its description (``seis info --models``)."""
    from seiscli.models import list_models, model_entry

    entries = [{"name": name, "doc": model_entry(name).doc.splitlines()[0]} for name in list_models()]
    return {"kind": "models", "models": entries}
