"""``seis demo [DIR]``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config, run_command


@with_common_options
def demo(
    common: Common,
    dir: Annotated[
        Path | None, typer.Argument(help="Folder for everything the demo makes (default seis-demo).")
    ] = None,
    task: Annotated[str | None, typer.Option(help="salt (default), fault or facies.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs (default 12).")] = None,
    model: Annotated[str | None, typer.Option(help="Model to train (default unet_small).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the surveys and the training (default 0).")] = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """The whole pipeline on a built-in synthetic survey: synth, ingest, preprocess, finetune, evaluate,
    infer, export, plot."""
    flags = dict(dir=dir, task=task, epochs=epochs, model=model, seed=seed, overwrite=overwrite)

    def stage(progress):
        from seiscli.config.demo import DemoConfig
        from seiscli.stages.demo import run_demo

        return run_demo(resolve_config(DemoConfig, "demo", common, flags), invocation(), progress)

    def report(r):
        payload = {"path": str(r.path), "steps": r.steps, "test": r.test_metrics, "heldout": r.survey_metrics,
                   "seconds": round(r.seconds, 1)}  # fmt: skip
        held = r.survey_metrics
        summary = (f"demo done in {r.seconds / 60:.1f} min: held-out survey mIoU {held['miou']:.4f}; look at "
                   f"{r.path / 'prediction.png'} and {r.path / 'training.png'}, open {r.path / 'prediction.sgy'} "
                   f"in your interpretation software")  # fmt: skip
        return str(r.path), payload, summary

    run_command(common, stage, report)
