"""Options of ``seis preprocess``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from seiscli.config.base import CommaStrings, FloatPair, StrictModel, parse_size
from seiscli.data.normalize import METHODS
from seiscli.data.patches import AXES

SPLIT_KINDS = ("blocked", "random", "file", "keep")


class PreprocessConfig(StrictModel):
    """From volume stores (+ labels), tile folders or synth fwi datasets to a dataset store."""

    inputs: list[str] = Field(min_length=1)
    out: Path
    labels: list[str] = Field(default_factory=list)
    task: Literal["salt", "fault", "facies", "velocity", "pretrain"] | None = None
    patch: tuple[PositiveInt, ...] = (128, 128)
    stride: tuple[PositiveInt, ...] | None = None
    axes: CommaStrings = ("inline",)
    normalize: str = "zscore"
    clip: float = Field(3.0, gt=0)
    percentiles: FloatPair = (0.5, 99.5)
    agc_window: PositiveInt = 64
    split: str | None = None  # default: blocked:0.8,0.1,0.1 for volumes, random for tiles, keep for datasets
    gap: int = Field(8, ge=0)
    min_live: float = Field(0.5, ge=0, le=1)
    val_fraction: float = Field(0.1, ge=0, lt=1)
    classes: str | None = None
    dtype: Literal["float16", "float32"] = "float16"
    seed: int = 0
    overwrite: bool = False

    @field_validator("inputs", "labels", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return (
            [value]
            if isinstance(value, str | Path)
            else [str(v) for v in value]
            if isinstance(value, list | tuple)
            else value
        )

    @field_validator("patch", "stride", mode="before")
    @classmethod
    def _parse_size(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("normalize")
    @classmethod
    def _check_normalize(cls, value: str) -> str:
        if value not in METHODS:
            raise ValueError(f"unknown normalization {value!r}; choose from {', '.join(METHODS)}")
        return value

    @model_validator(mode="after")
    def _check(self) -> "PreprocessConfig":
        if len(self.patch) not in (2, 3):
            raise ValueError(f"patch {self.patch} must be HxW (sections) or DxHxW (cubes)")
        if self.stride is not None and len(self.stride) != len(self.patch):
            raise ValueError("stride must have as many sizes as patch")
        bad = [a for a in self.axes if a not in AXES[:3]]
        if bad:
            raise ValueError(f"unknown axis {bad[0]!r}; choose from inline, crossline, sample")
        kind, _, rest = (self.split or "keep").partition(":")
        if kind not in SPLIT_KINDS:
            raise ValueError(f"split {self.split!r} must be blocked:F,F,F, random:F,F,F, file:PATH or keep")
        if kind in ("blocked", "random"):
            fractions = self.split_fractions()
            if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
                raise ValueError(f"split {self.split!r}: three fractions (train,val,test) that add up to 1")
        if self.labels and len(self.labels) != len(self.inputs):
            raise ValueError(f"{len(self.labels)} label stores for {len(self.inputs)} inputs: give one per volume")
        return self

    def split_kind(self, default: str) -> str:
        return (self.split or default).partition(":")[0]

    def split_fractions(self) -> tuple[float, ...]:
        _, _, rest = (self.split or "").partition(":")
        return tuple(float(v) for v in rest.split(",")) if rest else (0.8, 0.1, 0.1)

    def split_file(self) -> Path | None:
        kind, _, rest = (self.split or "").partition(":")
        return Path(rest) if kind == "file" else None

    def class_map(self) -> dict[int, int] | None:
        if not self.classes:
            return None
        pairs = (item.split(":") for item in self.classes.split(","))
        return {int(raw): int(cls) for raw, cls in pairs}

    def effective_stride(self) -> tuple[int, ...]:
        return self.stride or self.patch
