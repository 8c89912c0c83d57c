"""``seis demo [DIR]``: the whole pipeline on a built-in synthetic survey, one step after the other.

Two surveys are synthesized with their labels: the first is cut into the training, validation and
test sections; the second is never shown to the model until the end, when it is predicted whole, so
its score says how the model does on a survey of its own. Every step calls the stage its command
runs, writes what that command writes into DIR, and says on stderr what it made and where.
"""

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seiscli.config.demo import DemoConfig
from seiscli.errors import OutputExistsError
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.provenance import Invocation

SUMMARY = "demo.json"
SYNTH_KIND = {"salt": "salt", "fault": "faults", "facies": "facies"}


@dataclass
class DemoResult:
    path: Path
    steps: list[dict[str, Any]]  # name, what it wrote, seconds, facts
    test_metrics: dict[str, Any]  # on the dataset's test sections
    survey_metrics: dict[str, Any]  # the held-out survey predicted whole, against its labels
    seconds: float
    warnings: list[str] = field(default_factory=list)


class _Steps:
    """Runs the numbered steps, timing each and telling the user what it wrote."""

    def __init__(self, total: int, progress: Progress):
        self.total, self.progress, self.done = total, progress, []

    def run(self, name: str, action: Callable[[], Any], wrote: Path | None, describe: Callable[[Any], str]) -> Any:
        self.progress.log(f"[{len(self.done) + 1}/{self.total}] {name} ...")
        started = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - started
        facts = describe(result)
        where = f" -> {wrote}" if wrote else ""
        self.progress.log(f"      {facts}{where} ({seconds:.1f} s)")
        self.done.append({"step": name, "wrote": str(wrote) if wrote else None, "seconds": round(seconds, 2),
                          "facts": facts})  # fmt: skip
        return result


def run_demo(cfg: DemoConfig, invocation: Invocation | None = None, progress: Progress | None = None) -> DemoResult:
    """synth -> ingest -> preprocess -> finetune -> evaluate -> infer -> export -> score -> plot."""
    from seiscli.config.evaluate import EvaluateConfig
    from seiscli.config.export import ExportConfig
    from seiscli.config.finetune import FinetuneConfig
    from seiscli.config.infer import InferConfig
    from seiscli.config.ingest import IngestConfig
    from seiscli.config.plot import PlotConfig
    from seiscli.config.preprocess import PreprocessConfig
    from seiscli.config.synth import SynthConfig
    from seiscli.stages.evaluate import run_evaluate
    from seiscli.stages.export import run_export
    from seiscli.stages.finetune import run_finetune
    from seiscli.stages.infer import run_infer
    from seiscli.stages.ingest import run_ingest
    from seiscli.stages.plot import run_plot
    from seiscli.stages.preprocess import run_preprocess
    from seiscli.stages.synth import run_synth

    progress = progress or SilentProgress()
    started = time.perf_counter()
    d = _prepare_dir(cfg)
    steps = _Steps(11, progress)
    inv = invocation or Invocation("seis demo")
    synth = steps.run(
        f"synthesize two {cfg.task} surveys {'x'.join(map(str, cfg.shape))} with labels",
        lambda: run_synth(SynthConfig(kind=SYNTH_KIND[cfg.task], out_dir=d / "synth", shape=cfg.shape, count=2,
                                      seed=cfg.seed, workers=max(cfg.workers, 1)), inv, progress),
        d / "synth", lambda r: f"{r.count} SEG-Y files and label stores",
    )  # fmt: skip
    segys = sorted(Path(synth.path).glob("*.sgy"))
    labels = [segy.with_name(segy.name.removesuffix(".sgy") + ".labels.zarr") for segy in segys]
    train_volume, held_out = d / "survey-train.mdio", d / "survey-heldout.mdio"
    for segy, volume, role in ((segys[0], train_volume, "training"), (segys[1], held_out, "held-out")):
        steps.run(f"ingest the {role} survey's SEG-Y", lambda s=segy, v=volume: run_ingest(
            IngestConfig(segy=s, out=v), inv, progress), volume,
            lambda r: f"MDIO volume {'x'.join(map(str, r.shape))}, {r.live_traces} live traces")  # fmt: skip
    dataset = d / "dataset.zarr"
    steps.run(
        "cut normalized inline and crossline sections into train/val/test",
        # Random splits: a survey this small has too few lines for blocked ones to see salt in each; the
        # held-out survey, never cut, gives the honest score.
        lambda: run_preprocess(PreprocessConfig(inputs=[str(train_volume)], out=dataset, labels=[str(labels[0])],
                                                task=cfg.task, patch=(cfg.patch, cfg.patch),
                                                axes=("inline", "crossline"), split="random:0.8,0.1,0.1",
                                                seed=cfg.seed), inv, progress),
        dataset, lambda r: f"{r.samples} samples " + ", ".join(f"{k} {v}" for k, v in r.splits.items()),
    )  # fmt: skip
    run = d / "run"
    trained = steps.run(
        f"fine-tune {cfg.model} for {cfg.epochs} epochs",
        lambda: run_finetune(FinetuneConfig(dataset=str(dataset), out=run, task=cfg.task, model=cfg.model,
                                            epochs=cfg.epochs, batch_size=16, lr=3e-3, workers=cfg.workers,
                                            seed=cfg.seed), inv, progress),
        run, lambda r: f"best val {_pretty(r.best)}",
    )  # fmt: skip
    model = run / "best.safetensors"
    tested = steps.run(
        "evaluate on the test sections",
        lambda: run_evaluate(EvaluateConfig(model=model, dataset=str(dataset), split="test", workers=0), progress),
        None, lambda r: f"{r.samples} sections: {_headline(r.metrics)}",
    )  # fmt: skip
    prediction = d / "prediction.mdio"
    steps.run(
        "predict the held-out survey whole (sliding windows, Gaussian blending)",
        lambda: run_infer(InferConfig(model=model, volume=str(held_out), out=prediction, probabilities=True),
                          inv, progress),
        prediction, lambda r: f"{r.windows} windows, {r.windows_per_second:.0f} windows/s",
    )  # fmt: skip
    exported = d / "prediction.sgy"
    steps.run(
        "export the prediction to SEG-Y with the survey's headers",
        lambda: run_export(ExportConfig(source=prediction, out=exported), progress),
        exported, lambda r: "SEG-Y for interpretation software",
    )  # fmt: skip
    scored = steps.run(
        "score the held-out prediction against its labels",
        lambda: score_prediction(prediction, labels[1], cfg.task), None, _headline,
    )  # fmt: skip
    pictures = {"prediction.png": prediction, "labels.png": labels[1]}
    steps.run(
        "plot the held-out survey with its prediction and with its labels",
        lambda: [run_plot(PlotConfig(path=str(held_out), out=d / name, overlay=str(overlay)), progress)
                 for name, overlay in pictures.items()],
        d / "prediction.png", lambda r: f"also {d / 'labels.png'}",
    )  # fmt: skip
    steps.run(
        "plot the training curves",
        lambda: run_plot(PlotConfig(path=str(run / "metrics.jsonl"), out=d / "training.png"), progress),
        d / "training.png", lambda r: "loss, val metrics and learning rate per epoch",
    )  # fmt: skip
    result = DemoResult(d, steps.done, tested.metrics, scored, time.perf_counter() - started,
                        list(trained.warnings))  # fmt: skip
    (d / SUMMARY).write_text(json.dumps({"status": "done", "steps": result.steps, "test": result.test_metrics,
                                         "heldout": result.survey_metrics, "seconds": result.seconds},
                                        indent=2, default=str) + "\n")  # fmt: skip
    return result


