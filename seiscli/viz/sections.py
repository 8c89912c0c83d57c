"""Sections of gridded stores, read by coordinate value and laid onto one another.

A volume, label or prediction store keeps each variable over named dimensions with coordinate values
(``inline, crossline, time|depth`` or ``cdp, time|depth``). A section fixes one dimension at one value
and reads just that slab (zarr reads only the chunks it crosses). Stores are matched by coordinate
values, never by array index, so an overlay may cover part of the volume.
"""

from dataclasses import dataclass

import numpy as np

from seiscli.errors import ConfigError, GridMismatchError, NotAnArtifactError

VERTICAL = ("time", "depth")  # the sample axis, drawn increasing downward
UNITS = {"time": "ms", "depth": "m"}


@dataclass(frozen=True)
class Grid:
    """The dimension names of a variable and the coordinate values along each."""

    dims: tuple[str, ...]
    coords: dict[str, np.ndarray]

    def describe(self, dim: str) -> str:
        """ "inlines 111..133 step 1"."""
        values = self.coords[dim]
        steps = np.unique(np.diff(values)) if len(values) > 1 else []
        step = f" step {_number(steps[0])}" if len(steps) == 1 else ""
        return f"{dim}s {_number(values.min())}..{_number(values.max())}{step}"


@dataclass(frozen=True)
class Selection:
    """A section: ``dim`` held at the coordinate ``value`` (None: the whole 2D store)."""

    dim: str | None
    value: float | None

    def label(self) -> str:
        if self.dim is None:
            return "2D line"
        unit = UNITS.get(self.dim)
        return f"{self.dim} {_number(self.value)}" + (f" {unit}" if unit else "")


@dataclass(frozen=True)
class Section:
    """A 2D slab, ``values[row, col]``: rows run down the picture (time/depth, or inline in a slice)."""

    values: np.ndarray  # (rows, cols)
    row_dim: str
    rows: np.ndarray  # coordinate values down the picture
    col_dim: str
    cols: np.ndarray  # coordinate values across


def grid_of(group, variable: str) -> Grid:
    """The grid of ``group[variable]``: its dimension names and each dimension's coordinate array."""
    array = group[variable]
    dims = tuple(array.metadata.dimension_names or ())
    missing = [d for d in dims if d is None or d not in group]
    if not dims or missing:
        raise NotAnArtifactError(f"variable {variable!r} has no coordinate array for each of its dimensions {dims}")
    return Grid(dims, {d: np.asarray(group[d][...]) for d in dims})


