"""``seis quantize MODEL.onnx OUT.onnx --calibration DATASET``: quantize, compare, keep or refuse.

The quantized model is written to a temporary file, evaluated next to the original on the dataset's
``split`` with the task's own metric, and timed next to it on one batch; it replaces OUT only when
the metric drops by at most ``max_drop`` (or with ``force``). A refusal writes nothing and exits 1.
``auto`` quantizes both ways (static QDQ and dynamic) and keeps the faster model that passes: which
one wins depends on the model's mix of convolutions and matrix products, and on the machine.
"""

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.config.evaluate import EvaluateConfig
from seiscli.config.quantize import QuantizeConfig
from seiscli.errors import ConfigError, SeisError
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.atomic import atomic_output, check_writable

TIMED_RUNS = 5


class AccuracyGateError(SeisError):
    """The quantized model lost more of its metric than allowed; nothing was written."""


@dataclass
class QuantizeResult:
    path: Path
    mode: str
    metric: str
    before: float
    after: float
    drop: float
    bytes_before: int
    bytes_after: int
    ms_before: float  # per sample, one batch of ``batch_size``
    ms_after: float
    forced: bool = False
    others: list[dict[str, Any]] = field(default_factory=list)  # auto: the modes tried and not kept

    @property
    def speedup(self) -> float:
        return self.ms_before / self.ms_after

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "mode": self.mode, "metric": self.metric, "before": self.before,
                "after": self.after, "drop": self.drop, "bytes_before": self.bytes_before,
                "bytes_after": self.bytes_after, "ms_per_sample_before": round(self.ms_before, 4),
                "ms_per_sample_after": round(self.ms_after, 4), "speedup": round(self.speedup, 3),
                "forced": self.forced, "others": self.others}  # fmt: skip


def run_quantize(cfg: QuantizeConfig, progress: Progress | None = None) -> QuantizeResult:
    from seiscli.deploy.quantize import int8_modes
    from seiscli.deploy.runtime import load_model
    from seiscli.stages.evaluate import primary_score
    from seiscli.training.tasks import make_task

    progress = progress or SilentProgress()
    if cfg.model.suffix != ".onnx":
        raise ConfigError(f"{cfg.model}: seis quantize takes an ONNX model",
                          f"export the checkpoint first: seis export {cfg.model} MODEL.onnx")  # fmt: skip
    if cfg.out.suffix != ".onnx":
        raise ConfigError(f"{cfg.out}: name the quantized model *.onnx")
    check_writable(cfg.out, cfg.overwrite)
    card, original = load_model(cfg.model)
    task = make_task(**card["task"])
    gate = EvaluateConfig(model=cfg.model, dataset=cfg.calibration, split=cfg.split, batch_size=cfg.batch_size,
                          workers=cfg.workers, precision="fp32")  # fmt: skip
    before = primary_score(card, original, gate, progress)
    modes = int8_modes(cfg.model) if cfg.mode == "auto" else (cfg.mode,)
    with (
        atomic_output(cfg.out, cfg.overwrite) as tmp,
        tempfile.TemporaryDirectory(prefix=".seis-quantize-", dir=tmp.parent) as scratch,
    ):
        trials = []
        for mode in modes:
            progress.log(f"quantizing {cfg.model} ({mode})")
            path = Path(scratch) / f"{mode}.onnx"
            trials.append(_trial(cfg, card, task, original, gate, before, path, mode, progress))
        passing = [t for t in trials if t.drop <= cfg.max_drop]
        chosen = max(passing, key=lambda t: t.speedup) if passing else min(trials, key=lambda t: t.drop)
        if not passing and not cfg.force:
            raise AccuracyGateError(f"{chosen.mode} quantization costs {chosen.drop:.4f} {task.primary_metric} on "
                                    f"{cfg.split} ({before:.4f} -> {chosen.after:.4f}), more than --max-drop "
                                    f"{cfg.max_drop}; nothing was written",
                                    "try another --mode, more --calibration-samples, or --force")  # fmt: skip
        os.replace(chosen.path, tmp)
    others = [{"mode": t.mode, "after": t.after, "drop": t.drop, "speedup": round(t.speedup, 3)}
              for t in trials if t is not chosen]  # fmt: skip
    return replace(chosen, path=cfg.out, forced=not passing, others=others)


def _trial(cfg: QuantizeConfig, card, task, original, gate: EvaluateConfig, before: float, path: Path, mode: str,
           progress: Progress) -> QuantizeResult:  # fmt: skip
    """``mode``'s quantized model written to ``path``, scored on the ``gate`` split against the original's
    ``before`` and timed against the original."""
    from seiscli.deploy.quantize import quantize
    from seiscli.deploy.runtime import OnnxModel
    from seiscli.stages.evaluate import primary_score

    batches = calibration_batches(cfg.calibration, cfg.calibration_samples, cfg.batch_size)
    quantize(cfg.model, path, mode, batches)
    quantized = OnnxModel(path)
    after = primary_score(card, quantized, gate, progress)
    drop = before - after if task.higher_is_better else after - before
    ms_before, ms_after = _per_sample_ms(original, quantized, card, cfg.batch_size)
    return QuantizeResult(path, mode, task.primary_metric, before, after, drop, cfg.model.stat().st_size,
                          path.stat().st_size, ms_before, ms_after)  # fmt: skip


def calibration_batches(dataset_path: str, samples: int, batch_size: int):
    """Up to ``samples`` train samples, evenly spread over the split, in batches of ``batch_size``."""
    from seiscli.storage.dataset import open_dataset

    dataset = open_dataset(dataset_path)
    indices = np.flatnonzero(dataset.group["split"][...] == dataset.attrs["splits"].index("train"))
    if len(indices) == 0:
        raise ConfigError(f"{dataset_path} has no train samples to calibrate on")
    chosen = indices[np.linspace(0, len(indices) - 1, min(samples, len(indices))).astype(int)]
    for start in range(0, len(chosen), batch_size):
        yield np.asarray(dataset.x.get_orthogonal_selection((chosen[start : start + batch_size],)), np.float32)


def _per_sample_ms(original, quantized, card, batch: int) -> tuple[float, float]:
    """Milliseconds per sample of each model on one batch, the two taking turns."""
    from seiscli.bench.forward import time_in_turns
    from seiscli.deploy.export import sample_batch

    seconds = time_in_turns([original, quantized], sample_batch(list(card["sample_shape"]), batch), TIMED_RUNS)
    return tuple(1000 * s / batch for s in seconds)
