"""One-glance pictures: what ``seis synth`` made (a section with its labels, or a model and its shots), and
what ``seis pretrain`` learned (inputs, their masks and the reconstructions)."""

from pathlib import Path

import numpy as np

from seiscli.storage.dataset import open_dataset
from seiscli.storage.labels import open_labels
from seiscli.storage.segy_format import decode_samples, read_layout
from seiscli.viz.sections import sample_section
from seiscli.viz.style import OVERLAY, figure


def _read_section(segy: Path, grid: tuple[int, ...]) -> np.ndarray:
    """The middle inline of a 3D survey, or the whole 2D line: (traces, samples)."""
    layout = read_layout(segy)
    per_line = grid[1] if len(grid) == 3 else grid[0]
    first = (grid[0] // 2) * per_line if len(grid) == 3 else 0
    with open(segy, "rb") as stream:
        records = layout.read_block(stream, first, per_line)
    return decode_samples(records["samples"], layout)


def preview_survey(segy: Path, labels: Path, out: Path) -> None:
    """Seismic section on the left; the same section with its labels overlaid on the right."""
    store = open_labels(labels)
    grid = tuple(len(store.coords(d)) for d in store.dims)
    section = _read_section(segy, grid).T  # (samples, traces)
    clip = float(np.percentile(np.abs(section), 99)) or 1.0
    fig, axes = figure(2)
    for ax in axes:
        ax.imshow(section, cmap="gray", vmin=-clip, vmax=clip, aspect="auto")
        ax.set_xlabel("crossline" if len(grid) == 3 else "cdp")
        ax.set_ylabel("time sample")
    for task in store.tasks:
        values = store.group[task][grid[0] // 2] if len(grid) == 3 else store.group[task][...]
        cmap, alpha = OVERLAY[task]
        shown = np.ma.masked_equal(values.T, 0) if task != "facies" else values.T
        axes[1].imshow(shown, cmap=cmap, alpha=alpha, aspect="auto", interpolation="nearest")
    where = f"inline {grid[0] // 2 + 1}" if len(grid) == 3 else "2D line"
    axes[0].set_title(f"{segy.name}: {where}")
    axes[1].set_title(f"labels: {', '.join(store.tasks)}")
    fig.savefig(out, format="png", dpi=80)


def preview_fwi(dataset: Path, out: Path) -> None:
    """The first velocity model and its middle shot gather."""
    store = open_dataset(dataset)
    velocity, gathers = store.y[0, 0], store.x[0]  # (H, W), (S, T, R)
    shot = gathers[len(gathers) // 2]
    clip = float(np.percentile(np.abs(shot), 99)) or 1.0
    fig, (left, right) = figure(2, width=5.0)
    image = left.imshow(velocity, cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=left, label="velocity (m/s)")
    left.set_title(f"velocity model 0 ({store.attrs['families'][0]})")
    right.imshow(shot, cmap="gray", vmin=-clip, vmax=clip, aspect="auto")
    right.set_title(f"shot {len(gathers) // 2 + 1} of {len(gathers)}")
    right.set_xlabel("receiver")
    right.set_ylabel("time sample")
    fig.savefig(out, format="png", dpi=80)


def preview_reconstructions(inputs: np.ndarray, masks: np.ndarray, reconstructions: np.ndarray, out: Path) -> None:
    """One row per sample: the input, the patches the encoder saw (hidden ones greyed), the reconstruction.

    Samples are (N, C, H, W) sections or (N, C, D, H, W) cubes (inline, crossline, sample), shown by their
    first channel and, for cubes, the middle inline with time down; ``masks`` (N, 1, ...) is 1 where hidden.
    """
    fig, axes = figure(3, width=3.5, height=3.5, nrows=len(inputs))
    for row, (x, mask, reconstruction) in enumerate(zip(inputs, masks, reconstructions)):
        section, hidden, rebuilt = (sample_section(a[0]) for a in (x, mask, reconstruction))
        clip = float(np.percentile(np.abs(section), 99)) or 1.0
        panels = {"input": section, "visible to the encoder": np.ma.masked_where(hidden > 0.5, section),
                  "reconstruction (true patch mean, std)": rebuilt}  # fmt: skip
        for ax, (title, image) in zip(axes[row], panels.items()):
            ax.set_facecolor("0.6")  # shows through where patches were hidden
            ax.imshow(image, cmap="gray", vmin=-clip, vmax=clip, aspect="auto", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(title)
        axes[row][0].set_ylabel(f"sample {row + 1}")
    fig.savefig(out, format="png", dpi=80)