def select(grid: Grid, inline: int | None = None, crossline: int | None = None, sample: float | None = None):
    """The section asked for: an inline or crossline by number, a time/depth slice at the nearest sample,
    or by default the middle of the first dimension (a 2D store is one section already)."""
    asked = {name: value for name, value in (("inline", inline), ("crossline", crossline)) if value is not None}
    if sample is not None:
        asked["sample"] = sample
    if len(asked) > 1:
        raise ConfigError(f"choose one of --{' / --'.join(asked)}", "a picture shows one section")
    if len(grid.dims) == 2:
        if asked:
            raise ConfigError(f"--{next(iter(asked))} does not apply to a 2D store ({', '.join(grid.dims)})",
                              "a 2D line is drawn whole: drop the option")  # fmt: skip
        return Selection(None, None)
    if not asked:
        first = grid.dims[0]
        values = grid.coords[first]
        return Selection(first, values[len(values) // 2].item())
    ((name, value),) = asked.items()
    if name == "sample":
        return Selection(*_nearest_sample(grid, value))
    if name not in grid.dims:
        raise ConfigError(f"--{name}: this store has no {name} axis (its axes: {', '.join(grid.dims)})")
    if not np.any(grid.coords[name] == value):
        raise ConfigError(f"{name} {value} is not in the store: {grid.describe(name)}", f"give an existing {name}")
    return Selection(name, value)


def _nearest_sample(grid: Grid, value: float) -> tuple[str, float]:
    dim = next((d for d in grid.dims if d in VERTICAL), None)
    if dim is None:
        raise ConfigError(f"--sample: this store has no time or depth axis (its axes: {', '.join(grid.dims)})")
    values = grid.coords[dim]
    half_step = float(np.min(np.diff(values))) / 2 if len(values) > 1 else 0.5
    if not values.min() - half_step <= value <= values.max() + half_step:
        raise ConfigError(f"{dim} {_number(value)} {UNITS[dim]} is outside the store: {grid.describe(dim)}")
    return dim, values[int(np.argmin(np.abs(values - value)))].item()


def read_section(array, grid: Grid, selection: Selection) -> Section:
    """The slab of ``array`` (over ``grid``) at ``selection``, read alone and oriented for drawing."""
    if selection.dim is None:
        values, kept = array[...], grid.dims
    else:
        axis = grid.dims.index(selection.dim)
        where = np.flatnonzero(grid.coords[selection.dim] == selection.value)
        if len(where) == 0:
            raise GridMismatchError(f"{selection.label()} is not in this store ({grid.describe(selection.dim)})")
        index = tuple(int(where[0]) if i == axis else slice(None) for i in range(len(grid.dims)))
        values, kept = array[index], tuple(d for d in grid.dims if d != selection.dim)
    values = np.asarray(values)  # (kept[0], kept[1])
    row_dim = next((d for d in kept if d in VERTICAL), kept[0])
    col_dim = next(d for d in kept if d != row_dim)
    if kept[0] != row_dim:
        values = values.T  # (row_dim, col_dim)
    return Section(values, row_dim, grid.coords[row_dim], col_dim, grid.coords[col_dim])


def live_traces(trace_mask, grid: Grid, selection: Selection, section: Section) -> np.ndarray:
    """(rows, cols) true where the volume has a trace, from its ``trace_mask`` over the spatial dims."""
    spatial = Grid(grid.dims[:-1], {d: grid.coords[d] for d in grid.dims[:-1]})
    if selection.dim is None or selection.dim not in spatial.dims:
        mask = np.asarray(trace_mask[...])  # a 2D line, or a time slice: the whole map
        kept = spatial.dims
    else:
        axis = spatial.dims.index(selection.dim)
        index = int(np.flatnonzero(spatial.coords[selection.dim] == selection.value)[0])
        mask = np.asarray(trace_mask[tuple(index if i == axis else slice(None) for i in range(len(spatial.dims)))])
        kept = tuple(d for d in spatial.dims if d != selection.dim)
    if len(kept) == 2:
        return mask if kept[0] == section.row_dim else mask.T
    return np.broadcast_to(mask[None, :], section.values.shape)  # one flag per column (trace)


def place_onto(overlay: Section, target: Section) -> np.ma.MaskedArray:
    """``overlay`` laid on ``target``'s pixels by coordinate value; masked where the overlay has no data.

    Every overlay coordinate must be one of the target's: the overlay may cover part of the target.
    """
    if (overlay.row_dim, overlay.col_dim) != (target.row_dim, target.col_dim):
        raise GridMismatchError(
            f"the overlay's section runs over {overlay.row_dim} x {overlay.col_dim}, the volume's over"
            f" {target.row_dim} x {target.col_dim}"
        )
    rows = _positions(target.rows, overlay.rows, target.row_dim)
    cols = _positions(target.cols, overlay.cols, target.col_dim)
    placed = np.ma.masked_all(target.values.shape, dtype=overlay.values.dtype)
    placed[np.ix_(rows, cols)] = overlay.values
    return placed


def _positions(target: np.ndarray, values: np.ndarray, dim: str) -> np.ndarray:
    """Index in ``target`` of each of ``values``; every one must be present."""
    order = np.argsort(target, kind="stable")
    found = np.clip(np.searchsorted(target, values, sorter=order), 0, len(target) - 1)
    index = order[found]
    stray = target[index] != values
    if stray.any():
        hint = f"the volume has {Grid((dim,), {dim: target}).describe(dim)}"
        raise GridMismatchError(f"the overlay's {dim} {_number(values[stray][0])} is not on the volume's grid"
                                f" ({int(stray.sum())} of {len(values)} {dim} values off it)", hint)  # fmt: skip
    return index


def sample_section(sample: np.ndarray) -> np.ndarray:
    """A 2D dataset sample as it is (time down); a cube's middle inline, transposed to (sample, crossline)."""
    return sample if sample.ndim == 2 else sample[len(sample) // 2].T


def _number(value) -> str:
    """A coordinate as people write it: 112, 4.5."""
    return f"{float(value):g}"
