"""Training batches from a dataset store: a torch ``Dataset`` over one split, and its ``DataLoader``.

Reproducibility does not hang on workers. The sampler tags every position with its epoch, and a
sample's augmentation draws from a generator seeded by (seed, epoch, sample index): the same seed
gives the same batches, augmented the same way, with 0, 2 or 8 workers, in whatever order the
workers finish, and from any epoch on after a resume (``loader.sampler.set_epoch``).

Reading: zarr 3 spends 1-2 ms of Python per chunk it reads, whatever the chunk's size, so a random
sample costs about that much however small it is (measured: ~300 pairs (x, y) per second on one
core for 128 x 128 float16 samples in shards). Each batch's reads are issued together, which zarr
overlaps (2x), and the store is read one of two ways:

- a store whose ``x`` and ``y`` fit in ``cache_mb`` is read one whole shard at a time (one zarr call
  for a few MiB, ~4x faster per sample) and kept in each worker: after the first batches, every
  epoch comes from memory (measured: ~4000 augmented samples/s from 2 workers on 2 cores);
- a larger store is streamed: rows a few apart become one slice (a sequential pass reads whole
  runs), isolated ones one chunk each (measured: ~700 samples/s shuffled, ~1000 in order).
"""

import asyncio
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from seiscli.data.augment import Augment
from seiscli.data.patches import AXES
from seiscli.storage.dataset import DatasetStore, open_dataset
from seiscli.storage.location import as_location

CACHE_MB = 512  # per worker process
_MAX_GAP = 8  # rows: a batch's indices closer than this are read as one slice, the rows between dropped

Key = tuple[int, int] | int  # (epoch, position in the split), or a bare position for epoch 0
Sample = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
NOT_CUT = -1  # orientation of a sample not cut from a volume (tiles, fwi): time/depth is its first spatial axis
# Where time/depth lies in a sample, by the orientation seis preprocess cut it in (seiscli.data.patches):
# sections are (sample, lateral), time slices (inline, crossline), cubes (inline, crossline, sample).
_VERTICAL = {NOT_CUT: 0, AXES.index("inline"): 0, AXES.index("crossline"): 0, AXES.index("sample"): None,
             AXES.index("cube"): -1}  # fmt: skip


class EpochSampler(Sampler[tuple[int, int]]):
    """The positions of a split, each as (epoch, position), shuffled by (seed, epoch) if asked.

    Each pass is the next epoch; ``set_epoch`` starts elsewhere (a resumed run).
    """

    def __init__(self, n: int, shuffle: bool, seed: int = 0, rank: int = 0, world: int = 1,
                 global_batch: int | None = None):  # fmt: skip
        self.n, self.shuffle, self.seed = n, shuffle, seed
        self.rank, self.world, self.global_batch = rank, world, global_batch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._shard(np.arange(self.n)))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        order = np.random.default_rng((self.seed, epoch)).permutation(self.n) if self.shuffle else np.arange(self.n)
        return ((epoch, int(k)) for k in self._shard(order))

    def _shard(self, order: np.ndarray) -> np.ndarray:
        """This rank's positions. With a global batch, rank r takes the r-th slice of every global
        batch, so W processes see exactly the batches one process would (whole batches only)."""
        if self.world == 1:
            return order
        if self.global_batch is None:
            return order[self.rank :: self.world]
        batches = len(order) // self.global_batch
        per_rank = self.global_batch // self.world
        grid = order[: batches * self.global_batch].reshape(batches, self.global_batch)  # (batches, B)
        return grid[:, self.rank * per_rank : (self.rank + 1) * per_rank].ravel()


