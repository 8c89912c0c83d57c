"""``seis benchmark SUITE``: seis measured side by side with the tools it replaces."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import with_common_options
from seiscli.cli._runner import Common, resolve_config, run_command

benchmark_app = typer.Typer(help="Measure seis side by side with the tools it replaces.", no_args_is_help=True)

PlotOpt = Annotated[Path | None, typer.Option(help="Also draw the comparison to this PNG.")]


def _drawn(result, plot: Path | None):
    """``result``, after drawing it to ``plot`` when asked."""
    if plot is not None:
        from seiscli.viz.benchmark import draw_benchmark

        draw_benchmark(result, plot)
    return result


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
    plot: PlotOpt = None,
) -> None:
    """Time seis ingest against MDIO's segy_to_mdio and a raw segyio read: MB/s, ratios, peak memory."""
    flags = dict(size=size, samples=samples, format=format, contenders=contenders, workdir=workdir, keep=keep)

    def stage(progress):
        from seiscli.config.benchmark import IngestBenchmarkConfig
        from seiscli.stages.benchmark import run_ingest_benchmark

        return _drawn(run_ingest_benchmark(resolve_config(IngestBenchmarkConfig, "benchmark_ingest", common, flags),
                                           progress), plot)  # fmt: skip

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


@benchmark_app.command("loader")
@with_common_options
def loader_benchmark(
    common: Common,
    dataset: Annotated[Path, typer.Argument(help="Dataset store to read (seis preprocess or seis synth fwi).")],
    split: Annotated[str | None, typer.Option(help="Split to read: train (default), val or test.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch (default 32).")] = None,
    workers: Annotated[int | None, typer.Option(help="Loader worker processes (default 2).")] = None,
    batches: Annotated[int | None, typer.Option(help="Loader batches timed (default 50).")] = None,
    steps: Annotated[int | None, typer.Option(help="Training steps timed (default 20).")] = None,
    warmup: Annotated[int | None, typer.Option(help="Batches, then steps, run before timing (default 5).")] = None,
    augment: Annotated[bool | None, typer.Option(help="Augment the batches as training does (default on).")] = None,
    cache_mb: Annotated[
        int | None, typer.Option(help="Per-worker cache, MiB; larger stores stream (default 512).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the order, augmentations and weights (default 0).")] = None,
    precision: Annotated[str | None, typer.Option(help="auto (bf16 where the CPU has it), bf16 or fp32.")] = None,
    plot: PlotOpt = None,
) -> None:
    """Time the loader, then a tiny U-Net's training step on its batches (samples/s each, and their ratio)."""
    flags = dict(dataset=dataset, split=split, batch_size=batch_size, workers=workers, batches=batches, steps=steps,
                 warmup=warmup, augment=augment, cache_mb=cache_mb, seed=seed, precision=precision)  # fmt: skip

    def stage(progress):
        from seiscli.config.benchmark import LoaderBenchmarkConfig
        from seiscli.stages.benchmark_loader import run_loader_benchmark

        return _drawn(run_loader_benchmark(resolve_config(LoaderBenchmarkConfig, "benchmark_loader", common, flags),
                                           progress), plot)  # fmt: skip

    def report(r):
        shape = "x".join(map(str, r.sample_shape))
        what = f"{r.split} split ({r.samples} samples of {shape} {r.x_dtype})"
        setup = f"batch {r.batch_size}, {r.workers} workers, augmentation {'on' if r.augment else 'off'}"
        source = "cached in each worker" if r.cached else "streamed from the store"
        lines = [
            f"loader benchmark: {r.dataset}, {what}, {setup}",
            "measured one after the other, never concurrently: each had the whole machine",
            f"{'':<22} {'samples/s':>10}",
            f"{'loader':<22} {r.loader_samples_per_s:10.1f}  {r.loader_batches} batches, {source}",
            f"{f'train step ({r.precision})':<22} {r.train_samples_per_s:10.1f}  {r.train_steps} steps of a tiny U-Net "
            + "on batches in memory",
            f"{'ratio loader/train':<22} {r.ratio:9.1f}x  target >= {r.target_ratio:g}x",
        ]
        payload = {"dataset": str(r.dataset), "split": r.split, "samples": r.samples, "sample_shape": r.sample_shape,
                   "x_dtype": r.x_dtype, "batch_size": r.batch_size, "workers": r.workers, "augment": r.augment,
                   "measured": "sequentially",
                   "loader": {"samples_per_s": r.loader_samples_per_s, "batches": r.loader_batches, "cached": r.cached},
                   "train": {"samples_per_s": r.train_samples_per_s, "steps": r.train_steps, "precision": r.precision},
                   "ratio": r.ratio, "target_ratio": r.target_ratio}  # fmt: skip
        return "\n".join(lines), payload, None

    run_command(common, stage, report)


