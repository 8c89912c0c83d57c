"""``seis benchmark infer``: seis's streaming inference side by side with MONAI's sliding_window_inference.

Both contenders run the same checkpoint over the same volume with the same windows, overlap,
Gaussian weights and batch size, one after the other, each in its own process (its peak memory is
its own), taking turns for ``repeats`` rounds: each row is the contender's median run (its highest
peak memory), so a change of machine load touches both alike. seis reads the volume chunk by chunk;
MONAI needs it whole in memory. The memory check runs seis again on a volume four times larger:
streaming should keep its peak where it was.
"""

import shutil
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from seiscli.bench.machine import describe_machine
from seiscli.bench.measure import measure
from seiscli.config.benchmark import InferBenchmarkConfig
from seiscli.errors import ConfigError, InputNotFoundError
from seiscli.progress import Progress, SilentProgress

MEMORY_TOLERANCE = 0.10  # the 4x volume's peak may exceed the small one's by this fraction
MONAI_LAYOUT = "inline sections stacked as one batch of images (I, 1, X, T), held whole in memory"


@dataclass
class InferRow:
    name: str  # seis, monai, or seis 4x (the memory check)
    shape: tuple[int, int, int]
    seconds: float  # the contender's own work: checkpoint load to finished class ids
    windows: int  # windows the model ran
    windows_per_s: float
    mb_per_s: float  # volume samples predicted per second, as float32 MB
    peak_mb: float  # peak resident memory of the contender's process
    ok: bool
    note: str = ""
    runs: int = 1  # the row is the median of this many runs


@dataclass
class InferBenchmark:
    model: str
    window: tuple[int, ...]
    overlap: float
    batch_size: int
    shape: tuple[int, int, int]
    rows: list[InferRow]
    machine: dict
    monai_layout: str = MONAI_LAYOUT
    memory_tolerance: float = MEMORY_TOLERANCE
    warnings: list[str] = field(default_factory=list)

    def _row(self, name: str) -> InferRow | None:
        return next((r for r in self.rows if r.name == name and r.ok), None)

    @property
    def ratio(self) -> float | None:
        """seis's throughput over MONAI's (MB/s of volume)."""
        seis, monai = self._row("seis"), self._row("monai")
        return seis.mb_per_s / monai.mb_per_s if seis and monai else None

    @property
    def memory_growth(self) -> float | None:
        """Peak memory on the 4x volume over that on the first one."""
        small, large = self._row("seis"), self._row("seis 4x")
        return large.peak_mb / small.peak_mb if small and large else None

    @property
    def memory_bounded(self) -> bool | None:
        growth = self.memory_growth
        return None if growth is None else growth <= 1 + self.memory_tolerance


