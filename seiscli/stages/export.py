"""``seis export SOURCE OUT``: a volume or prediction store back to SEG-Y."""

import time
from dataclasses import dataclass
from pathlib import Path

from seiscli.config.export import ExportConfig
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.atomic import atomic_output, check_writable
from seiscli.storage.segy_writer import original_layout, write_segy
from seiscli.storage.volume import VolumeStore

IEEE_FLOAT = 5  # predictions are written as 4-byte IEEE floats: class ids, probabilities and m/s all fit


@dataclass
class ExportResult:
    path: Path
    traces: int
    bytes_written: int
    seconds: float
    variable: str = "amplitude"


def run_export(cfg: ExportConfig, progress: Progress | None = None) -> ExportResult:
    """Write the amplitudes (or ``cfg.variable``, e.g. a prediction) of ``cfg.source`` as the SEG-Y file ``cfg.out``."""
    started = time.perf_counter()
    volume = _open_source(cfg)
    check_writable(cfg.out, cfg.overwrite)
    variable = volume.amplitude.basename
    with atomic_output(cfg.out, cfg.overwrite) as tmp:
        layout = original_layout(volume, tmp, None if variable == "amplitude" else IEEE_FLOAT)
        write_segy(volume, layout, progress or SilentProgress())
    size = layout.data_offset + layout.n_traces * layout.trace_size
    return ExportResult(cfg.out, layout.n_traces, size, time.perf_counter() - started, variable)


def _open_source(cfg: ExportConfig) -> VolumeStore:
    """A volume store, or a prediction store (or predictions written --into a volume) seen as one."""
    from seiscli.errors import NotAnArtifactError
    from seiscli.storage.location import as_location, open_group
    from seiscli.storage.predictions import prediction_variable

    group = open_group(cfg.source, "volume or prediction store")
    if "segy_trace_order" not in group or "headers" not in group:
        raise NotAnArtifactError(f"{cfg.source} is a Zarr store but not a volume or prediction store",
                                 "seis export writes SEG-Y from stores made by seis ingest or seis infer")  # fmt: skip
    return VolumeStore(as_location(cfg.source), group, prediction_variable(group, cfg.source, cfg.variable))
