"""Plan a dataset before writing it: which samples, from where, in which split, normalized how."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.config.preprocess import PreprocessConfig
from seiscli.data.normalize import Normalization
from seiscli.data.patches import DROPPED, PatchPlan, blocked_split, footprint, live_fraction, patch_corners
from seiscli.data.volume_patches import VolumeSource, cut_patches, open_source, source_statistics
from seiscli.errors import ConfigError, NotAnArtifactError
from seiscli.storage.dataset import DatasetLayout, assign_splits
from seiscli.storage.location import exists, is_remote, read_member


@dataclass
class PatchJob:
    """The samples of one source and orientation, produced in order by ``samples()``."""

    source: int
    splits: np.ndarray  # (K,) split codes
    positions: np.ndarray  # (K, 4): axis code, inline, crossline, sample corner (tiles: -1, index, 0, 0)
    samples: Callable[[], Iterator[tuple[np.ndarray, np.ndarray | None]]]


@dataclass
class Plan:
    layout: DatasetLayout
    jobs: list[PatchJob]
    normalizations: list[Normalization]
    patch_attrs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def detect_input_kind(inputs: list[str]) -> str:
    """``volume``, ``tiles`` or ``dataset``: all inputs must be of one kind."""
    kinds = {_kind(p) for p in inputs}
    if len(kinds) > 1:
        raise ConfigError(f"inputs mix {' and '.join(sorted(kinds))}: preprocess one kind at a time")
    kind = kinds.pop()
    if kind != "volume" and len(inputs) > 1:
        raise ConfigError(f"give one {kind} input at a time (several inputs are for volume stores)")
    return kind


def _kind(location: str) -> str:
    meta = read_member(location, "zarr.json")
    if meta is not None:
        seis = json.loads(meta).get("attributes", {}).get("seis", {})
        return "dataset" if seis.get("kind") == "dataset" else "volume"
    if not is_remote(location) and Path(location).is_dir():
        return "tiles"
    if not exists(location):
        raise NotAnArtifactError(f"{location} does not exist", "check the input path")
    raise NotAnArtifactError(f"{location} is not a volume store, dataset store or tile folder",
                             "SEG-Y files go through seis ingest first")  # fmt: skip


def _normalization(cfg: PreprocessConfig) -> Normalization:
    return Normalization(cfg.normalize, cfg.clip, cfg.percentiles, cfg.agc_window)


def plan_volumes(cfg: PreprocessConfig) -> Plan:
    """Patches from every volume store, their splits, and each volume's normalization."""
    labels = cfg.labels or [None] * len(cfg.inputs)
    sources = [open_source(path, label, cfg.task) for path, label in zip(cfg.inputs, labels)]
    plans = _patch_plans(cfg)
    rng = np.random.default_rng(cfg.seed)
    jobs, normalizations, warnings = [], [], []
    for index, source in enumerate(sources):
        normalization = source_statistics(source, _normalization(cfg))
        normalizations.append(normalization)
        for plan in plans:
            corners, codes = _volume_patches(cfg, source, plan, rng)
            positions = np.column_stack([np.full(len(corners), plan.code), corners]).astype(np.int32)
            jobs.append(PatchJob(index, codes, positions, partial(cut_patches, source, plan, corners, normalization)))
    task, y_shape, y_dtype, class_names = _targets(cfg, sources[0])
    n = sum(len(j.splits) for j in jobs)
    if n == 0:
        raise ConfigError("no patch qualifies: lower --min-live, use a smaller --patch or --gap")
    counts = np.bincount(np.concatenate([j.splits for j in jobs]), minlength=3)
    warnings += [f"the {name} split is empty: the volume is small for these splits with --gap {cfg.gap} "
                 "(try a smaller --gap or --split random:0.8,0.1,0.1)"
                 for name, c, wanted in zip(("train", "val", "test"), counts, _wanted_splits(cfg))
                 if c == 0 and wanted]  # fmt: skip
    layout = DatasetLayout(task, n, (1, *cfg.patch), y_shape, y_dtype, cfg.dtype, 4, class_names, list(cfg.inputs))
    patch = {"axes": [p.axis for p in plans], "size": list(cfg.patch), "stride": list(cfg.effective_stride()),
             "minLive": cfg.min_live, "split": cfg.split or "blocked:0.8,0.1,0.1", "gap": cfg.gap,
             "layout": "sections (sample, lateral); time slices (inline, crossline); cubes (inline, crossline, sample)"}  # fmt: skip
    return Plan(layout, jobs, normalizations, patch, warnings)


def _patch_plans(cfg: PreprocessConfig) -> list[PatchPlan]:
    if len(cfg.patch) == 3:
        return [PatchPlan("cube", cfg.patch, cfg.effective_stride())]
    return [PatchPlan(axis, cfg.patch, cfg.effective_stride()) for axis in cfg.axes]


def _wanted_splits(cfg) -> tuple[bool, bool, bool]:
    """Which of train, val, test the --split asks for: a fraction of 0 asks for an empty split."""
    if cfg.split_kind("blocked") in ("blocked", "random"):
        return tuple(f > 0 for f in cfg.split_fractions())
    return (True, True, True)


def _volume_patches(cfg: PreprocessConfig, source: VolumeSource, plan: PatchPlan, rng: np.random.Generator):
    line = source.shape[0] == 1
    if line and plan.axis in ("crossline", "sample", "cube"):
        raise ConfigError(f"{source.path} is a 2D line: it has only inline sections (no {plan.axis} patches)")
    try:
        corners = patch_corners(source.shape, plan)
    except ValueError as error:
        raise ConfigError(f"--patch {'x'.join(map(str, plan.size))} does not fit {source.path} "
                          f"(inline x crossline x sample = {' x '.join(map(str, source.shape))}): {error}") from None  # fmt: skip
    inline, crossline = footprint(corners, plan)
    keep = live_fraction(source.mask, inline, crossline) >= cfg.min_live
    kind = cfg.split_kind("blocked")
    if kind == "blocked":  # along inlines; a 2D line along its CDPs
        extent, length = (crossline, source.shape[1]) if line else (inline, source.shape[0])
        codes = blocked_split(extent, length, cfg.split_fractions(), cfg.gap)
    elif kind == "random":
        codes = assign_splits(len(corners), cfg.split_fractions(), rng)
    else:
        raise ConfigError(f"--split {cfg.split} is for tile folders or datasets; volumes use blocked: or random:")
    keep &= codes != DROPPED
    return corners[keep], codes[keep]


def _targets(cfg: PreprocessConfig, source: VolumeSource):
    """(task, y sample shape, y dtype, class names) of the labels, or unlabelled pretraining."""
    if source.labels is None:
        return cfg.task or "pretrain", None, "uint8", None
    task = source.labels.path.rsplit("/", 1)[-1]
    if task == "velocity":
        return task, (1, *cfg.patch), "float32", None
    names = source.labels.attrs.get("classNames")
    return task, tuple(cfg.patch), "uint8", names


def plan_tiles(cfg: PreprocessConfig) -> Plan:
    """Samples from a folder of image tiles (and masks)."""
    from seiscli.data.tiles import tile_plan

    return tile_plan(cfg, _normalization(cfg))


def plan_dataset(cfg: PreprocessConfig) -> Plan:
    """A dataset store passed through: re-normalized, split kept or redrawn."""
    from seiscli.data.passthrough import dataset_plan

    return dataset_plan(cfg, _normalization(cfg))
