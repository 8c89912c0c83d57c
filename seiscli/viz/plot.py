"""The pictures of ``seis plot``: a section with its labels, a grid of dataset samples, training curves.

Everything draws off-screen (matplotlib's Agg) into a figure of a fixed pixel size, so the same
input gives the same picture.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seiscli import __version__
from seiscli.viz.sections import UNITS, Section
from seiscli.viz.style import OVERLAY, figure

DPI = 100
SECTION_SIZE = (1200, 700)  # pixels
CURVES_SIZE = (1000, 900)
PANEL_SIZE = (300, 300)  # one dataset sample
DEAD_TRACE = "0.82"  # missing traces show as flat light grey


@dataclass(frozen=True)
class Amplitudes:
    """A seismic section and how to colour it."""

    section: Section
    live: np.ndarray | None  # (rows, cols) true where a trace exists
    cmap: str | None  # None: seismic for amplitudes, viridis for data never negative (velocity cubes)
    clip: float  # percentile of |amplitude| (non-negative data such as velocity: of the values)


@dataclass(frozen=True)
class Labels:
    """A task's values on a section: class ids (a mask or classes) or physical values (velocity)."""

    name: str
    section: Section  # values (rows, cols), masked where the store has no data
    class_names: list[str] | None = None
    units: str | None = None

    @property
    def style(self) -> str:
        return label_style(self.name, self.section.values.dtype, self.class_names, self.units)


def label_style(name: str, dtype, class_names: list[str] | None, units: str | None = None) -> str:
    """ "mask" (binary: salt, fault), "classes" (facies) or "values" (velocity)."""
    if np.issubdtype(dtype, np.floating) or units:
        return "values"
    many = class_names is not None and len(class_names) > 2
    return "classes" if name == "facies" or many else "mask"


def draw_section(out: Path, title: str, amplitudes: Amplitudes | None, labels: Labels | None,
                 size: tuple[int, int] | None = None) -> tuple[int, int]:  # fmt: skip
    """A section (seismic, labels, or labels over seismic); returns the picture's (width, height) in pixels."""
    section = amplitudes.section if amplitudes else None
    width, height = size or SECTION_SIZE
    fig, ax = figure(1, width / DPI, height / DPI)
    ax.set_facecolor(DEAD_TRACE)
    grid = section if section is not None else labels.section
    extent = _extent(grid)
    if amplitudes is not None:
        _draw_amplitudes(fig, ax, amplitudes, extent)
    if labels is not None:
        _draw_labels(fig, ax, labels, extent, alone=amplitudes is None)
    _axis_labels(ax, grid)
    ax.set_title(title)
    return save(fig, out)


def _extent(section: Section) -> tuple[float, float, float, float]:
    """Image extent, pixel centres on the coordinate values (or on their indices when irregular); rows go down."""
    left, right = axis_span(section.cols)
    top, bottom = axis_span(section.rows)
    return (left, right, bottom, top)


def axis_span(values: np.ndarray) -> tuple[float, float]:
    """Where the first and last pixel edges lie along an axis: in coordinate units when the coordinates are
    evenly spaced, else in index units (``_axis_labels`` then writes each tick's coordinate value)."""
    if not _regular(values):
        return -0.5, len(values) - 0.5
    step = float(values[1] - values[0]) if len(values) > 1 else 1.0
    return float(values[0]) - step / 2, float(values[-1]) + step / 2


def _regular(values: np.ndarray) -> bool:
    return len(values) < 3 or bool(np.all(np.diff(values) == values[1] - values[0]))


def _axis_labels(ax, section: Section) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    for axis, dim, values in ((ax.yaxis, section.row_dim, section.rows), (ax.xaxis, section.col_dim, section.cols)):
        unit = UNITS.get(dim)
        axis.set_label_text(f"{dim} ({unit})" if unit else dim)
        if not _regular(values):  # ticks sit on indices: name them by coordinate
            axis.set_major_locator(MaxNLocator(integer=True))
            axis.set_major_formatter(FuncFormatter(lambda x, _, v=values: _coordinate_at(v, x)))


def _coordinate_at(values: np.ndarray, position: float) -> str:
    index = int(round(position))
    return f"{float(values[index]):g}" if 0 <= index < len(values) else ""


