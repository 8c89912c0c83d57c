"""``seis plot PATH OUT.png``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, resolve_config, run_command


@with_common_options
def plot(
    common: Common,
    path: Annotated[
        str, typer.Argument(help="Volume, label, prediction or dataset store; run folder or metrics.jsonl.")
    ],
    out: Annotated[Path, typer.Argument(help="PNG file to write.")],
    inline: Annotated[int | None, typer.Option(help="Inline number to draw (default: the middle one).")] = None,
    crossline: Annotated[int | None, typer.Option(help="Crossline number to draw.")] = None,
    sample: Annotated[float | None, typer.Option(help="Time (ms) or depth (m) slice; the nearest sample.")] = None,
    overlay: Annotated[str | None, typer.Option(help="Label or prediction store drawn over the section.")] = None,
    variable: Annotated[str | None, typer.Option(help="Variable of the label/prediction store to draw.")] = None,
    cmap: Annotated[
        str | None, typer.Option(help="Colour map of amplitudes (default seismic; gray under labels).")
    ] = None,
    clip: Annotated[float | None, typer.Option(help="Percentile of |amplitude| where colours saturate (99).")] = None,
    count: Annotated[int | None, typer.Option(help="Dataset samples to draw (16).")] = None,
    split: Annotated[str | None, typer.Option(help="Dataset split to draw from: train, val or test.")] = None,
    size: Annotated[str | None, typer.Option(help="Picture size in pixels, WIDTHxHEIGHT.")] = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Draw an artifact as a PNG: a section with its labels, dataset samples, or training curves."""
    flags = dict(path=path, out=out, inline=inline, crossline=crossline, sample=sample, overlay=overlay,
                 variable=variable, cmap=cmap, clip=clip, count=count, split=split, size=size, overwrite=overwrite)  # fmt: skip

    def stage(progress):
        from seiscli.config.plot import PlotConfig
        from seiscli.stages.plot import run_plot

        return run_plot(resolve_config(PlotConfig, "plot", common, flags), progress)

    def report(r):
        payload = {"path": str(r.path), "kind": r.kind, "title": r.title, "width": r.width, "height": r.height}
        return str(r.path), payload, None

    run_command(common, stage, report)
