"""``seis ingest``: SEG-Y file -> MDIO v1 volume store."""

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seiscli.config.ingest import IngestConfig
from seiscli.errors import ConfigError
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.atomic import atomic_output, check_writable
from seiscli.storage.provenance import Invocation, make_provenance
from seiscli.storage.segy_format import SegyLayout, read_layout
from seiscli.storage.segy_geometry import Geometry, HeaderKey, build_geometry
from seiscli.storage.trace_copy import TraceCopier, copy_traces
from seiscli.storage.volume import (
    Compression,
    create_volume,
    drain_pending_writes,
    write_file_headers,
    write_grid_arrays,
)

DEFAULT_CHUNKS = {3: (128, 128, 128), 2: (1024, 1024)}


@dataclass
class IngestResult:
    path: Path
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    live_traces: int
    dead_traces: int
    input_bytes: int
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.input_bytes / 1e6 / max(self.seconds, 1e-9)


def run_ingest(
    cfg: IngestConfig, invocation: Invocation | None = None, progress: Progress | None = None
) -> IngestResult:
    """Scan the file's geometry, then stream its traces into a new volume store."""
    progress = progress or SilentProgress()
    started = time.perf_counter()
    layout = read_layout(cfg.segy)
    check_writable(cfg.out, cfg.overwrite)
    keys = {name: HeaderKey(byte - 1, kind) for name, (byte, kind) in cfg.header_keys().items()}
    geometry = build_geometry(layout, keys, cfg.line_by_cdp)
    domain = cfg.domain or detect_domain(layout.text())
    samples, warnings = sample_axis(layout)
    dims = geometry.dims + (domain,)
    chunks = _chunks(cfg.chunks, len(dims))
    attributes = {
        "seis": {
            "provenance": make_provenance(invocation or Invocation("seis ingest"), cfg, [cfg.segy]),
            "segy": segy_attributes(layout, geometry),
        }
    }
    dtype = np.dtype(layout.sample_format.stored)
    with atomic_output(cfg.out, cfg.overwrite, settle=drain_pending_writes) as tmp:
        coords = dict(zip(dims, geometry.coords + (samples,)))
        compression = _compression(cfg.compression)
        group = create_volume(tmp, dims, coords, dtype, chunks, compression, attributes)
        stats = copy_traces(TraceCopier(layout, geometry, group, tmp, compression), cfg.workers, progress)
        group["amplitude"].attrs["statsV1"] = stats.to_json()
        write_grid_arrays(group, dims, geometry.trace_index, geometry.cdp_x, geometry.cdp_y)
        write_file_headers(group, layout.text(), layout.binary)
    shape = tuple(len(c) for c in coords.values())
    live = geometry.live_count
    elapsed = time.perf_counter() - started
    return IngestResult(
        cfg.out, dims, shape, live, geometry.trace_index.size - live, os.path.getsize(cfg.segy), elapsed, warnings
    )


def detect_domain(text_header: str) -> str:
    """``depth`` when the text header speaks of depth and not of time, else ``time``."""
    words = re.sub(r"time\s*/\s*depth", " ", text_header.lower())
    mentions_depth = re.search(r"\bdepth\b|\bpsdm\b", words) is not None
    mentions_time = re.search(r"\btime\b|\btwt\b", words) is not None
    return "depth" if mentions_depth and not mentions_time else "time"


def sample_axis(layout: SegyLayout) -> tuple[np.ndarray, list[str]]:
    """Sample coordinates in ms (time) or m/ft (depth, whose intervals SEG-Y also stores x1000):
    int32 when whole numbers, else float64."""
    warnings = []
    first = layout.first_trace_header()
    delay, trace_interval = int(first["delay_recording_time"]), int(first["sample_interval"])
    interval = layout.sample_interval or trace_interval
    if interval <= 0:
        interval = 1000
        warnings.append("the sample interval is 0 in the binary and trace headers; assuming 1 ms (1 m)")
    values = delay + np.arange(layout.n_samples) * (interval / 1000.0)
    whole = np.all(values == np.round(values)) and np.abs(values).max() < 2**31
    return (values.astype(np.int32) if whole else values), warnings


def segy_attributes(layout: SegyLayout, geometry: Geometry) -> dict:
    return {**layout.provenance(), "lineKey": geometry.line_key, "constantKeys": geometry.constant_keys}


def _chunks(requested: tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    if requested is None:
        return DEFAULT_CHUNKS[ndim]
    if len(requested) != ndim:
        raise ConfigError(f"--chunks has {len(requested)} sizes but this volume has {ndim} dimensions")
    return requested


def _compression(text: str) -> Compression:
    kind, _, tolerance = text.partition(":")
    return Compression(kind, float(tolerance) if tolerance else None)
