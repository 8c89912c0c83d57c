"""Options of ``seis export``."""

from pathlib import Path

from pydantic import Field

from seiscli.config.base import StrictModel


class ExportConfig(StrictModel):
    """Write an artifact out in an interchange format: a checkpoint to ONNX, a volume or prediction store to SEG-Y."""

    source: Path
    out: Path
    variable: str | None = None  # SEG-Y: default a volume's amplitude, a prediction store's class ids
    fp16: bool = False  # ONNX: float16 weights
    tolerance: float | None = Field(None, gt=0)  # ONNX: largest relative difference from torch allowed
    overwrite: bool = False

    @property
    def to_onnx(self) -> bool:
        return self.out.suffix == ".onnx"
