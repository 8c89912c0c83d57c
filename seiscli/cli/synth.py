"""``seis synth KIND OUT_DIR``."""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config, run_command


class Kind(str, Enum):
    faults = "faults"
    salt = "salt"
    facies = "facies"
    fwi = "fwi"


@with_common_options
def synth(
    common: Common,
    kind: Annotated[Kind, typer.Argument(help="faults, salt or facies (surveys + labels), or fwi (velocity + shots).")],
    out_dir: Annotated[Path, typer.Argument(help="Folder to create.")],
    shape: Annotated[
        str | None, typer.Option(help="inlines,crosslines,samples or traces,samples (fwi: depth,x).")
    ] = None,
    count: Annotated[int | None, typer.Option(help="How many surveys or velocity models (default 1).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0): same seed, same bytes.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default 2).")] = None,
    preview: Annotated[Path | None, typer.Option(help="Also write a PNG of one section with its labels.")] = None,
    family: Annotated[str | None, typer.Option(help="fwi: all, flat, curved, flat-fault or curved-fault.")] = None,
    shots: Annotated[int | None, typer.Option(help="fwi: sources on the surface (default 5).")] = None,
    receivers: Annotated[int | None, typer.Option(help="fwi: receivers on the surface (default 70).")] = None,
    split: Annotated[str | None, typer.Option(help="fwi: train,val,test fractions (default 0.8,0.1,0.1).")] = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Make labelled synthetic surveys (SEG-Y + label store) or OpenFWI-style velocity/shot pairs."""
    flags = dict(kind=kind.value, out_dir=out_dir, shape=shape, count=count, seed=seed, workers=workers,
                 preview=preview, family=family, shots=shots, receivers=receivers, split=split, overwrite=overwrite)  # fmt: skip

    def stage(progress):
        from seiscli.config.synth import SynthConfig
        from seiscli.stages.synth import run_synth

        return run_synth(resolve_config(SynthConfig, "synth", common, flags), invocation(), progress)

    def report(r):
        payload = {"path": str(r.path), "kind": r.kind, "files": r.files, "count": r.count,
                   "seconds": round(r.seconds, 2), "per_second": round(r.per_second, 2), "unit": r.unit}  # fmt: skip
        summary = f"made {r.count} {r.unit} in {r.seconds:.1f} s ({r.per_second:.2f} per second) in {r.path}"
        return str(r.path), payload, summary

    run_command(common, stage, report)
