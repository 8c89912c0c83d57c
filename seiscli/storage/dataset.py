"""Dataset stores: what training reads.

Layout::

    x         (N, C, H, W) or (N, C, D, H, W)   inputs (float16 by default)
    y         (N, ...)                          targets: class ids or values (absent when unlabelled)
    split     (N,) uint8                        index into attrs ``splits`` (train / val / test)
    source    (N,) int32                        index into attrs ``sources`` (the store a sample came from)
    position  (N, K) int32                      where in its source: model index, or axis + corner

Root attributes (``seis``): kind "dataset", task, class names, patch geometry, normalization
(method + statistics), sources, provenance — every checkpoint trained on it carries them forward.

``x`` and ``y`` have one chunk per sample (a random read decodes one sample) grouped into shards of
a few MiB (few files, large reads on object storage).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.errors import NotAnArtifactError
from seiscli.storage.location import as_location, open_group

SPLITS = ("train", "val", "test")
_SHARD_BYTES = 4 << 20  # samples per shard: about 4 MiB of inputs


@dataclass(frozen=True)
class DatasetLayout:
    """Shapes and meaning of a dataset store's samples."""

    task: str
    n_samples: int
    x_shape: tuple[int, ...]  # one sample: (C, H, W) or (C, D, H, W)
    y_shape: tuple[int, ...] | None  # None: unlabelled (pretraining)
    y_dtype: str = "float32"
    x_dtype: str = "float16"
    position_width: int = 1
    class_names: list[str] | None = None
    sources: list[str] = field(default_factory=list)

    def attributes(self) -> dict[str, Any]:
        return {"kind": "dataset", "task": self.task, "classNames": self.class_names, "splits": list(SPLITS),
                "sources": self.sources,
                "sampleShape": {"x": list(self.x_shape), "y": list(self.y_shape) if self.y_shape else None}}  # fmt: skip


def create_dataset_store(path: Path, layout: DatasetLayout, attributes: dict[str, Any]):
    """Create an empty dataset store; fill it with ``write_samples``."""
    import zarr
    from zarr.codecs import BloscCodec

    seis = {**layout.attributes(), **attributes}
    group = zarr.open_group(path, mode="w-", zarr_format=3, attributes={"seis": seis})
    codecs = {"compressors": [BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")]}
    n = max(layout.n_samples, 1)
    per_shard = min(n, max(1, _SHARD_BYTES // (np.dtype(layout.x_dtype).itemsize * int(np.prod(layout.x_shape)))))
    samples = {"x": (layout.x_shape, layout.x_dtype)}
    if layout.y_shape is not None:
        samples["y"] = (layout.y_shape, layout.y_dtype)
    for name, (shape, dtype) in samples.items():
        group.create_array(name, shape=(layout.n_samples, *shape), dtype=dtype, chunks=(1, *shape),
                           shards=(per_shard, *shape), fill_value=0, **codecs)  # fmt: skip
    columns = {"split": ((), "uint8"), "source": ((), "int32"), "position": ((layout.position_width,), "int32")}
    for name, (shape, dtype) in columns.items():
        group.create_array(
            name, shape=(layout.n_samples, *shape), dtype=dtype, chunks=(n, *shape), fill_value=0, **codecs
        )
    return group


class SampleWriter:
    """Appends samples (x, y) to a new dataset store in whole shards, and counts class pixels.

    The per-sample columns (split, source, position) are known before any sample is cut; the
    caller writes them once with ``write_columns``.
    """

    def __init__(self, group, n_classes: int = 0):
        self.group = group
        self.batch = group["x"].shards[0] if group["x"].shards else group["x"].chunks[0]
        self.buffers: dict[str, list] = {"x": [], "y": []}
        self.written = 0
        self.class_pixels = np.zeros(n_classes, np.int64)

    def add(self, x: np.ndarray, y: np.ndarray | None) -> None:
        self.buffers["x"].append(x)
        if y is not None:
            self.buffers["y"].append(y)
            if len(self.class_pixels):
                self.class_pixels += np.bincount(y.ravel(), minlength=len(self.class_pixels))[: len(self.class_pixels)]
        if len(self.buffers["x"]) == self.batch:
            self.flush()

    def flush(self) -> None:
        count = len(self.buffers["x"])
        if count == 0:
            return
        region = slice(self.written, self.written + count)
        for name, values in self.buffers.items():
            if values:
                self.group[name][region] = np.stack(values).astype(self.group[name].dtype, copy=False)
                values.clear()
        self.written += count


def write_columns(group, split: np.ndarray, source: np.ndarray, position: np.ndarray) -> None:
    """The per-sample columns of a dataset store, in one write each."""
    group["split"][:] = split
    group["source"][:] = source
    group["position"][:] = position


def assign_splits(n: int, fractions: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    """Split codes (0 train, 1 val, 2 test) in the given proportions, shuffled by ``rng``."""
    counts = np.floor(np.asarray(fractions) * n).astype(int)
    counts[0] += n - counts.sum()  # rounding leftovers go to training
    codes = np.repeat(np.arange(3, dtype=np.uint8), counts)
    return rng.permutation(codes)


class DatasetStore:
    """A dataset store opened read-only."""

    def __init__(self, path: Path, group):
        self.path = path
        self.group = group
        self.attrs: dict[str, Any] = dict(group.attrs)["seis"]
        self.x = group["x"]
        self.y = group["y"] if "y" in group else None

    def __len__(self) -> int:
        return self.x.shape[0]

    def split_counts(self) -> dict[str, int]:
        codes = self.group["split"][...]
        return {name: int((codes == i).sum()) for i, name in enumerate(self.attrs["splits"])}


def open_dataset(path: str | Path) -> DatasetStore:
    """Open a dataset store (local or a URL), or explain why ``path`` is not one."""
    group = open_group(path, "dataset store")
    if dict(group.attrs).get("seis", {}).get("kind") != "dataset":
        raise NotAnArtifactError(f"{path} is not a dataset store (no seis.kind = dataset attribute)")
    return DatasetStore(as_location(path), group)