def amplitude_limits(values: np.ndarray, clip: float) -> tuple[float, float]:
    """Colour limits: symmetric at the ``clip`` percentile of |amplitude|; for data that is never
    negative (velocity cubes), the ``100 - clip`` and ``clip`` percentiles of the values."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    if finite.min() >= 0:
        low, high = (float(v) for v in np.percentile(finite, [100 - clip, clip]))
        return (low, high) if high > low else (low, low + 1.0)
    bound = float(np.percentile(np.abs(finite), clip)) or 1.0
    return -bound, bound


def _draw_amplitudes(fig, ax, amplitudes: Amplitudes, extent) -> None:
    values = amplitudes.section.values.astype(np.float32)
    if amplitudes.live is not None:
        values = np.ma.masked_where(~amplitudes.live, values)
    shown = values.compressed() if np.ma.isMaskedArray(values) else values.ravel()
    low, high = amplitude_limits(shown, amplitudes.clip)
    cmap = amplitudes.cmap or ("seismic" if low < 0 else "viridis")
    image = ax.imshow(values, cmap=cmap, vmin=low, vmax=high, extent=extent, aspect="auto", interpolation="nearest")
    clip = amplitudes.clip
    symmetric = f"amplitude, clipped at percentile {clip:g} of |amplitude|"
    label = symmetric if low < 0 else f"value, percentiles {100 - clip:g} to {clip:g}"
    fig.colorbar(image, ax=ax, label=label, shrink=0.8, pad=0.01)


def _draw_labels(fig, ax, labels: Labels, extent, alone: bool) -> None:
    """Over seismic: semi-transparent, background left clear. Alone: opaque, every class coloured."""
    drawn = label_image(ax, labels.section.values, labels.name, labels.style, labels.class_names, alone,
                        extent=extent, aspect="auto")  # fmt: skip
    if labels.style == "values":
        unit = f" ({labels.units})" if labels.units else ""
        fig.colorbar(drawn, ax=ax, label=f"{labels.name}{unit}", shrink=0.8, pad=0.01)
    else:
        title = labels.name if labels.style == "classes" else None  # a mask's one entry names itself
        ax.legend(handles=drawn, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title=title)


def label_image(ax, values: np.ndarray, name: str, style: str, class_names: list[str] | None, alone: bool,
                **imshow):  # fmt: skip
    """Draw class ids or values on ``ax``: the image (values) or the legend handles (classes, masks)."""
    import matplotlib.colors as mcolors
    import matplotlib.patches as mpatches

    colours, alpha = OVERLAY.get(name, ("autumn", 0.5))
    alpha = 1.0 if alone else alpha
    values = np.ma.asarray(values)
    common = {"interpolation": "nearest", "alpha": alpha, **imshow}
    if style == "values":
        return ax.imshow(values.astype(np.float32), cmap="viridis", **common)
    names = class_names or ["background", name]
    if style == "mask":
        colour = _mask_colour(colours)
        if alone:
            palette, norm = mcolors.ListedColormap(["0.75", colour]), mcolors.BoundaryNorm([-0.5, 0.5, 1.5], 2)
        else:
            palette, norm = mcolors.ListedColormap([colour]), mcolors.BoundaryNorm([0.5, 1.5], 1)
            values = np.ma.masked_equal(values, 0)
        ax.imshow(values, cmap=palette, norm=norm, **common)
        handles = [mpatches.Patch(color=colour, alpha=alpha, label=names[-1])]
        return [mpatches.Patch(color="0.75", label=names[0]), *handles] if alone else handles
    palette = class_palette(len(names))
    ax.imshow(values, cmap=palette, norm=mcolors.BoundaryNorm(np.arange(len(names) + 1) - 0.5, len(names)), **common)
    return [mpatches.Patch(color=palette(i), alpha=alpha, label=label) for i, label in enumerate(names)]


@dataclass(frozen=True)
class Sample:
    """One dataset sample as drawn: its input section and its target on the same pixels (or its own map)."""

    title: str
    image: np.ndarray  # (H, W) the input: a section, a time slice, or a shot gather
    target: np.ndarray | None  # (H, W) class ids over the image, or a velocity map beside it


def draw_samples(out: Path, title: str, samples: list[Sample], task: str, class_names: list[str] | None,
                 cmap: str, clip: float, size: tuple[int, int] | None = None) -> tuple[int, int]:  # fmt: skip
    """A grid of samples: inputs with their labels over them; velocity models beside their shot gathers."""
    beside = task == "velocity" and samples[0].target is not None
    per_row = int(np.ceil(np.sqrt(len(samples))))
    rows = int(np.ceil(len(samples) / per_row))
    cols = per_row * (2 if beside else 1)
    width, height = size or (PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows + 60)
    fig, axes = figure(cols, width / DPI / cols, height / DPI / rows, nrows=rows)
    style = label_style(task, samples[0].target.dtype if samples[0].target is not None else np.uint8, class_names)
    limits = _target_limits(samples) if beside else None
    handles = image = None
    for ax in axes.ravel():
        ax.set_axis_off()
    for k, sample in enumerate(samples):
        row, col = divmod(k, per_row)
        ax = axes[row, col * (2 if beside else 1)]
        low, high = amplitude_limits(sample.image, clip)
        ax.imshow(sample.image, cmap=cmap, vmin=low, vmax=high, aspect="auto", interpolation="nearest")
        ax.set_title(sample.title, fontsize=8)
        if sample.target is None:
            continue
        if beside:
            target_ax = axes[row, col * 2 + 1]
            image = target_ax.imshow(sample.target, cmap="viridis", vmin=limits[0], vmax=limits[1], aspect="auto")
            target_ax.set_title("velocity model", fontsize=8)
        else:
            handles = label_image(ax, sample.target, task, style, class_names, alone=False, aspect="auto")
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)
    if image is not None:
        fig.colorbar(image, ax=axes, label="velocity (m/s)", shrink=0.6)
    fig.suptitle(title)
    return save(fig, out)


def _target_limits(samples: list[Sample]) -> tuple[float, float]:
    values = np.concatenate([s.target.ravel() for s in samples])
    return float(values.min()), float(values.max())


def _mask_colour(cmap_name: str):
    import matplotlib

    return matplotlib.colormaps[cmap_name](0.85)


def class_palette(count: int):
    """A categorical colour map of ``count`` distinct colours (tab10, tab20 beyond ten classes)."""
    import matplotlib
    import matplotlib.colors as mcolors

    base = matplotlib.colormaps["tab10" if count <= 10 else "tab20"]
    return mcolors.ListedColormap([base(i % base.N) for i in range(count)])


def save(fig, out: Path) -> tuple[int, int]:
    import matplotlib.pyplot as plt

    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": f"seis {__version__}"})
    width, height = (int(round(v * DPI)) for v in fig.get_size_inches())
    plt.close(fig)
    return width, height
