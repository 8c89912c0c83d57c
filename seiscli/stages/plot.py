"""``seis plot PATH OUT.png``: the picture an interpreter wants of any seis artifact.

A volume store gives a section (inline, crossline or time/depth slice), optionally with a label or
prediction store drawn over it; a label or prediction store alone gives its section with a legend; a
dataset store gives a grid of samples with their labels; a run folder (or its ``metrics.jsonl``) gives
the training curves.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seiscli.config.plot import APPLIES_TO, PlotConfig
from seiscli.errors import ConfigError, GridMismatchError, InputNotFoundError, NotAnArtifactError
from seiscli.progress import Progress
from seiscli.stages.training import LOG
from seiscli.storage.atomic import atomic_output, check_writable
from seiscli.storage.labels import TASKS
from seiscli.storage.location import exists, is_remote, open_group, read_member

KINDS = {"volume": "volume store", "labels": "label store", "prediction": "prediction store",
         "dataset": "dataset store", "run": "training run"}  # fmt: skip
DEFAULT_CLIP = 99.0
DEFAULT_COUNT = 16


@dataclass
class PlotResult:
    path: Path
    kind: str  # one of KINDS
    title: str
    width: int  # pixels
    height: int


def run_plot(cfg: PlotConfig, progress: Progress | None = None) -> PlotResult:
    """Draw the artifact at ``cfg.path`` into the PNG ``cfg.out``."""
    kind = artifact_kind(cfg.path)
    _check_options(cfg, kind)
    _check_colour_map(cfg.cmap)
    check_writable(cfg.out, cfg.overwrite)
    draw = {"volume": _plot_volume, "labels": _plot_store, "prediction": _plot_store, "dataset": _plot_dataset,
            "run": _plot_run}[kind]  # fmt: skip
    with atomic_output(cfg.out, cfg.overwrite) as tmp:
        title, (width, height) = draw(cfg, tmp)
    return PlotResult(cfg.out, kind, title, width, height)


def artifact_kind(location: str) -> str:
    """What ``location`` is, from its metadata: one of ``KINDS``."""
    path = Path(location)
    if not is_remote(location):
        if (path.is_file() and path.suffix == ".jsonl") or (path.is_dir() and (path / LOG).is_file()):
            return "run"
    if not exists(location):
        raise InputNotFoundError(f"{location} does not exist", "check the path")
    hint = "give a volume, label, prediction or dataset store, a training run folder or its metrics.jsonl"
    if path.suffix == ".safetensors":
        hint = f"a checkpoint's training curves come from its run folder: seis plot {path.parent} curves.png"
    not_drawable = NotAnArtifactError(f"{location} is not something seis plot draws", hint)
    meta = read_member(location, "zarr.json")
    if meta is None:
        raise not_drawable
    kind = json.loads(meta).get("attributes", {}).get("seis", {}).get("kind")
    if kind in ("labels", "dataset"):
        return kind
    group = open_group(location, "volume, label, prediction or dataset store")
    if "amplitude" in group:
        return "volume"
    if any(task in group for task in TASKS):
        return "prediction"
    raise not_drawable


def _check_options(cfg: PlotConfig, kind: str) -> None:
    for name in cfg.given():
        if kind not in APPLIES_TO[name]:
            kinds = " and ".join(KINDS[k] + "s" for k in APPLIES_TO[name])
            raise ConfigError(f"--{name} does not apply to a {KINDS[kind]} ({cfg.path})", f"--{name} is for {kinds}")


def _check_colour_map(name: str | None) -> None:
    import matplotlib

    if name is not None and name not in matplotlib.colormaps:
        raise ConfigError(f"--cmap: unknown colour map {name!r}",
                          "seismic amplitudes read well in gray, gray_r, seismic, RdBu_r or PuOr")  # fmt: skip


def _plot_volume(cfg: PlotConfig, out: Path):
    """A section of the amplitudes, labels drawn over it when an overlay (or --variable) is asked for."""
    from seiscli.storage.volume import open_volume
    from seiscli.viz.plot import Amplitudes, draw_section
    from seiscli.viz.sections import grid_of, live_traces, read_section, select

    volume = open_volume(cfg.path)
    grid = grid_of(volume.group, "amplitude")
    selection = select(grid, cfg.inline, cfg.crossline, cfg.sample)
    section = read_section(volume.amplitude, grid, selection)
    live = live_traces(volume.group["trace_mask"], grid, selection, section) if "trace_mask" in volume.group else None
    overlay = cfg.overlay or (cfg.path if cfg.variable else None)  # --variable alone: predictions kept in the volume
    labels = _overlay_labels(overlay, cfg.variable, grid, selection, section) if overlay else None
    cmap = cfg.cmap or ("gray" if labels else None)  # grey under coloured labels
    title = f"{_name(cfg.path)}: {selection.label()}"
    if labels is not None:
        title += f", {labels.name} from {_name(overlay)}"
    return title, draw_section(out, title, Amplitudes(section, live, cmap, cfg.clip or DEFAULT_CLIP), labels, cfg.size)


def _overlay_labels(location: str, variable: str | None, volume_grid, selection, section):
    """The overlay's variable on the volume section's pixels, matched by coordinate values."""
    from seiscli.viz.plot import Labels
    from seiscli.viz.sections import Section, grid_of, place_onto, read_section

    group = open_group(location, "label or prediction store")
    name = _variable(group, variable, location)
    grid = grid_of(group, name)
    hint = "draw a store made on this volume's grid (seis synth and seis infer write them co-registered)"
    if set(grid.dims) != set(volume_grid.dims):
        raise GridMismatchError(f"{location} is over ({', '.join(grid.dims)}), the volume over"
                                f" ({', '.join(volume_grid.dims)})", hint)  # fmt: skip
    try:
        placed = place_onto(read_section(group[name], grid, selection), section)
    except GridMismatchError as error:
        raise GridMismatchError(f"{_name(location)} does not share the volume's grid: {error.message}", hint) from None
    attrs = group[name].attrs
    shown = Section(placed, section.row_dim, section.rows, section.col_dim, section.cols)
    return Labels(name, shown, attrs.get("classNames"), attrs.get("units"))


def _variable(group, asked: str | None, location: str) -> str:
    """The variable to draw: the one asked for, or the store's only task variable."""
    if asked is not None:
        if asked not in group or not hasattr(group[asked], "dtype"):
            arrays = sorted(name for name, _ in group.arrays())
            raise ConfigError(
                f"--variable: {location} has no variable {asked!r}", f"its variables: {', '.join(arrays)}"
            )
        return asked
    tasks = [task for task in TASKS if task in group]
    if not tasks:
        raise NotAnArtifactError(f"{location} holds no {', '.join(TASKS)} variable",
                                 "give a label or prediction store, or choose a variable with --variable")  # fmt: skip
    if len(tasks) > 1:
        raise ConfigError(f"{location} holds {', '.join(tasks)}", "choose one with --variable")
    return tasks[0]


