"""``seis preprocess INPUT... OUT``: volumes (+ labels), tile folders or fwi datasets -> a dataset store."""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.config.preprocess import PreprocessConfig
from seiscli.data.normalize import Normalization
from seiscli.data.sources import PatchJob, detect_input_kind, plan_dataset, plan_tiles, plan_volumes
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.atomic import atomic_output, check_writable
from seiscli.storage.dataset import SampleWriter, create_dataset_store, write_columns
from seiscli.storage.provenance import Invocation, make_provenance


@dataclass
class PreprocessResult:
    path: Path
    task: str
    samples: int
    splits: dict[str, int]
    sample_shape: tuple[int, ...]
    seconds: float
    warnings: list[str] = field(default_factory=list)


def run_preprocess(cfg: PreprocessConfig, invocation: Invocation | None = None,
                   progress: Progress | None = None) -> PreprocessResult:  # fmt: skip
    """Plan every sample (geometry, splits, statistics) first, then stream them into the store."""
    progress = progress or SilentProgress()
    started = time.perf_counter()
    check_writable(cfg.out, cfg.overwrite)
    planners = {"volume": plan_volumes, "tiles": plan_tiles, "dataset": plan_dataset}
    plan = planners[detect_input_kind(cfg.inputs)](cfg)
    provenance = make_provenance(invocation or Invocation("seis preprocess"), cfg, list(cfg.inputs), cfg.seed)
    attributes = {"provenance": provenance, "normalization": _normalization_attrs(plan.normalizations),
                  "patch": plan.patch_attrs}  # fmt: skip
    with atomic_output(cfg.out, cfg.overwrite) as tmp:
        group = create_dataset_store(tmp, plan.layout, attributes)
        writer = SampleWriter(group, len(plan.layout.class_names or []))
        progress.start("cutting samples", plan.layout.n_samples)
        for job in plan.jobs:
            _write_job(job, writer, progress)
        writer.flush()
        write_columns(group, *_columns(plan.jobs))
        _record_frequencies(group, writer, plan.layout.class_names)
    counts = np.bincount(_columns(plan.jobs)[0], minlength=3)
    splits = dict(zip(("train", "val", "test"), counts.tolist()))
    return PreprocessResult(cfg.out, plan.layout.task, plan.layout.n_samples, splits, plan.layout.x_shape,
                            time.perf_counter() - started, plan.warnings)  # fmt: skip


def _write_job(job: PatchJob, writer: SampleWriter, progress: Progress) -> None:
    for x, y in job.samples():
        writer.add(x, y)
        progress.advance()


def _columns(jobs: list[PatchJob]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    split = np.concatenate([j.splits for j in jobs])
    source = np.concatenate([np.full(len(j.splits), j.source, np.int32) for j in jobs])
    return split, source, np.concatenate([j.positions for j in jobs])


def _normalization_attrs(normalizations: list[Normalization]) -> dict[str, Any]:
    first = normalizations[0].to_attrs()
    first.pop("stats")
    return {**first, "perSource": [n.stats for n in normalizations]}


def _record_frequencies(group, writer: SampleWriter, class_names: list[str] | None) -> None:
    if not class_names:
        return
    total = max(int(writer.class_pixels.sum()), 1)
    frequencies = {name: float(n) / total for name, n in zip(class_names, writer.class_pixels)}
    seis = dict(group.attrs)["seis"]
    group.attrs.update({"seis": {**seis, "classFrequencies": frequencies}})
