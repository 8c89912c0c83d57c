"""Options of ``seis demo``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt

from seiscli.config.base import StrictModel


class DemoConfig(StrictModel):
    """The whole pipeline on a built-in synthetic survey, into the folder DIR."""

    dir: Path = Path("seis-demo")
    task: Literal["salt", "fault", "facies"] = "salt"
    shape: tuple[PositiveInt, PositiveInt, PositiveInt] = (96, 96, 128)  # inlines, crosslines, samples per survey
    model: str = "unet_small"
    epochs: PositiveInt = 12
    patch: PositiveInt = 64  # square sections cut for training and windows of inference
    seed: int = 0
    workers: int = Field(1, ge=0)
    overwrite: bool = False
