"""``seis export SOURCE OUT``: a volume store back to SEG-Y."""

import time
from dataclasses import dataclass
from pathlib import Path

from seiscli.config.export import ExportConfig
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.atomic import atomic_output, check_writable
from seiscli.storage.segy_writer import original_layout, write_segy
from seiscli.storage.volume import open_volume


@dataclass
class ExportResult:
    path: Path
    traces: int
    bytes_written: int
    seconds: float


def run_export(cfg: ExportConfig, progress: Progress | None = None) -> ExportResult:
    """Write the volume store ``cfg.source`` as the SEG-Y file ``cfg.out``."""
    started = time.perf_counter()
    volume = open_volume(cfg.source)
    check_writable(cfg.out, cfg.overwrite)
    with atomic_output(cfg.out, cfg.overwrite) as tmp:
        layout = original_layout(volume, tmp)
        write_segy(volume, layout, progress or SilentProgress())
    size = layout.data_offset + layout.n_traces * layout.trace_size
    return ExportResult(cfg.out, layout.n_traces, size, time.perf_counter() - started)
