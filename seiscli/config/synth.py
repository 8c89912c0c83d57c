"""Options of ``seis synth``."""

from pathlib import Path
from typing import Literal

from pydantic import PositiveFloat, PositiveInt, field_validator, model_validator

from seiscli.config.base import Fractions3, StrictModel, parse_size

FWI_FAMILIES = ("flat", "curved", "flat-fault", "curved-fault")


class SynthConfig(StrictModel):
    """Labelled synthetic surveys (faults, salt, facies) or velocity/shot-gather pairs (fwi)."""

    kind: Literal["faults", "salt", "facies", "fwi"]
    out_dir: Path
    shape: tuple[PositiveInt, ...] | None = None  # geology: inline,crossline,samples or traces,samples; fwi: depth,x
    count: PositiveInt = 1
    seed: int = 0
    workers: PositiveInt = 2
    preview: Path | None = None
    overwrite: bool = False
    # fwi only
    family: Literal["all", "flat", "curved", "flat-fault", "curved-fault"] = "all"
    shots: PositiveInt = 5
    receivers: PositiveInt = 70
    time_samples: PositiveInt = 1000
    frequency: PositiveFloat = 15.0
    split: Fractions3 = (0.8, 0.1, 0.1)

    @field_validator("shape", mode="before")
    @classmethod
    def _parse_shape(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> "SynthConfig":
        if self.shape is not None:
            allowed = (2,) if self.kind == "fwi" else (2, 3)
            if len(self.shape) not in allowed:
                what = "depth,x" if self.kind == "fwi" else "inlines,crosslines,samples or traces,samples"
                raise ValueError(f"shape {','.join(map(str, self.shape))} must be {what}")
            if min(self.shape) < 8:
                raise ValueError("every shape dimension must be at least 8")
        if abs(sum(self.split) - 1) > 1e-6 or min(self.split) < 0:
            raise ValueError("split must be three non-negative fractions (train,val,test) that add up to 1")
        return self

    def grid_shape(self) -> tuple[int, ...]:
        return self.shape or ((70, 70) if self.kind == "fwi" else (128, 128, 128))
