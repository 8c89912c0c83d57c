"""Prediction stores: a model's output on a volume's grid, filled chunk by chunk by one or many processes.

A prediction store is an MDIO dataset co-registered with its volume (the same dimension coordinates,
``trace_mask``, ``headers``, ``cdp_x``/``cdp_y``, ``segy_file_header``, ``segy_trace_order`` and
SEG-Y attributes, so ``seis export`` writes it as SEG-Y) and a label store (``seis.kind = "labels"``),
holding the prediction variables (e.g. ``salt`` class ids, ``salt_probability``) and
``<name>_done``: one uint8 per chunk, set to 1 only after the chunk is written.

The store is created whole (every array, empty) under a temporary name and renamed into place, so
processes that start together (``--part``) cannot clobber each other: the first rename wins, the
others check the winner was made by the same inference and join it. ``--into`` adds the same
variables to the volume store itself.
"""

import os
import shutil
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.errors import ConfigError, NotAnArtifactError, OutputExistsError
from seiscli.storage.labels import label_codecs
from seiscli.storage.trace_copy import column_blocks
from seiscli.storage.volume import MDIO_API_VERSION, VolumeStore, template_name

# What a prediction store copies from its volume so that it is a volume of its own for MDIO and export.
GRID_ARRAYS = ("trace_mask", "headers", "cdp_x", "cdp_y", "segy_trace_order", "segy_file_header")


@dataclass(frozen=True)
class Variable:
    """One prediction variable: name, dtype and attributes."""

    name: str
    dtype: str
    attributes: dict[str, Any]


def done_name(variables: list[Variable]) -> str:
    return f"{variables[0].name}_done"


