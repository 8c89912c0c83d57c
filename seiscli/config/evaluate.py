"""Options of ``seis evaluate``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt

from seiscli.config.base import StrictModel


class EvaluateConfig(StrictModel):
    """Metrics of a trained model on one split of a dataset store."""

    model: Path
    dataset: str
    split: str = "test"
    batch_size: PositiveInt = 64
    workers: int = Field(2, ge=0)
    tta: bool = False  # average with the left-right mirrored prediction
    precision: Literal["auto", "bf16", "fp32"] = "auto"  # torch checkpoints; ONNX models run as exported
