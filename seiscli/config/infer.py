"""Options of ``seis infer``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from seiscli.config.base import StrictModel, parse_size
from seiscli.inference.windows import parse_part


class InferConfig(StrictModel):
    """A task checkpoint over a whole volume store, into a prediction store (or the volume itself)."""

    model: Path
    volume: str
    out: Path | None = None  # None only with --into
    patch: tuple[PositiveInt, ...] | None = None  # default: the card's patch size
    axis: Literal["inline", "crossline", "sample"] | None = None  # 2D models; default: the first trained on
    overlap: float = Field(0.5, ge=0, lt=1)
    blend: Literal["gaussian", "hann", "constant"] = "gaussian"
    batch_size: PositiveInt = 16
    tta: bool = False  # average with the left-right mirrored prediction
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    probabilities: bool = False
    into: bool = False
    resume: bool = False
    part: str | None = None  # "i/n": chunks i, i+n, i+2n ... (0-based)
    workers: PositiveInt = 1  # threads reading and normalizing chunks ahead of the model
    overwrite: bool = False

    @field_validator("patch", mode="before")
    @classmethod
    def _parse_size(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("part")
    @classmethod
    def _check_part(cls, value: str | None) -> str | None:
        if value is not None:
            parse_part(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> "InferConfig":
        if self.patch is not None and len(self.patch) not in (2, 3):
            raise ValueError(f"patch {self.patch} must be HxW (sections) or DxHxW (cubes)")
        if self.into == (self.out is not None):
            raise ValueError("give an output store OUT, or --into to write into the volume store (not both)")
        if self.overwrite and (self.resume or self.part):
            raise ValueError("--overwrite starts again: it cannot go with --resume or --part (which finish a store)")
        return self

    def part_tuple(self) -> tuple[int, int]:
        return parse_part(self.part) if self.part else (0, 1)
