"""A dataset store (e.g. from ``seis synth fwi``) re-normalized and re-split into a new one."""

from collections.abc import Iterator

import numpy as np

from seiscli.config.preprocess import PreprocessConfig
from seiscli.data.normalize import Normalization, gather_statistics
from seiscli.errors import ConfigError
from seiscli.storage.dataset import DatasetLayout, DatasetStore, assign_splits, open_dataset

READ_SAMPLES = 64  # samples read at a time while streaming statistics


def dataset_plan(cfg: PreprocessConfig, normalization: Normalization):
    from seiscli.data.sources import PatchJob, Plan

    source = open_dataset(cfg.inputs[0])
    n = len(source)
    kind = cfg.split_kind("keep")
    if kind == "keep":
        codes = source.group["split"][...]
    elif kind == "random":
        codes = assign_splits(n, cfg.split_fractions(), np.random.default_rng(cfg.seed))
    else:
        raise ConfigError(f"--split {cfg.split} does not apply to a dataset store: use keep or random:F,F,F")
    normalization = gather_statistics(lambda: (x for x, _ in _batches(source)), normalization)
    y = source.y
    layout = DatasetLayout(source.attrs["task"], n, source.x.shape[1:], y.shape[1:] if y is not None else None,
                           str(y.dtype) if y is not None else "uint8", cfg.dtype, source.group["position"].shape[1],
                           source.attrs.get("classNames"), [cfg.inputs[0]])  # fmt: skip
    positions = source.group["position"][...]
    job = PatchJob(0, codes, positions, lambda: _samples(source, normalization))
    return Plan(layout, [job], [normalization], {"from": "dataset", "split": cfg.split or "keep"})


def _batches(source: DatasetStore) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    for start in range(0, len(source), READ_SAMPLES):
        stop = min(start + READ_SAMPLES, len(source))
        yield source.x[start:stop], (source.y[start:stop] if source.y is not None else None)


def _samples(source: DatasetStore, normalization: Normalization) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    for x, y in _batches(source):
        for i in range(len(x)):  # a sample is (C, T, R) for shot gathers: time is axis 1
            yield normalization.apply(x[i], time_axis=1), (y[i] if y is not None else None)