def _plot_store(cfg: PlotConfig, out: Path):
    """A label or prediction store alone: its section, every class coloured, with the legend."""
    from seiscli.viz.plot import Labels, draw_section
    from seiscli.viz.sections import grid_of, read_section, select

    group = open_group(cfg.path, "label or prediction store")
    name = _variable(group, cfg.variable, cfg.path)
    grid = grid_of(group, name)
    selection = select(grid, cfg.inline, cfg.crossline, cfg.sample)
    attrs = group[name].attrs
    labels = Labels(name, read_section(group[name], grid, selection), attrs.get("classNames"), attrs.get("units"))
    title = f"{_name(cfg.path)}: {name}, {selection.label()}"
    return title, draw_section(out, title, None, labels, cfg.size)


def _plot_dataset(cfg: PlotConfig, out: Path):
    """Samples spread evenly over the split (or the whole store), inputs with their labels."""
    from seiscli.storage.dataset import open_dataset
    from seiscli.viz.plot import draw_samples

    store = open_dataset(cfg.path)
    splits = store.attrs["splits"]
    codes = store.group["split"][...]
    pool = np.flatnonzero(codes == splits.index(cfg.split)) if cfg.split else np.arange(len(codes))
    if len(pool) == 0:
        counts = ", ".join(f"{k} {v}" for k, v in store.split_counts().items())
        raise ConfigError(f"{cfg.path} has no {cfg.split or ''} samples ({counts})".replace("  ", " "),
                          "choose another --split")  # fmt: skip
    picks = np.unique(np.linspace(0, len(pool) - 1, min(cfg.count or DEFAULT_COUNT, len(pool))).round().astype(int))
    positions = store.group["position"][...]
    task = store.attrs["task"]
    samples = [_sample(store, int(i), splits[codes[i]], positions[i], task) for i in pool[picks]]
    where = f"{cfg.split} split" if cfg.split else "all splits"
    title = f"{_name(cfg.path)}: {task}, {len(samples)} of {len(pool)} samples ({where})"
    drawn = draw_samples(out, title, samples, task, store.attrs.get("classNames"), cfg.cmap or "gray",
                         cfg.clip or DEFAULT_CLIP, cfg.size)  # fmt: skip
    return title, drawn


def _sample(store, index: int, split: str, position: np.ndarray, task: str):
    """Sample ``index`` as drawn: a section of its first channel (velocity: the middle shot) and its target."""
    from seiscli.viz.plot import Sample
    from seiscli.viz.sections import sample_section

    x = np.asarray(store.x[index], dtype=np.float32)  # (C, H, W) or (C, D, H, W)
    y = None if store.y is None else np.asarray(store.y[index])  # (H, W), (D, H, W) or (1, H, W)
    if task == "velocity":
        image, target = x[len(x) // 2], None if y is None else y[0]  # (T, R) shot gather, (H, W) model
        where = f"shot {len(x) // 2 + 1} of {len(x)}"
    else:
        image, target = sample_section(x[0]), None if y is None else sample_section(y)
        where = _position(store.attrs.get("patch") or {}, position)
    return Sample(f"{split} #{index}: {where}", image, target)


def _position(patch: dict, position: np.ndarray) -> str:
    """Where a sample came from, as seis preprocess recorded it."""
    from seiscli.data.patches import AXES

    if patch.get("tiles") and 0 <= position[1] < len(patch.get("ids", [])):
        return f"tile {patch['ids'][position[1]]}"
    if "axes" in patch and 0 <= position[0] < len(AXES):
        orientation = {"sample": "time-slice"}.get(AXES[position[0]], AXES[position[0]])
        return f"{orientation} patch at [{position[1]}, {position[2]}, {position[3]}]"
    return f"sample {position[1] if len(position) > 1 else position[0]}"


def _plot_run(cfg: PlotConfig, out: Path):
    from seiscli.viz.curves import draw_curves, read_run_log

    log = read_run_log(Path(cfg.path))
    run = log.path.parent.name if log.path.name == LOG else log.path.name
    title = f"{run}: {len(log.epochs)} epochs"
    return title, draw_curves(out, title, log, cfg.size)


def _name(location: str) -> str:
    return Path(str(location).rstrip("/")).name
