"""Options of ``seis evaluate``."""

from pathlib import Path

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