@benchmark_app.command("infer")
@with_common_options
def infer_benchmark(
    common: Common,
    size: Annotated[
        str | None, typer.Option(help="Generated volume, inlines x crosslines x samples (default 128x128x256).")
    ] = None,
    volume: Annotated[
        str | None, typer.Option(help="A volume store to use instead of a generated one (skips the 4x run).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Checkpoint, or a registered model to initialize afresh (default unet_small).")
    ] = None,
    patch: Annotated[str | None, typer.Option(help="Window of a fresh model (default 128x128).")] = None,
    overlap: Annotated[float | None, typer.Option(help="Overlap of neighbouring windows (default 0.5).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Windows per model call (default 16).")] = None,
    contenders: Annotated[str | None, typer.Option(help="Comma-separated: seis,monai (default both).")] = None,
    repeats: Annotated[
        int | None, typer.Option(help="Rounds in which the contenders take turns; median run reported (default 3).")
    ] = None,
    memory_check: Annotated[
        bool | None, typer.Option(help="Also run seis on a volume 4x larger and compare peak memory (default on).")
    ] = None,
    workdir: Annotated[Path | None, typer.Option(help="Folder for the temporary files (default: system temp).")] = None,
    keep: Annotated[bool | None, typer.Option(help="Keep the generated files.")] = None,
    plot: PlotOpt = None,
) -> None:
    """Time seis infer against MONAI's sliding_window_inference: windows/s, MB/s, peak memory, and the 4x bound."""
    flags = dict(size=size, volume=volume, model=model, patch=patch, overlap=overlap, batch_size=batch_size,
                 contenders=contenders, repeats=repeats, memory_check=memory_check, workdir=workdir,
                 keep=keep)  # fmt: skip

    def stage(progress):
        from seiscli.config.benchmark import InferBenchmarkConfig
        from seiscli.stages.benchmark_infer import run_infer_benchmark

        return _drawn(run_infer_benchmark(resolve_config(InferBenchmarkConfig, "benchmark_infer", common, flags),
                                          progress), plot)  # fmt: skip

    run_command(common, stage, _infer_report)


def _infer_report(r):
    from seiscli.bench.machine import machine_line

    shape, window = " x ".join(map(str, r.shape)), "x".join(map(str, r.window))
    lines = [f"infer benchmark: {r.model}, {shape} volume, window {window}, overlap {r.overlap:g}, gaussian, "
             f"batch {r.batch_size}, {max(row.runs for row in r.rows)} round(s)",
             machine_line(r.machine),
             "each contender in its own process, taking turns; median run of each (seconds: checkpoint load to "
             "class ids), highest peak",
             f"{'contender':<9} {'volume':>13} {'seconds':>8} {'windows':>8} {'windows/s':>10} {'MB/s':>7} "
             f"{'peak MB':>8}"]  # fmt: skip
    for row in r.rows:
        status = "" if row.ok else f"  FAILED: {row.note}"
        lines.append(f"{row.name:<9} {'x'.join(map(str, row.shape)):>13} {row.seconds:8.2f} {row.windows:8d} "
                     f"{row.windows_per_s:10.1f} {row.mb_per_s:7.2f} {row.peak_mb:8.0f}{status}")  # fmt: skip
    if r.ratio is not None:
        lines.append(f"throughput seis/monai: {r.ratio:.2f}x (MB/s)")
    if r.memory_growth is not None:
        verdict = "within" if r.memory_bounded else "NOT within"
        lines.append(f"memory on the 4x volume: {r.memory_growth:.2f}x the peak on the first, "
                     f"{verdict} {r.memory_tolerance:.0%}")  # fmt: skip
    if any(row.name == "monai" for row in r.rows):
        lines.append(f"monai: {r.monai_layout}")
    payload = {"model": r.model, "shape": r.shape, "window": r.window, "overlap": r.overlap, "blend": "gaussian",
               "batch_size": r.batch_size, "machine": r.machine, "measured": "in turns, median run",
               "rows": [row.__dict__ for row in r.rows], "ratio_seis_monai": r.ratio,
               "memory_growth": r.memory_growth, "memory_bounded": r.memory_bounded,
               "memory_tolerance": r.memory_tolerance, "monai_layout": r.monai_layout, "warnings": r.warnings}  # fmt: skip
    return "\n".join(lines), payload, None


