"""Samples from a folder of image tiles and masks (TGS-salt style)."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from seiscli.config.preprocess import PreprocessConfig
from seiscli.data.images import Tile, assign_tile_splits, find_tiles, read_image, read_mask, read_split_file
from seiscli.data.normalize import Normalization, gather_statistics
from seiscli.errors import ConfigError
from seiscli.storage.dataset import DatasetLayout, assign_splits


def tile_plan(cfg: PreprocessConfig, normalization: Normalization):
    from seiscli.data.sources import PatchJob, Plan

    folder = cfg.inputs[0]
    tiles = find_tiles(Path(folder))
    shape = read_image(tiles[0].image).shape  # (C, H, W)
    codes = _splits(cfg, [t.id for t in tiles])
    normalization = gather_statistics(lambda: (read_image(t.image) for t in tiles), normalization)
    labelled = tiles[0].mask is not None
    classes = cfg.class_map()
    task = cfg.task or ("salt" if labelled else "pretrain")
    class_names = None
    if labelled:
        class_names = [f"class {i}" for i in sorted(set(classes.values()))] if classes else ["background", task]
    layout = DatasetLayout(task, len(tiles), shape, shape[1:] if labelled else None, "uint8", cfg.dtype, 4,
                           class_names, [str(folder)])  # fmt: skip
    positions = np.column_stack([np.full(len(tiles), -1), np.arange(len(tiles)), np.zeros((len(tiles), 2))])
    job = PatchJob(0, codes, positions.astype(np.int32), lambda: _samples(tiles, shape, normalization, classes))
    patch = {"tiles": True, "size": list(shape[1:]), "ids": [t.id for t in tiles], "split": cfg.split or "random"}
    return Plan(layout, [job], [normalization], patch)


def _splits(cfg: PreprocessConfig, ids: list[str]) -> np.ndarray:
    kind = cfg.split_kind("random")
    if kind == "file":
        return assign_tile_splits(ids, read_split_file(cfg.split_file()), cfg.val_fraction, cfg.seed)
    if kind == "random":
        return assign_splits(len(ids), cfg.split_fractions(), np.random.default_rng(cfg.seed))
    raise ConfigError(f"--split {cfg.split} does not apply to tiles: use random:F,F,F or file:PATH")


def _samples(tiles: list[Tile], shape: tuple[int, ...], normalization: Normalization,
             classes: dict[int, int] | None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:  # fmt: skip
    for tile in tiles:
        image = read_image(tile.image)  # (C, H, W)
        if image.shape != shape:
            raise ConfigError(f"{tile.image} is {image.shape}, the first tile {shape}: tiles must share one size")
        mask = read_mask(tile.mask, classes) if tile.mask is not None else None
        yield normalization.apply(image, time_axis=1), mask
