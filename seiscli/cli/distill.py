"""``seis distill TEACHER DATASET OUT --student NAME``."""

from pathlib import Path
from typing import Annotated, Any

import typer

from seiscli.cli._options import with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config
from seiscli.cli._training import launch_or_run, run_training_command, with_training_options


@with_common_options
@with_training_options()
def distill(
    common: Common,
    training: dict[str, Any],
    teacher: Annotated[Path, typer.Argument(help="Task checkpoint to learn from (seis finetune).")],
    dataset: Annotated[str, typer.Argument(help="Dataset store of the teacher's task, labelled or not.")],
    out: Annotated[Path, typer.Argument(help="Run folder: best and last student checkpoints, comparison.json.")],
    student: Annotated[str | None, typer.Option(help="Registered model to train; see seis info --models.")] = None,
    alpha: Annotated[
        float | None, typer.Option(help="Weight of the teacher's soft targets vs the labels (default 0.5).")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="Softens the class distributions (default 2).")] = None,
    feature_weight: Annotated[
        float | None, typer.Option(help="Weight of matching the teacher's deepest features (default 0: off).")
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Split where teacher and student are compared (default val).")
    ] = None,
) -> None:
    """Train a smaller model on a teacher checkpoint's predictions; compare teacher and student."""
    flags = dict(teacher=teacher, dataset=dataset, out=out, student=student, alpha=alpha, temperature=temperature,
                 feature_weight=feature_weight, split=split, **training)  # fmt: skip

    def stage(progress):
        from seiscli.config.distill import DistillConfig
        from seiscli.stages.distill import run_distill, summarize_distill

        cfg = resolve_config(DistillConfig, "distill", common, flags)
        return launch_or_run(cfg, lambda: run_distill(cfg, invocation(), progress), summarize_distill)

    def report(r):
        payload = {"path": str(r.path), "epochs": r.epochs, "best": r.best, "seconds": round(r.seconds, 1),
                   **r.comparison}  # fmt: skip
        return (
            str(r.path),
            payload,
            f"distilled {r.epochs} epochs in {r.seconds / 60:.1f} min\n" + format_comparison(r.comparison),
        )

    run_training_command(common, stage, report)


def format_comparison(comparison: dict[str, Any]) -> str:
    """Teacher and student side by side: model, parameters, the task metric, agreement, samples/s."""
    metric = comparison["primary_metric"]
    lines = [f"on {comparison['split']} ({comparison['samples']} samples); agreement: the student's {metric} "
             f"with the teacher's predictions as the truth",
             f"  {'':<8} {'model':<20} {'parameters':>12} {metric:>9} {'agreement':>10} {'samples/s':>10}"]  # fmt: skip
    for role in ("teacher", "student"):
        row = comparison[role]
        value, agreement = (row["metrics"] or {}).get(metric), (row.get("agreement") or {}).get(metric)
        lines.append(f"  {role:<8} {row['model']:<20} {row['parameters']:>12,} {_fmt(value):>9} {_fmt(agreement):>10}"
                     f" {row['samples_per_second']:>10.1f}")  # fmt: skip
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