def score_prediction(prediction: Path, labels: Path, task: str) -> dict[str, Any]:
    """Metrics of a prediction store against a label store on one grid, read inline by inline."""
    import numpy as np

    from seiscli.errors import ConfigError
    from seiscli.storage.labels import open_labels
    from seiscli.training.metrics import ConfusionMatrix

    pred, truth = open_labels(prediction), open_labels(labels)
    for dim in truth.dims:
        if not np.array_equal(pred.coords(dim), truth.coords(dim)):
            raise ConfigError(f"{prediction} and {labels} are not on one grid ({dim} differs)")
    names = truth.class_names(task)
    meter = ConfusionMatrix(len(names), class_names=names)
    predicted, target = pred.group[task], truth.group[task]
    for start in range(0, target.shape[0], target.chunks[0]):
        rows = slice(start, start + target.chunks[0])
        meter.update(np.asarray(predicted[rows], dtype=np.int64), np.asarray(target[rows], dtype=np.int64))
    return meter.as_dict()


def _prepare_dir(cfg: DemoConfig) -> Path:
    """DIR new or empty; a previous demo's folder is replaced only with --overwrite; anything else stays."""
    d = cfg.dir
    if d.exists() and any(d.iterdir()):
        if not cfg.overwrite:
            raise OutputExistsError(f"{d} already exists", "pass --overwrite to run the demo again there")
        if not (d / SUMMARY).is_file():
            raise OutputExistsError(f"{d} is not a seis demo folder: nothing was removed",
                                    "choose a new or empty folder for the demo")  # fmt: skip
        shutil.rmtree(d)
    d.mkdir(parents=True, exist_ok=True)
    (d / SUMMARY).write_text(json.dumps({"status": "running"}) + "\n")  # marks the folder as the demo's
    return d


def _headline(metrics: dict[str, Any]) -> str:
    keys = [k for k in ("miou", "mpa", "pixel_accuracy", "mae", "rmse") if k in metrics]
    text = ", ".join(f"{k} {_number(metrics[k])}" for k in keys)
    if "iou" in metrics:
        text += " (IoU " + ", ".join(f"{name} {_number(value)}" for name, value in metrics["iou"].items()) + ")"
    return text


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"  # None: a class absent from truth and prediction


def _pretty(best: dict[str, float]) -> str:
    return ", ".join(f"{k} {_number(v)}" for k, v in best.items()) or "- (no val sections)"