def run_infer_benchmark(cfg: InferBenchmarkConfig, progress: Progress | None = None) -> InferBenchmark:
    """Prepare checkpoint and volume(s), then time each contender in its own process."""
    progress = progress or SilentProgress()
    if "monai" in cfg.contenders:
        _require_monai()
    if cfg.workdir and not cfg.workdir.is_dir():
        raise InputNotFoundError(f"--workdir {cfg.workdir} is not a folder", "create it first")
    work = Path(tempfile.mkdtemp(prefix="seis-bench-infer-", dir=cfg.workdir))
    warnings = []
    try:
        model, card = _checkpoint(cfg, work)
        if "monai" in cfg.contenders:
            _check_monai_can_run(card, cfg.model)
        volume, shape = (cfg.volume, _volume_shape(cfg.volume)) if cfg.volume else (None, cfg.size)
        runs = [(name, shape) for name in cfg.contenders] * cfg.repeats
        if cfg.memory_check and "seis" in cfg.contenders and not cfg.volume:
            runs.append(("seis 4x", (2 * shape[0], 2 * shape[1], shape[2])))
        progress.start("running contenders", len(runs))
        measured, chunks = {}, {}
        for name, run_shape in runs:
            run_volume = volume or _make_volume(work, run_shape, progress)
            measured.setdefault(name, []).append(_run(name, model, run_volume, run_shape, cfg, work))
            chunks[name] = _prediction_chunks(run_volume, card)
            progress.advance()
        rows = [median_row(name_runs) for name_runs in measured.values()]
        window = _window(card)
        if "seis 4x" in chunks and chunks["seis"] != chunks["seis 4x"]:
            warnings.append(_chunk_note(chunks["seis"], chunks["seis 4x"]))
        return InferBenchmark(cfg.model, window, cfg.overlap, cfg.batch_size, shape, rows, describe_machine(),
                              warnings=warnings)  # fmt: skip
    finally:
        if cfg.keep:
            warnings.append(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def median_row(runs: list[InferRow]) -> InferRow:
    """One contender's runs as one row: the run of median time with the highest peak memory; a failed
    run stands for all."""
    failed = [run for run in runs if not run.ok]
    if failed:
        return replace(failed[0], runs=len(runs))
    middle = sorted(runs, key=lambda run: run.seconds)[(len(runs) - 1) // 2]
    return replace(middle, peak_mb=max(run.peak_mb for run in runs), runs=len(runs))


def _require_monai() -> None:
    try:
        import monai  # noqa: F401
    except ImportError:
        raise ConfigError("MONAI is not installed: the monai contender needs it",
                          "pip install 'seis[bench]' (or drop it: --contenders seis)") from None  # fmt: skip


def _checkpoint(cfg: InferBenchmarkConfig, work: Path) -> tuple[str, dict]:
    """(path, card) of ``--model``: a checkpoint as given, or a registered model saved freshly initialized."""
    from seiscli.models import list_models

    if Path(cfg.model).is_file():
        from seiscli.training.checkpoint import read_card

        return cfg.model, read_card(Path(cfg.model))
    if cfg.model not in list_models():
        raise InputNotFoundError(f"--model {cfg.model}: no such checkpoint, nor a registered model",
                                 "give a checkpoint (.safetensors) or a model name such as unet_small")  # fmt: skip
    return _fresh_checkpoint(cfg.model, cfg.patch, work / "model.safetensors")


def _fresh_checkpoint(name: str, patch: tuple[int, int], path: Path) -> tuple[str, dict]:
    """A salt (binary) checkpoint of ``name`` with seeded random weights: speed does not depend on training."""
    import torch

    from seiscli.models import create_model
    from seiscli.training.checkpoint import save_weights
    from seiscli.training.tasks import make_task

    torch.manual_seed(0)
    model = create_model(name, num_classes=2).eval()
    task = make_task("salt", ["background", "salt"]).spec()
    card = {"model": model.card_args, "task": task, "classes": task.get("class_names"), "in_channels": 1,
            "sample_shape": [1, *patch], "patch": {"axes": ["inline"], "size": list(patch)},
            "normalization": {"method": "zscore", "clip": 3.0, "percentiles": [0.5, 99.5], "agcWindow": 64}}  # fmt: skip
    save_weights(path, model.state_dict(), card)
    return str(path), card


def _check_monai_can_run(card: dict, model: str) -> None:
    """The MONAI contender runs 2D models on inline sections, the way seis runs them by default."""
    patch = card.get("patch") or {}
    if len(patch.get("size") or []) != 2 or "inline" not in (patch.get("axes") or ["inline"]):
        raise ConfigError(f"{model} is not a model of 2D inline sections: the monai contender runs only those",
                          "give a 2D inline-section checkpoint, or --contenders seis")  # fmt: skip


def _prediction_chunks(volume: str, card: dict) -> tuple[int, ...]:
    """The chunks seis infer predicts in on this volume (inline sections): what bounds its memory."""
    from seiscli.data.volume_patches import open_source
    from seiscli.inference.windows import work_chunks

    source = open_source(volume, None, None)
    store_chunks = tuple(source.volume.amplitude.chunks)
    store_chunks = (1,) * (3 - len(store_chunks)) + store_chunks  # a 2D line is one inline
    return work_chunks(source.shape, store_chunks, (1, *_window(card))[-3:])


def _window(card: dict) -> tuple[int, ...]:
    """The checkpoint's window, as seis infer takes it: its patch, else its training sample's grid."""
    return tuple((card.get("patch") or {}).get("size") or card["sample_shape"][1:])


def _chunk_note(small: tuple[int, ...], large: tuple[int, ...]) -> str:
    as_text = lambda chunks: "x".join(map(str, chunks))  # noqa: E731
    return (f"seis predicts the first volume in {as_text(small)} chunks, the 4x one in {as_text(large)}: the first "
            "is smaller than a full chunk, so memory grows until a volume fills one, then stays flat")  # fmt: skip


def _volume_shape(volume: str) -> tuple[int, int, int]:
    from seiscli.data.volume_patches import open_source

    return tuple(open_source(volume, None, None).shape)


def _make_volume(work: Path, shape: tuple[int, int, int], progress: Progress) -> str:
    """A generated SEG-Y cube ingested by seis (default chunks); reused when the same shape comes again."""
    from seiscli.bench.segy_synth import write_benchmark_segy
    from seiscli.config.ingest import IngestConfig
    from seiscli.stages.ingest import run_ingest

    store = work / f"volume-{'x'.join(map(str, shape))}.mdio"
    if not store.exists():
        progress.log(f"writing and ingesting a {' x '.join(map(str, shape))} volume")
        segy = work / "volume.sgy"
        write_benchmark_segy(segy, *shape)
        run_ingest(IngestConfig(segy=segy, out=store))
        segy.unlink()
    return str(store)


def _run(name: str, model: str, volume: str, shape: tuple[int, int, int], cfg: InferBenchmarkConfig,
         work: Path) -> InferRow:  # fmt: skip
    """One contender in its own process; its own timing comes back in a report file."""
    import json

    program = name.split()[0]
    report, out = work / f"{program}.json", work / ("prediction.zarr" if program == "seis" else "prediction.npy")
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "seiscli.bench.infer_contenders", program, str(report), model, volume, str(out),
               str(cfg.overlap), str(cfg.batch_size)]  # fmt: skip
    measured = measure(command)
    if measured.returncode != 0 or not report.exists():
        return InferRow(name, shape, measured.seconds, 0, 0.0, 0.0, measured.peak_rss_bytes / 1e6, False,
                        measured.stderr_tail or f"exit code {measured.returncode}")  # fmt: skip
    own = json.loads(report.read_text())
    seconds, volume_mb = own["seconds"], 4 * float(np.prod(shape)) / 1e6
    return InferRow(name, shape, seconds, own["windows"], own["windows"] / seconds, volume_mb / seconds,
                    measured.peak_rss_bytes / 1e6, True)  # fmt: skip