def _add_variables(group, volume: VolumeStore, variables: list[Variable], chunks: tuple[int, ...],
                   spec: dict[str, Any]) -> None:  # fmt: skip
    """The prediction arrays (empty: 0 until written) and the per-chunk done markers."""
    shape = volume.amplitude.shape
    for variable in variables:
        group.create_array(
            variable.name, shape=shape, dtype=variable.dtype, chunks=chunks, dimension_names=volume.dims,
            fill_value=0, attributes={**variable.attributes, "coordinates": "cdp_x cdp_y", "seisInference": spec},
            **label_codecs(np.dtype(variable.dtype)),
        )  # fmt: skip
    grid = tuple(-(-n // c) for n, c in zip(shape, chunks))
    group.create_array(
        done_name(variables), shape=grid, dtype="uint8", chunks=(1,) * len(grid), fill_value=0,
        dimension_names=tuple(f"{dim}_chunk" for dim in volume.dims), attributes={"chunks": list(chunks)},
    )  # fmt: skip


def _copy_array(source, group, name: str) -> None:
    """``source`` into ``group`` under ``name``: same dtype, chunks, codecs and attributes, block by block."""
    target = group.create_array(
        name, shape=source.shape, dtype=source.dtype, chunks=source.chunks, fill_value=source.metadata.fill_value,
        dimension_names=source.metadata.dimension_names, attributes=dict(source.attrs),
        compressors=source.compressors, filters=source.filters, serializer=source.serializer,
    )  # fmt: skip
    if source.shape == ():
        return
    for block in column_blocks(source.shape, tuple(c * 4 for c in source.chunks)):
        target[block] = source[block]


def _build_store(path: Path, volume: VolumeStore, variables: list[Variable], chunks: tuple[int, ...],
                 spec: dict[str, Any], provenance: dict[str, Any]) -> None:  # fmt: skip
    import zarr
    from zarr.errors import UnstableSpecificationWarning

    warnings.filterwarnings("ignore", category=UnstableSpecificationWarning)  # structured headers
    attributes = dict(volume.attrs.get("attributes", {}))
    attributes["defaultVariableName"] = variables[0].name
    root = {"apiVersion": MDIO_API_VERSION, "createdOn": provenance["createdOn"], "name": template_name(volume.dims),
            "attributes": attributes,
            "seis": {"kind": "labels", "prediction": spec, "provenance": provenance}}  # fmt: skip
    group = zarr.open_group(path, mode="w-", zarr_format=3, attributes=root)
    for dim in volume.dims:
        _copy_array(volume.group[dim], group, dim)
    for name in GRID_ARRAYS:
        if name in volume.group:
            _copy_array(volume.group[name], group, name)
    _add_variables(group, volume, variables, chunks, spec)


def create_or_join_store(out: Path, volume: VolumeStore, variables: list[Variable], chunks: tuple[int, ...],
                         spec: dict[str, Any], provenance: dict[str, Any], join: bool) -> bool:  # fmt: skip
    """Make the prediction store at ``out`` (True), or with ``join`` accept one that the same
    inference made (False). Built under a temporary name and renamed: a concurrent creator loses
    the rename and joins the winner's store."""
    if out.exists():
        if not join:
            raise OutputExistsError(f"{out} already exists", "pass --overwrite to replace it, or --resume to finish it")
        check_same_inference(out, variables, spec)
        return False
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")  # unique per creator
    try:
        _build_store(tmp, volume, variables, chunks, spec, provenance)
        os.rename(tmp, out)  # fails when another process renamed its store there first
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (isinstance(error, OSError) and out.exists()):
            raise
        check_same_inference(out, variables, spec)
        return False
    return True


def add_to_volume(volume_path: Path, volume: VolumeStore, variables: list[Variable], chunks: tuple[int, ...],
                  spec: dict[str, Any], join: bool, overwrite: bool) -> None:  # fmt: skip
    """``--into``: the prediction variables and markers as new arrays of the volume store itself."""
    import zarr
    from zarr.errors import ContainsArrayError

    group = zarr.open_group(volume_path, mode="r+")
    names = [v.name for v in variables] + [done_name(variables)]
    present = [name for name in names if name in group]
    if present and overwrite:
        for name in present:
            del group[name]
    elif present and not join:
        raise OutputExistsError(f"{volume_path} already has a {present[0]!r} variable",
                                "pass --overwrite to replace it, or --resume to finish it")  # fmt: skip
    elif present:
        return check_same_inference(volume_path, variables, spec)
    try:
        _add_variables(group, volume, variables, chunks, spec)
    except ContainsArrayError:  # a concurrent process added them first
        check_same_inference(volume_path, variables, spec)


def check_same_inference(path: Path, variables: list[Variable], spec: dict[str, Any]) -> None:
    """Refuse to add chunks to a store made by another model or with other settings."""
    import zarr

    group = zarr.open_group(path, mode="r")
    names = [v.name for v in variables] + [done_name(variables)]
    missing = [name for name in names if name not in group]
    if missing:
        raise OutputExistsError(f"{path} exists but has no {missing[0]!r} variable of this inference",
                                "pass --overwrite to replace it, or choose another output")  # fmt: skip
    recorded = dict(group[variables[0].name].attrs).get("seisInference")
    if recorded != spec:
        changed = sorted(k for k in set(spec) | set(recorded or {}) if (recorded or {}).get(k) != spec.get(k))
        raise ConfigError(f"{path} was predicted with other settings ({', '.join(changed) or 'unknown'} differ)",
                          "resume with the same model and options, or pass --overwrite to start again")  # fmt: skip


@dataclass
class PredictionTarget:
    """The open arrays a run writes: the variables (in order) and the done markers."""

    arrays: list[Any]
    done: Any

    @classmethod
    def open(cls, path: Path, variables: list[Variable]) -> "PredictionTarget":
        import zarr

        group = zarr.open_group(path, mode="r+")
        return cls([group[v.name] for v in variables], group[done_name(variables)])

    def done_chunks(self) -> set[tuple[int, ...]]:
        return {tuple(int(i) for i in index) for index in np.argwhere(self.done[...] == 1)}

    def missing_chunks(self) -> list[tuple[int, ...]]:
        return [tuple(int(i) for i in index) for index in np.argwhere(self.done[...] == 0)]

    def write(self, index: tuple[int, ...], bounds: tuple[slice, ...], values: list[np.ndarray]) -> None:
        """The chunk's arrays, then (only then) its done marker."""
        for array, data in zip(self.arrays, values):
            array[bounds] = data
        self.done[index] = 1


def incomplete_chunks(group, variable: str) -> int | None:
    """How many chunks of ``variable``'s inference are not written yet (None: not a prediction)."""
    name = f"{variable}_done"
    if name not in group:
        return None
    return int((group[name][...] == 0).sum())


def prediction_variable(group, path: str | Path, variable: str | None) -> str:
    """The variable of a store to export: ``variable``, else the amplitudes of a volume store or the
    default variable of a prediction store; an unfinished prediction is refused."""
    name = variable or ("amplitude" if "amplitude" in group else dict(group.attrs).get("attributes", {}).get(
        "defaultVariableName"))  # fmt: skip
    if name not in group or name in GRID_ARRAYS or name.endswith("_done") or group[name].ndim < 2:
        choices = sorted(k for k, a in group.arrays() if a.ndim >= 2 and k not in GRID_ARRAYS and "_done" not in k)
        raise NotAnArtifactError(
            f"{path} has no variable {name!r} to export", f"choose --variable {' or '.join(choices)}"
        )
    missing = incomplete_chunks(group, name.split("_probability")[0])
    if missing:
        raise ConfigError(f"{path} is unfinished: {missing} chunk(s) of {name!r} are not predicted yet",
                          "finish it with seis infer ... --resume (or the missing --part runs)")  # fmt: skip
    return name