class _Reader:
    """The zarr handles of one process, opened there on first use: they are never pickled."""

    def __init__(self, path: str | Path, cache: bool, labelled: bool):
        store = open_dataset(path)
        self.arrays = [store.x, store.y] if labelled else [store.x]
        self.cache: list[dict[int, np.ndarray]] | None = [{} for _ in self.arrays] if cache else None

    def read(self, rows: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """(x row, y row) per store row, in the order asked, as stored (float16 or float32 x)."""
        columns = self._from_runs(rows) if self.cache is None else self._from_cache(rows)
        return list(zip(*columns))

    def _from_runs(self, rows: np.ndarray) -> list[list[np.ndarray]]:
        """One read per run of nearby rows and array, all at once (a sequential batch: one per array)."""
        runs = _runs(rows)
        blocks = _read_concurrently([(array, slice(start, stop)) for array in self.arrays for start, stop, _ in runs])
        columns = []
        for k in range(len(self.arrays)):
            column: list[np.ndarray] = [None] * len(rows)  # type: ignore[list-item]
            for (start, _, slots), block in zip(runs, blocks[k * len(runs) : (k + 1) * len(runs)]):
                for slot in slots:  # block: (stop - start, *sample)
                    column[slot] = block[rows[slot] - start]
            columns.append(column)
        return columns

    def _from_cache(self, rows: np.ndarray) -> list[list[np.ndarray]]:
        """Rows from whole shards (or chunks), each read once, then kept."""
        sizes = [(array.shards or array.chunks)[0] for array in self.arrays]
        missing = [(array, blocks, size, int(b)) for array, blocks, size in zip(self.arrays, self.cache, sizes)
                   for b in np.unique(rows // size) if b not in blocks]  # fmt: skip
        fetched = _read_concurrently([(array, slice(b * size, (b + 1) * size)) for array, _, size, b in missing])
        for (_, blocks, _, b), block in zip(missing, fetched):
            blocks[b] = block  # (size, *sample)
        return [[blocks[row // size][row % size] for row in rows] for blocks, size in zip(self.cache, sizes)]


def _runs(rows: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Nearby rows as slices to read: (start, stop, where in ``rows`` the rows inside are)."""
    order = np.argsort(rows, kind="stable")
    breaks = np.flatnonzero(np.diff(rows[order]) > _MAX_GAP) + 1
    return [(int(rows[run[0]]), int(rows[run[-1]]) + 1, run) for run in np.split(order, breaks)]


def _read_concurrently(requests: list[tuple[Any, slice]]) -> list[np.ndarray]:
    """Every (array, rows) request at once: zarr overlaps their reads (measured 2x faster than in turn)."""
    from zarr.core.sync import sync  # what zarr's blocking calls run on: its own I/O loop thread

    async def gather() -> list[np.ndarray]:
        return await asyncio.gather(*(array.async_array.getitem(rows) for array, rows in requests))

    return sync(gather())


class SeismicDataset(Dataset):
    """One split of a dataset store: (x float32, y) tensors, augmented on the fly.

    ``y`` is int64 for class ids and float32 for values; a store without targets (or any store read
    with ``inputs_only``) gives ``x`` alone. Item ``(epoch, k)`` is the split's k-th sample as augmented
    in that epoch.
    """

    def __init__(
        self,
        path: str | Path,
        split: str = "train",
        augment: Augment | None = None,
        seed: int = 0,
        cache_mb: int = CACHE_MB,
        inputs_only: bool = False,
    ):
        store = open_dataset(path)
        splits = store.attrs["splits"]
        if split not in splits:
            raise ValueError(f"unknown split {split!r}; the store has {', '.join(splits)}")
        self.path, self.split, self.seed = as_location(path), split, seed
        self.indices = np.flatnonzero(store.group["split"][...] == splits.index(split))  # (n,) store rows
        self.orientations = _orientations(store)[self.indices]  # (n,)
        self.augments = _per_orientation(augment, self.orientations)
        self.task: str = store.attrs["task"]
        self.class_names: list[str] | None = store.attrs.get("classNames")
        self.labelled = store.y is not None and not inputs_only
        self.classes = self.labelled and np.issubdtype(store.y.dtype, np.integer)
        self.y_dtype = np.int64 if self.classes else np.float32
        self.sample_shape, self.x_dtype = tuple(store.x.shape[1:]), str(store.x.dtype)
        stored = store.x.nbytes + (store.y.nbytes if self.labelled else 0)
        self.cached = stored <= cache_mb * 2**20
        self._reader: _Reader | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_reader": None}  # each worker opens the store itself

    def __getitem__(self, key: Key) -> Sample:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: Sequence[Key]) -> list[Sample]:
        """A whole batch at once (torch's fetcher calls this), so nearby rows share reads."""
        if self._reader is None:
            self._reader = _Reader(self.path, self.cached, self.labelled)
        epochs, positions = zip(*((0, key) if isinstance(key, int | np.integer) else key for key in keys))
        rows = self.indices[list(positions)]
        samples = zip(epochs, positions, rows, self._reader.read(rows))
        return [self._sample(epoch, position, row, arrays) for epoch, position, row, arrays in samples]

    def _sample(self, epoch: int, position: int, row: int, arrays: tuple[np.ndarray, ...]) -> Sample:
        x = arrays[0].astype(np.float32)  # a copy: the row may be a view into the cache
        y = arrays[1] if self.labelled else None
        if self.augments:
            augment = self.augments[int(self.orientations[position])]
            x, y = augment(x, y, np.random.default_rng((self.seed, epoch, int(row))))
        x_tensor = torch.from_numpy(np.ascontiguousarray(x))  # flips leave negative strides
        if y is None:
            return x_tensor
        return x_tensor, torch.from_numpy(np.array(y, dtype=self.y_dtype, order="C"))  # a copy, never the cache


class CorpusDataset(Dataset):
    """The same split of several stores as one dataset: position k runs through them in the given order.

    Item ``(epoch, k)`` is the k-th sample of the concatenation, read and augmented by its own store's
    ``SeismicDataset``; a batch is read store by store, so each keeps its grouped reads.
    """

    def __init__(self, parts: Sequence[SeismicDataset]):
        shapes = {part.sample_shape for part in parts}
        if len(shapes) > 1:
            listing = ", ".join(f"{part.path} {part.sample_shape}" for part in parts)
            raise ValueError(f"the stores' samples differ in shape ({listing}): they cannot share a batch")
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(part) for part in parts])  # (parts + 1,)
        self.sample_shape = parts[0].sample_shape

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, key: Key) -> Sample:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: Sequence[Key]) -> list[Sample]:
        epochs, positions = zip(*((0, key) if isinstance(key, int | np.integer) else key for key in keys))
        owners = np.searchsorted(self.offsets, positions, side="right") - 1  # (len(keys),) part of each key
        samples: list[Sample] = [None] * len(keys)  # type: ignore[list-item]
        for part in np.unique(owners):
            slots = np.flatnonzero(owners == part)
            local = [(epochs[s], positions[s] - int(self.offsets[part])) for s in slots]
            for slot, sample in zip(slots, self.parts[part].__getitems__(local)):
                samples[slot] = sample
        return samples


def _orientations(store: DatasetStore) -> np.ndarray:
    """(N,) the axis code seis preprocess recorded for each sample cut from a volume, else NOT_CUT."""
    if "axes" not in (store.attrs.get("patch") or {}):
        return np.full(len(store), NOT_CUT, np.int32)
    return store.group["position"][:, 0]


def _per_orientation(augment: Augment | None, orientations: np.ndarray) -> dict[int, Augment]:
    """``augment`` told where time/depth lies, for each orientation present."""
    if augment is None:
        return {}
    return {int(o): dataclasses.replace(augment, vertical_axis=_VERTICAL[int(o)]) for o in np.unique(orientations)}


def make_loader(
    path: str | Path | Sequence[str | Path],
    split: str = "train",
    batch_size: int = 32,
    workers: int = 2,
    augment: Augment | None = None,
    seed: int = 0,
    shuffle: bool | None = None,
    *,
    prefetch: int = 2,
    cache_mb: int = CACHE_MB,
    drop_last: bool = False,
    rank: int = 0,
    world: int = 1,
    inputs_only: bool = False,
) -> DataLoader:
    """Batches of one split on ``workers`` processes kept across epochs; shuffled for train by default.

    ``path`` is one store, or a list of stores read as one corpus (samples of one shape). Under DDP
    (``world`` > 1) ``batch_size`` is the global batch: each rank gets its slice of it. ``inputs_only``
    yields ``x`` alone even from labelled stores.
    """
    if isinstance(path, str | Path):
        dataset = SeismicDataset(path, split, augment, seed, cache_mb, inputs_only)
    else:
        dataset = CorpusDataset([SeismicDataset(p, split, augment, seed, cache_mb, inputs_only) for p in path])
    shuffle = split == "train" if shuffle is None else shuffle
    sampler = EpochSampler(len(dataset), shuffle, seed, rank, world, batch_size if drop_last else None)
    return DataLoader(
        dataset,
        batch_size=max(1, batch_size // world) if drop_last else batch_size,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=prefetch if workers > 0 else None,
        # Seeds torch's own RNG in the workers; the augmentations use their per-sample generators.
        generator=torch.Generator().manual_seed(seed),
        drop_last=drop_last,
    )
