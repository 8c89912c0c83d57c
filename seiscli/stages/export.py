"""``seis export SOURCE OUT``: a checkpoint to ONNX (``seiscli.deploy.export``), a volume or prediction
store back to SEG-Y."""

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


def run_export(cfg: ExportConfig, progress: Progress | None = None):
    """``cfg.source`` to ``cfg.out``: an ``OnnxExport`` for a checkpoint, an ``ExportResult`` for SEG-Y."""
    _check_kinds(cfg)
    if cfg.to_onnx:
        from seiscli.deploy.export import export_onnx

        return export_onnx(cfg.source, cfg.out, cfg.fp16, cfg.tolerance, cfg.overwrite)
    return _export_segy(cfg, progress)


def _check_kinds(cfg: ExportConfig) -> None:
    """A checkpoint goes to .onnx, a store to SEG-Y; the ONNX options only with ONNX, --variable only with SEG-Y."""
    from seiscli.errors import ConfigError

    checkpoint = cfg.source.suffix == ".safetensors"
    if checkpoint and not cfg.to_onnx:
        raise ConfigError(f"{cfg.out}: a checkpoint exports to an ONNX model; name the output *.onnx")
    if cfg.to_onnx and not checkpoint:
        raise ConfigError(f"{cfg.source}: only a checkpoint (.safetensors) exports to ONNX",
                          "a volume or prediction store exports to SEG-Y: name the output *.sgy")  # fmt: skip
    if cfg.to_onnx and cfg.variable is not None:
        raise ConfigError("--variable chooses what a store writes to SEG-Y; an ONNX export takes none")
    if not cfg.to_onnx and (cfg.fp16 or cfg.tolerance is not None):
        raise ConfigError("--fp16 and --tolerance are options of an ONNX export (a checkpoint to *.onnx)")


def _export_segy(cfg: ExportConfig, progress: Progress | None) -> ExportResult:
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
