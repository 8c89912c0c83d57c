"""Dataset stores: what training reads.

Layout::

    x         (N, C, H, W) or (N, C, D, H, W)   inputs
    y         (N, ...)                          targets: class ids or values
    split     (N,) uint8                        index into attrs ``splits`` (train / val / test)
    source    (N,) int32                        index into attrs ``sources`` (the store a sample came from)
    position  (N, K) int32                      where in its source: model index, or axis + corner

Root attributes (``seis``): kind "dataset", task, class names, patch geometry, normalization
(method + statistics), sources, provenance — every checkpoint trained on it carries them forward.
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.errors import NotAnArtifactError

SPLITS = ("train", "val", "test")
_CHUNK_BYTES = 4 << 20  # samples per chunk: about 4 MiB of inputs


@dataclass(frozen=True)
class DatasetLayout:
    """Shapes and meaning of a dataset store's samples."""

    task: str
    n_samples: int
    x_shape: tuple[int, ...]  # one sample: (C, H, W) or (C, D, H, W)
    y_shape: tuple[int, ...]
    y_dtype: str = "float32"
    position_width: int = 1
    class_names: list[str] | None = None
    sources: list[str] = field(default_factory=list)

    def attributes(self) -> dict[str, Any]:
        return {"kind": "dataset", "task": self.task, "classNames": self.class_names, "splits": list(SPLITS),
                "sources": self.sources, "sampleShape": {"x": list(self.x_shape), "y": list(self.y_shape)}}  # fmt: skip


def create_dataset_store(path: Path, layout: DatasetLayout, attributes: dict[str, Any]):
    """Create an empty dataset store; fill it with ``write_samples``."""
    import zarr
    from zarr.codecs import BloscCodec

    per_chunk = max(1, _CHUNK_BYTES // (4 * int(np.prod(layout.x_shape))))
    seis = {**layout.attributes(), **attributes}
    group = zarr.open_group(path, mode="w-", zarr_format=3, attributes={"seis": seis})
    codecs = {"compressors": [BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")]}
    n = layout.n_samples
    arrays = {
        "x": ((n, *layout.x_shape), "float32", (per_chunk, *layout.x_shape)),
        "y": ((n, *layout.y_shape), layout.y_dtype, (per_chunk, *layout.y_shape)),
        "split": ((n,), "uint8", (max(n, 1),)),
        "source": ((n,), "int32", (max(n, 1),)),
        "position": ((n, layout.position_width), "int32", (max(n, 1), layout.position_width)),
    }
    for name, (shape, dtype, chunks) in arrays.items():
        group.create_array(name, shape=shape, dtype=dtype, chunks=chunks, fill_value=0, **codecs)
    return group


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
        self.y = group["y"]

    def __len__(self) -> int:
        return self.x.shape[0]

    def split_counts(self) -> dict[str, int]:
        codes = self.group["split"][...]
        return {name: int((codes == i).sum()) for i, name in enumerate(self.attrs["splits"])}


def open_dataset(path: Path) -> DatasetStore:
    """Open a dataset store, or explain why ``path`` is not one."""
    import zarr

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            group = zarr.open_group(path, mode="r", zarr_format=3)
    except Exception as exc:  # zarr raises several types for "not a group"
        raise NotAnArtifactError(f"{path} is not a Zarr v3 store", "give a dataset store") from exc
    if dict(group.attrs).get("seis", {}).get("kind") != "dataset":
        raise NotAnArtifactError(f"{path} is not a dataset store (no seis.kind = dataset attribute)")
    return DatasetStore(path, group)
