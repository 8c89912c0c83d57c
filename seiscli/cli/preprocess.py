"""``seis preprocess INPUT... OUT``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config, run_command


@with_common_options
def preprocess(
    common: Common,
    inputs: Annotated[list[str], typer.Argument(help="Volume store(s), a tile folder, or a dataset store.")],
    out: Annotated[Path, typer.Argument(help="Dataset store to write.")],
    labels: Annotated[
        list[str] | None, typer.Option(help="Label store co-registered with each volume (repeat).")
    ] = None,
    task: Annotated[str | None, typer.Option(help="salt, fault, facies, velocity or pretrain (no labels).")] = None,
    patch: Annotated[str | None, typer.Option(help="HxW sections (default 128x128) or DxHxW cubes.")] = None,
    stride: Annotated[str | None, typer.Option(help="Step between patches (default: the patch size).")] = None,
    axes: Annotated[
        str | None, typer.Option(help="Section orientations: inline,crossline,sample (default inline).")
    ] = None,
    normalize: Annotated[
        str | None, typer.Option(help="zscore (default, clipped at +-3 sigma), percentile, agc or none.")
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="blocked:0.8,0.1,0.1 (volumes), random:F,F,F, file:SPLIT.json or keep.")
    ] = None,
    gap: Annotated[int | None, typer.Option(help="Lines left out between blocked splits (default 8).")] = None,
    min_live: Annotated[
        float | None, typer.Option(help="Skip patches with fewer live traces than this (default 0.5).")
    ] = None,
    classes: Annotated[
        str | None, typer.Option(help="Mask values to class ids, e.g. 0:0,128:1,255:2 (default: binarize).")
    ] = None,
    dtype: Annotated[str | None, typer.Option(help="Input storage dtype: float16 (default) or float32.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of random splits (default 0).")] = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Cut normalized, split training samples from volumes, tile folders or fwi datasets."""
    flags = dict(inputs=inputs, out=out, labels=labels or None, task=task, patch=patch, stride=stride, axes=axes,
                 normalize=normalize, split=split, gap=gap, min_live=min_live, classes=classes, dtype=dtype,
                 seed=seed, overwrite=overwrite)  # fmt: skip

    def stage(progress):
        from seiscli.config.preprocess import PreprocessConfig
        from seiscli.stages.preprocess import run_preprocess

        return run_preprocess(resolve_config(PreprocessConfig, "preprocess", common, flags), invocation(), progress)

    def report(r):
        splits = ", ".join(f"{name} {count}" for name, count in r.splits.items())
        payload = {"path": str(r.path), "task": r.task, "samples": r.samples, "splits": r.splits,
                   "sample_shape": r.sample_shape, "seconds": round(r.seconds, 2)}  # fmt: skip
        summary = f"wrote {r.samples} {r.task} samples of {'x'.join(map(str, r.sample_shape))} ({splits}) in {r.seconds:.1f} s"
        return str(r.path), payload, summary

    run_command(common, stage, report)
