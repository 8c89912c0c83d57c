"""``seis benchmark SUITE``: seis measured side by side with the tools it replaces."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import with_common_options
from seiscli.cli._runner import Common, resolve_config, run_command

benchmark_app = typer.Typer(help="Measure seis side by side with the tools it replaces.", no_args_is_help=True)


@benchmark_app.command("ingest")
@with_common_options
def ingest_benchmark(
    common: Common,
    size: Annotated[str | None, typer.Option(help="Size of the generated SEG-Y file (default 1GiB).")] = None,
    samples: Annotated[int | None, typer.Option(help="Samples per trace (default 1500).")] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Sample format of the file: ieee (default) or ibm.")
    ] = None,
    contenders: Annotated[str | None, typer.Option(help="Comma-separated: seis,mdio,segyio (default all).")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Folder for the temporary files (default: system temp).")] = None,
    keep: Annotated[bool | None, typer.Option(help="Keep the generated files.")] = None,
) -> None:
    """Time seis ingest against MDIO's segy_to_mdio and a raw segyio read: MB/s, ratios, peak memory."""
    flags = dict(size=size, samples=samples, format=format, contenders=contenders, workdir=workdir, keep=keep)

    def stage(progress):
        from seiscli.config.benchmark import IngestBenchmarkConfig
        from seiscli.stages.benchmark import run_ingest_benchmark

        return run_ingest_benchmark(resolve_config(IngestBenchmarkConfig, "benchmark_ingest", common, flags), progress)

    def report(result):
        lines = [f"ingest benchmark: {result.file_mb:.0f} MB SEG-Y, {' x '.join(map(str, result.grid))} ({result.sample_format.upper()} float)",
                 f"{'contender':<10} {'seconds':>8} {'MB/s':>8} {'peak MB':>8}  vs mdio  vs segyio"]  # fmt: skip
        payload = {"sample_format": result.sample_format, "file_mb": result.file_mb, "grid": result.grid, "rows": []}
        for row in result.rows:
            vs_mdio, vs_segyio = result.ratio(row.name, "mdio"), result.ratio(row.name, "segyio")
            fmt = lambda r: f"{r:7.2f}x" if r else "      -"
            status = "" if row.ok else f"  FAILED: {row.note}"
            lines.append(f"{row.name:<10} {row.seconds:8.2f} {row.mb_per_s:8.1f} {row.peak_mb:8.0f} "
                         f"{fmt(vs_mdio)} {fmt(vs_segyio)}{status}")  # fmt: skip
            payload["rows"].append({**row.__dict__, "vs_mdio": vs_mdio, "vs_segyio": vs_segyio})
        return "\n".join(lines), payload, None

    run_command(common, stage, report)
