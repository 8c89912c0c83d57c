"""``seis synth KIND OUT_DIR``: labelled synthetic surveys, or velocity models and shot gathers."""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.config.synth import FWI_FAMILIES, SynthConfig
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.atomic import atomic_output, check_writable
from seiscli.storage.dataset import DatasetLayout, assign_splits, create_dataset_store
from seiscli.storage.labels import LabelVariable, write_label_store
from seiscli.storage.provenance import Invocation, make_provenance
from seiscli.storage.volume import SummaryStats
from seiscli.synth import MANIFEST
from seiscli.synth.jobs import fwi_job, geology_job, single_threaded_torch
from seiscli.synth.parallel import ordered_map

FWI_BATCH = 4  # velocity models per job


@dataclass
class SynthResult:
    path: Path
    kind: str
    files: list[str]
    count: int
    seconds: float
    unit: str  # what ``count`` counts: surveys or shot records
    warnings: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.count / max(self.seconds, 1e-9)


def run_synth(cfg: SynthConfig, invocation: Invocation | None = None, progress: Progress | None = None) -> SynthResult:
    """Generate ``cfg.count`` items in parallel into a new folder, then the optional preview."""
    progress = progress or SilentProgress()
    started = time.perf_counter()
    check_writable(cfg.out_dir, cfg.overwrite)
    if cfg.preview is not None:
        check_writable(cfg.preview, cfg.overwrite)
    provenance = make_provenance(invocation or Invocation("seis synth"), cfg, [], seed=cfg.seed)
    seeds = np.random.SeedSequence(cfg.seed).spawn(cfg.count)
    with atomic_output(cfg.out_dir, cfg.overwrite) as tmp:
        tmp.mkdir()
        make = _make_fwi if cfg.kind == "fwi" else _make_surveys
        files, facts = make(cfg, seeds, tmp, {"provenance": provenance}, progress)
        manifest = {"kind": cfg.kind, "count": cfg.count, "files": files, "facts": facts, "provenance": provenance}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=str))
    if cfg.preview is not None:
        _write_preview(cfg, files)
    unit = "shot records" if cfg.kind == "fwi" else "surveys"
    return SynthResult(cfg.out_dir, cfg.kind, files, cfg.count, time.perf_counter() - started, unit)


def _make_surveys(cfg: SynthConfig, seeds, folder: Path, attributes: dict, progress: Progress):
    shape = cfg.grid_shape()
    names = [f"{cfg.kind}-{i:04d}" for i in range(cfg.count)]
    jobs = [(cfg.kind, shape, seed, folder / f"{n}.sgy", folder / f"{n}.labels.zarr", attributes)
            for n, seed in zip(names, seeds)]  # fmt: skip
    progress.start(f"making {cfg.kind} surveys", cfg.count)
    facts = []
    for info in ordered_map(geology_job, jobs, cfg.workers):
        facts.append(info)
        progress.advance()
    return [f"{n}{suffix}" for n in names for suffix in (".sgy", ".labels.zarr")], facts


def _make_fwi(cfg: SynthConfig, seeds, folder: Path, attributes: dict, progress: Progress):
    grid = cfg.grid_shape()
    families = [FWI_FAMILIES[i % len(FWI_FAMILIES)] if cfg.family == "all" else cfg.family for i in range(cfg.count)]
    acquisition = {"n_shots": cfg.shots, "n_receivers": cfg.receivers, "n_time": cfg.time_samples,
                   "peak_frequency": cfg.frequency}  # fmt: skip
    # float32: shot gathers span ~7 decades of amplitude, beyond float16's range
    layout = DatasetLayout("velocity", cfg.count, (cfg.shots, cfg.time_samples, cfg.receivers), (1, *grid),
                           x_dtype="float32", sources=["velocity.labels.zarr"])  # fmt: skip
    split_rng = np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(cfg.count + 1)[-1])
    dataset = create_dataset_store(folder / "dataset.zarr", layout, {**attributes, "normalization": {"method": "none"},
                                   "acquisition": acquisition, "families": families})  # fmt: skip
    dataset["split"][:] = assign_splits(cfg.count, cfg.split, split_rng)
    dataset["position"][:] = np.arange(cfg.count, dtype=np.int32)[:, None]
    starts = range(0, cfg.count, FWI_BATCH)
    jobs = [(families[s : s + FWI_BATCH], seeds[s : s + FWI_BATCH], grid, acquisition) for s in starts]
    models = np.empty((cfg.count, *grid), np.float32)
    stats = {"x": SummaryStats(), "y": SummaryStats()}
    progress.start("simulating shot records", cfg.count)
    for start, (velocity, gathers) in zip(starts, ordered_map(fwi_job, jobs, cfg.workers, single_threaded_torch)):
        end = start + len(velocity)
        dataset["x"][start:end], dataset["y"][start:end] = gathers, velocity[:, None]
        models[start:end] = velocity
        stats = {"x": stats["x"] + SummaryStats.of(gathers), "y": stats["y"] + SummaryStats.of(velocity)}
        progress.advance(len(velocity))
    dataset.attrs.update(
        {"seis": {**dict(dataset.attrs)["seis"], "statistics": {k: v.__dict__ for k, v in stats.items()}}}
    )
    _write_velocity_labels(folder / "velocity.labels.zarr", models, attributes)
    return ["dataset.zarr", "velocity.labels.zarr"], {"families": families, "acquisition": acquisition}


def _write_velocity_labels(path: Path, models: np.ndarray, attributes: dict[str, Any]) -> None:
    dx = 10  # metres, OpenFWI's grid spacing
    coords = {
        "model": np.arange(len(models), dtype=np.int32),
        "depth": (np.arange(models.shape[1]) * dx).astype(np.int32),
        "x": (np.arange(models.shape[2]) * dx).astype(np.int32),
    }
    write_label_store(path, coords, {"velocity": LabelVariable(models, units="m/s")}, attributes, chunks=(64, 70, 70))


def _write_preview(cfg: SynthConfig, files: list[str]) -> None:
    from seiscli.viz.preview import preview_fwi, preview_survey

    with atomic_output(cfg.preview, cfg.overwrite) as tmp:
        if cfg.kind == "fwi":
            preview_fwi(cfg.out_dir / "dataset.zarr", tmp)
        else:
            preview_survey(cfg.out_dir / files[0], cfg.out_dir / files[1], tmp)
