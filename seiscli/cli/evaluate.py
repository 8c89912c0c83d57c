"""``seis evaluate MODEL DATASET``."""

from pathlib import Path
from typing import Annotated, Any

import typer

from seiscli.cli._options import with_common_options
from seiscli.cli._runner import Common, resolve_config, run_command


@with_common_options
def evaluate(
    common: Common,
    model: Annotated[Path, typer.Argument(help="Checkpoint (.safetensors) or its ONNX export (seis export).")],
    dataset: Annotated[str, typer.Argument(help="Dataset store prepared for the model's task.")],
    split: Annotated[str | None, typer.Option(help="train, val or test (default test).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch (default 64).")] = None,
    workers: Annotated[int | None, typer.Option(help="Loader worker processes (default 2).")] = None,
    tta: Annotated[bool | None, typer.Option(help="Average with the mirrored prediction.")] = None,
    precision: Annotated[str | None, typer.Option(help="auto (bf16 where supported), bf16 or fp32.")] = None,
) -> None:
    """Metrics of a model on a split: per class and overall."""
    flags = dict(model=model, dataset=dataset, split=split, batch_size=batch_size, workers=workers, tta=tta,
                 precision=precision)  # fmt: skip

    def stage(progress):
        from seiscli.config.evaluate import EvaluateConfig
        from seiscli.stages.evaluate import run_evaluate

        return run_evaluate(resolve_config(EvaluateConfig, "evaluate", common, flags), progress)

    def report(r):
        payload = {"model": str(r.model), "dataset": r.dataset, "split": r.split, "task": r.task,
                   "samples": r.samples, "metrics": r.metrics}  # fmt: skip
        return format_metrics(payload), payload, None

    run_command(common, stage, report)


def format_metrics(payload: dict[str, Any]) -> str:
    metrics = payload["metrics"]
    lines = [f"{payload['model']} on {payload['dataset']} [{payload['split']}], {payload['samples']} samples"]
    overall = {k: v for k, v in metrics.items() if isinstance(v, float | int) and k not in ("pixels", "maps")}
    lines += [f"  {name:<16} {value:.4f}" for name, value in overall.items()]
    if "iou" in metrics:
        lines.append(f"  {'class':<16} {'IoU':>8} {'PA':>8}")
        for name, iou in metrics["iou"].items():
            pa = metrics.get("pa", {}).get(name)
            lines.append(f"  {name:<16} {_fmt(iou):>8} {_fmt(pa):>8}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
