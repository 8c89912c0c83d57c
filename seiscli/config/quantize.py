"""Options of ``seis quantize``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt

from seiscli.config.base import StrictModel


class QuantizeConfig(StrictModel):
    """An ONNX model quantized with ONNX Runtime, kept only if its metric holds on a dataset split."""

    model: Path  # an ONNX export (seis export)
    out: Path
    calibration: str  # dataset store: calibration samples (train split) and the accuracy gate (``split``)
    mode: Literal["auto", "static", "dynamic", "fp16"] = "auto"
    max_drop: float = Field(0.01, ge=0)  # largest loss of the task's metric allowed (absolute)
    force: bool = False  # write the model even when the metric drops more than max_drop
    split: str = "val"  # the split the metric is compared on
    calibration_samples: PositiveInt = 256
    batch_size: PositiveInt = 32
    workers: int = Field(2, ge=0)
    overwrite: bool = False
