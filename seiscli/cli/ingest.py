"""``seis ingest SEGY OUT``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config, run_command

HEADER_HELP = (
    "Trace header keys as NAME=BYTE[:TYPE],... "
    "(defaults inline=189,crossline=193,cdp_x=181,cdp_y=185; cdp=BYTE makes a 2D line)."
)


@with_common_options
def ingest(
    common: Common,
    segy: Annotated[Path, typer.Argument(help="SEG-Y file to read.")],
    out: Annotated[Path, typer.Argument(help="Volume store (MDIO v1, Zarr v3) to write.")],
    header: Annotated[str | None, typer.Option(help=HEADER_HELP)] = None,
    domain: Annotated[str | None, typer.Option(help="time or depth (default: from the text header).")] = None,
    chunks: Annotated[str | None, typer.Option(help="Chunk shape, e.g. 128,128,128 (3D) or 1024,1024 (2D).")] = None,
    compression: Annotated[str | None, typer.Option(help="lossless (default), lossy:TOLERANCE (ZFP) or none.")] = None,
    workers: Annotated[int | None, typer.Option(help="Threads that decode and compress (default 2).")] = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Convert a SEG-Y file into an MDIO v1 volume store, keeping every header."""
    flags = dict(segy=segy, out=out, header=header, domain=domain, chunks=chunks,
                 compression=compression, workers=workers, overwrite=overwrite)  # fmt: skip

    def stage(progress):
        from seiscli.config.ingest import IngestConfig
        from seiscli.stages.ingest import run_ingest

        return run_ingest(resolve_config(IngestConfig, "ingest", common, flags), invocation(), progress)

    def report(r):
        payload = {"path": str(r.path), "dims": r.dims, "shape": r.shape, "live_traces": r.live_traces,
                   "dead_traces": r.dead_traces, "seconds": round(r.seconds, 3), "mb_per_s": round(r.mb_per_s, 1)}  # fmt: skip
        summary = (f"ingested {r.live_traces} traces ({r.dead_traces} missing) into a "
                   f"{' x '.join(map(str, r.shape))} {'/'.join(r.dims)} volume in {r.seconds:.1f} s "
                   f"({r.mb_per_s:.0f} MB/s)")  # fmt: skip
        return str(r.path), payload, summary

    run_command(common, stage, report)