@benchmark_app.command("model")
@with_common_options
def model_benchmark(
    common: Common,
    model: Annotated[Path, typer.Argument(help="Task checkpoint (seis finetune).")],
    dataset: Annotated[
        str | None, typer.Option(help="Dataset store: INT8 calibration (train) and each contender's metric.")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Split the metric is measured on (default test).")] = None,
    batch_sizes: Annotated[str | None, typer.Option(help="Comma-separated batch sizes (default 1,32).")] = None,
    runs: Annotated[int | None, typer.Option(help="Timed calls per contender and batch (default 10).")] = None,
    mode: Annotated[
        str | None, typer.Option(help="INT8 quantization: static, dynamic, or auto (default: both where both apply).")
    ] = None,
    contenders: Annotated[
        str | None, typer.Option(help="Comma-separated: torch,torch-bf16,onnx,onnx-int8 (default all).")
    ] = None,
    tta: Annotated[bool | None, typer.Option(help="Score with flip TTA.")] = None,
    plot: PlotOpt = None,
) -> None:
    """Latency and throughput of a checkpoint in torch (fp32, bf16), ONNX Runtime and INT8; metrics with --dataset."""
    flags = dict(model=model, dataset=dataset, split=split, batch_sizes=batch_sizes, runs=runs, mode=mode,
                 contenders=contenders, tta=tta)  # fmt: skip

    def stage(progress):
        from seiscli.config.benchmark import ModelBenchmarkConfig
        from seiscli.stages.benchmark_model import run_model_benchmark

        return _drawn(run_model_benchmark(resolve_config(ModelBenchmarkConfig, "benchmark_model", common, flags),
                                          progress), plot)  # fmt: skip

    run_command(common, stage, _model_report)


def _model_report(r):
    from seiscli.bench.machine import machine_line

    width = max(11, *(len(row.name) for row in r.rows))
    header = f"{'contender':<{width}} {'MB':>7}" + "".join(f" {f'ms/b{b}':>9} {'samples/s':>9} {'vs onnx':>7}"
                                                       for b in r.batch_sizes)  # fmt: skip
    quantized = f", INT8 {' and '.join(r.quantization)}" if r.quantization else ""
    lines = [f"model benchmark: {r.model}, {r.task}, samples {'x'.join(map(str, r.sample_shape))}{quantized}",
             machine_line(r.machine), "contenders take turns; median of the timed calls",
             header + (f" {r.metric_name:>8}" if any(row.metric is not None for row in r.rows) else "")]  # fmt: skip
    rows = []
    for row in r.rows:
        cells = f"{row.name:<{width}} {row.megabytes:7.1f}"
        entry = {"name": row.name, "megabytes": row.megabytes, "metric": row.metric, "batches": {}}
        for b in r.batch_sizes:
            ratio = r.speedup(row.name, b)
            cells += f" {row.ms_per_batch[b]:9.2f} {row.samples_per_s(b):9.1f} " + (
                f"{ratio:6.2f}x" if ratio else "      -"
            )
            entry["batches"][str(b)] = {
                "ms": row.ms_per_batch[b],
                "samples_per_s": row.samples_per_s(b),
                "vs_onnx": ratio,
            }
        lines.append(cells + (f" {row.metric:8.4f}" if row.metric is not None else ""))
        rows.append(entry)
    payload = {"model": str(r.model), "task": r.task, "metric": r.metric_name, "sample_shape": r.sample_shape,
               "quantization": r.quantization, "machine": r.machine, "rows": rows}  # fmt: skip
    return "\n".join(lines), payload, None


@benchmark_app.command("train")
@with_common_options
def train_benchmark(
    common: Common,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated registered models (default unet,res_unet,vit_t8_unetr).")
    ] = None,
    size: Annotated[str | None, typer.Option(help="Section samples HxW (default 128x128).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per step (default 16).")] = None,
    steps: Annotated[int | None, typer.Option(help="Timed steps per model and precision (default 10).")] = None,
    warmup: Annotated[int | None, typer.Option(help="Untimed steps first (default 2).")] = None,
    precisions: Annotated[str | None, typer.Option(help="Comma-separated: fp32,bf16 (default both).")] = None,
    plot: PlotOpt = None,
) -> None:
    """Training steps/s and samples/s of registered models on this machine, fp32 against bf16."""
    flags = dict(models=models, size=size, batch_size=batch_size, steps=steps, warmup=warmup, precisions=precisions)

    def stage(progress):
        from seiscli.config.benchmark import TrainBenchmarkConfig
        from seiscli.stages.benchmark_train import run_train_benchmark

        return _drawn(run_train_benchmark(resolve_config(TrainBenchmarkConfig, "benchmark_train", common, flags),
                                          progress), plot)  # fmt: skip

    run_command(common, stage, _train_report)


def _train_report(r):
    from seiscli.bench.machine import machine_line

    cells = "".join(f" {f'{p} steps/s':>14} {'samples/s':>9}" for p in r.precisions)
    ratio = "bf16/fp32" if set(r.precisions) == {"fp32", "bf16"} else ""
    lines = [f"train benchmark: batch {r.batch_size}, AdamW on one batch in memory; precisions take turns",
             machine_line(r.machine), f"{'model':<22} {'params':>8} {'input':>12}{cells} {ratio:>9}"]  # fmt: skip
    rows = []
    for row in r.rows:
        line = f"{row.model:<22} {row.parameters / 1e6:7.2f}M {'x'.join(map(str, row.input_shape)):>12}"
        entry = {"model": row.model, "parameters": row.parameters, "input_shape": row.input_shape, "precisions": {}}
        for p in r.precisions:
            seconds = row.seconds_per_step[p]
            line += f" {1 / seconds:14.2f} {r.batch_size / seconds:9.1f}"
            entry["precisions"][p] = {"steps_per_s": 1 / seconds, "samples_per_s": r.batch_size / seconds}
        if ratio:
            entry["bf16_speedup"] = row.seconds_per_step["fp32"] / row.seconds_per_step["bf16"]
            line += f" {entry['bf16_speedup']:8.2f}x"
        lines.append(line)
        rows.append(entry)
    payload = {"batch_size": r.batch_size, "machine": r.machine, "rows": rows}
    return "\n".join(lines), payload, None
