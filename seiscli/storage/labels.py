"""Label and prediction stores: Zarr groups co-registered with a volume by coordinate values.

Layout::

    inline, crossline, time|depth   int32 dimension coordinates, the same values as the volume
    fault | salt | facies | velocity one variable per task: class ids (uint8) or values (float32)

Each variable's attributes give its ``classNames`` (classification) or ``units`` (regression);
the root attributes say ``seis.kind = "labels"`` and carry provenance.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.errors import NotAnArtifactError
from seiscli.storage.location import as_location, open_group

TASKS = ("fault", "salt", "facies", "velocity")


def label_codecs(dtype: np.dtype) -> dict[str, Any]:
    """Blosc/zstd for label and prediction arrays; bit-shuffled for bytes (class ids)."""
    from zarr.codecs import BloscCodec

    shuffle = "bitshuffle" if np.dtype(dtype).itemsize == 1 else "shuffle"
    return {"compressors": [BloscCodec(cname="zstd", clevel=3, shuffle=shuffle)]}


@dataclass(frozen=True)
class LabelVariable:
    """One task's labels on the grid, with class names or units."""

    values: np.ndarray
    class_names: list[str] | None = None
    units: str | None = None

    def attributes(self) -> dict[str, Any]:
        return {"classNames": self.class_names} if self.class_names else {"units": self.units}


def write_label_store(
    path: Path,
    coords: dict[str, np.ndarray],
    variables: dict[str, LabelVariable],
    attributes: dict[str, Any],
    chunks: tuple[int, ...] | None = None,
) -> None:
    """Write a new label store at ``path`` over the dims of ``coords`` (in order)."""
    import zarr

    dims = tuple(coords)
    group = zarr.open_group(path, mode="w-", zarr_format=3, attributes={"seis": {"kind": "labels", **attributes}})
    for dim, values in coords.items():
        group.create_array(dim, data=values, chunks=values.shape, dimension_names=(dim,), **label_codecs(values.dtype))
    for name, variable in variables.items():
        shape = variable.values.shape
        if shape != tuple(len(c) for c in coords.values()):
            raise ValueError(f"label {name!r} has shape {shape}, the grid is {[len(c) for c in coords.values()]}")
        group.create_array(
            name, data=variable.values, chunks=tuple(min(c, s) for c, s in zip(chunks or shape, shape)),
            dimension_names=dims, attributes=variable.attributes(), **label_codecs(variable.values.dtype),
        )  # fmt: skip


class LabelStore:
    """A label or prediction store opened read-only."""

    def __init__(self, path: Path, group):
        self.path = path
        self.group = group
        self.attrs: dict[str, Any] = dict(group.attrs).get("seis", {})
        self.tasks = [name for name in TASKS if name in group]
        first = group[self.tasks[0]]
        self.dims: tuple[str, ...] = tuple(first.metadata.dimension_names)

    def coords(self, dim: str) -> np.ndarray:
        return self.group[dim][...]

    def class_names(self, task: str) -> list[str] | None:
        return self.group[task].attrs.get("classNames")


def open_labels(path: str | Path) -> LabelStore:
    """Open a label store (local or a URL), or explain why ``path`` is not one."""
    group = open_group(path, "label store")
    if dict(group.attrs).get("seis", {}).get("kind") != "labels" or not any(t in group for t in TASKS):
        raise NotAnArtifactError(f"{path} is not a label store (no {', '.join(TASKS)} variable)")
    return LabelStore(as_location(path), group)
