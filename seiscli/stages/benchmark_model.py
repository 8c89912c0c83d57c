"""``seis benchmark model CHECKPOINT``: a checkpoint in torch (fp32 and bf16) next to its ONNX export and
that export quantized to INT8 (ONNX Runtime), all in one run on the same inputs.

For every contender and batch size: the median seconds of ``runs`` calls after a warm-up call, as
milliseconds per batch and samples per second; the file size; and, with a dataset, the task's metric on
its split. Ratios are against ONNX Runtime fp32. The contenders take turns within each batch size, so
a change of machine load touches them alike.
"""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seiscli.config.benchmark import ModelBenchmarkConfig
from seiscli.progress import Progress, SilentProgress

CALIBRATION_SAMPLES, CALIBRATION_BATCH = 256, 32  # as seis quantize's defaults


@dataclass
class ModelRow:
    name: str
    megabytes: float
    ms_per_batch: dict[int, float] = field(default_factory=dict)
    metric: float | None = None

    def samples_per_s(self, batch: int) -> float:
        return 1000 * batch / self.ms_per_batch[batch]


@dataclass
class ModelBenchmark:
    model: Path
    task: str
    metric_name: str
    sample_shape: list[int]
    batch_sizes: tuple[int, ...]
    quantization: list[str]  # the INT8 modes timed, one row ``onnx-int8-MODE`` each
    machine: dict[str, Any]
    rows: list[ModelRow]

    def speedup(self, name: str, batch: int) -> float | None:
        """``name``'s speed over ONNX Runtime fp32 at ``batch``."""
        base = next((r for r in self.rows if r.name == "onnx"), None)
        row = next(r for r in self.rows if r.name == name)
        return None if base is None else base.ms_per_batch[batch] / row.ms_per_batch[batch]


def run_model_benchmark(cfg: ModelBenchmarkConfig, progress: Progress | None = None) -> ModelBenchmark:
    from seiscli.bench.forward import time_in_turns
    from seiscli.bench.machine import describe_machine
    from seiscli.deploy.export import sample_batch
    from seiscli.training.checkpoint import load_checkpoint

    progress = progress or SilentProgress()
    card, model = load_checkpoint(cfg.model, merge=True)
    shape = [int(s) for s in card["sample_shape"]]
    with tempfile.TemporaryDirectory() as scratch:
        contenders, quantization = _contenders(cfg, card, model, Path(scratch), progress)
        rows = [ModelRow(name, size / 1e6) for name, (_, size) in contenders.items()]
        calls = [call for call, _ in contenders.values()]
        for batch in cfg.batch_sizes:
            progress.log(f"timing batch {batch}")
            for row, seconds in zip(rows, time_in_turns(calls, sample_batch(shape, batch), cfg.runs)):
                row.ms_per_batch[batch] = 1000 * seconds
        if cfg.dataset is not None:
            for row, (call, _) in zip(rows, contenders.values()):
                progress.log(f"scoring {row.name} on {cfg.split}")
                row.metric = _score(card, call, cfg)
    from seiscli.training.tasks import make_task

    task = make_task(**card["task"])
    return ModelBenchmark(cfg.model, task.name, task.primary_metric, shape, cfg.batch_sizes, quantization,
                          describe_machine(), rows)  # fmt: skip


def _contenders(cfg: ModelBenchmarkConfig, card, model, scratch: Path, progress: Progress):
    """{name: (callable on (B, C, *S) tensors, bytes)} in ``cfg.contenders`` order; the INT8 modes timed.

    ``onnx-int8`` becomes one contender per mode: both static and dynamic under ``auto`` (as seis quantize
    tries them) when the graph has matrix products, else the one mode asked for."""
    from seiscli.deploy.quantize import int8_modes, quantize
    from seiscli.deploy.runtime import OnnxModel

    weights = cfg.model.stat().st_size
    found: dict[str, tuple[Any, int]] = {}
    exported = scratch / "model.onnx"
    if {"onnx", "onnx-int8"} & set(cfg.contenders):
        from seiscli.deploy.export import export_onnx

        progress.log("exporting to ONNX")
        export_onnx(cfg.model, exported)
    modes = []
    if "onnx-int8" in cfg.contenders:
        modes = list(int8_modes(exported)) if cfg.mode == "auto" else [cfg.mode]
    bf16 = torch.autocast("cpu", dtype=torch.bfloat16)
    for name in cfg.contenders:
        if name == "torch":
            found[name] = (model, weights)
        elif name == "torch-bf16":
            found[name] = (_under(bf16, model), weights)
        elif name == "onnx":
            found[name] = (OnnxModel(exported), exported.stat().st_size)
        else:
            for mode in modes:
                progress.log(f"quantizing to INT8 ({mode})")
                path = scratch / f"int8-{mode}.onnx"
                quantize(exported, path, mode, _calibration(cfg, card))
                found[f"onnx-int8-{mode}"] = (OnnxModel(path), path.stat().st_size)
    return found, modes


def _under(context, model):
    def call(x):
        with context:
            return model(x).float()

    return call


def _calibration(cfg: ModelBenchmarkConfig, card):
    """Batches of the dataset's train samples, or of random inputs in a sample's range without a dataset."""
    if cfg.dataset is not None:
        from seiscli.stages.quantize import calibration_batches

        return calibration_batches(cfg.dataset, CALIBRATION_SAMPLES, CALIBRATION_BATCH)
    from seiscli.deploy.export import sample_batch

    batches = CALIBRATION_SAMPLES // CALIBRATION_BATCH
    return (sample_batch(list(card["sample_shape"]), CALIBRATION_BATCH, seed=i).numpy() for i in range(batches))


def _score(card, call, cfg: ModelBenchmarkConfig) -> float:
    from seiscli.config.evaluate import EvaluateConfig
    from seiscli.stages.evaluate import primary_score

    return primary_score(card, call, EvaluateConfig(model=cfg.model, dataset=cfg.dataset, split=cfg.split,
                                                    tta=cfg.tta, precision="fp32"))  # fmt: skip
