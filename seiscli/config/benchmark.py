"""Options of the ``seis benchmark`` suites."""

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator

from seiscli.config.base import CommaInts, CommaStrings, Size3, SizePair, StrictModel

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 1024, "m": 1e6, "mb": 1e6, "mib": 1024**2,
          "g": 1e9, "gb": 1e9, "gib": 1024**3}  # fmt: skip
CONTENDERS = ("seis", "mdio", "segyio")


def parse_bytes(text: str) -> int:
    """``"1GiB"`` -> 1073741824; ``"500MB"`` -> 500000000."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"{text!r} is not a size like 1GiB, 500MB or 2e9")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def known_contenders(value: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """``value`` when it names at least one contender and only ``allowed`` ones."""
    unknown = set(value) - set(allowed)
    if unknown or not value:
        raise ValueError(f"unknown contender(s) {sorted(unknown)}; choose from {', '.join(allowed)}")
    return value


class IngestBenchmarkConfig(StrictModel):
    """``seis benchmark ingest``: seis vs MDIO vs a raw segyio read on one generated SEG-Y file."""

    size: int = 1024**3
    samples: PositiveInt = 1500
    format: Literal["ieee", "ibm"] = "ieee"
    workdir: Path | None = None
    contenders: CommaStrings = CONTENDERS
    keep: bool = False

    @field_validator("size", mode="before")
    @classmethod
    def _parse_size(cls, value: object) -> object:
        return parse_bytes(value) if isinstance(value, str) else value

    @field_validator("contenders")
    @classmethod
    def _check_contenders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return known_contenders(value, CONTENDERS)


class LoaderBenchmarkConfig(StrictModel):
    """``seis benchmark loader``: loader throughput against the training step rate of a tiny net."""

    dataset: Path
    split: Literal["train", "val", "test"] = "train"
    batch_size: PositiveInt = 32
    workers: NonNegativeInt = 2
    batches: PositiveInt = 50  # loader batches timed
    steps: PositiveInt = 20  # training steps timed
    warmup: NonNegativeInt = 5  # batches, then training steps, run before timing
    augment: bool = True
    cache_mb: NonNegativeInt = 512  # per worker, as seiscli.data.loader.CACHE_MB
    seed: NonNegativeInt = 0
    precision: Literal["auto", "bf16", "fp32"] = "auto"


INFER_CONTENDERS = ("seis", "monai")


class InferBenchmarkConfig(StrictModel):
    """``seis benchmark infer``: seis's streaming inference against MONAI's sliding_window_inference."""

    size: Size3 = (128, 128, 256)  # inlines x crosslines x samples
    volume: str | None = None  # a volume store to use instead of a generated one (no 4x run then)
    model: str = "unet_small"  # a checkpoint, or a registered model freshly initialized
    patch: SizePair = (128, 128)  # window of a fresh model (a checkpoint has its own)
    overlap: float = Field(0.5, ge=0, lt=1)
    batch_size: PositiveInt = 16
    contenders: CommaStrings = INFER_CONTENDERS
    repeats: PositiveInt = 3  # rounds in which the contenders take turns; each reports its median run
    memory_check: bool = True  # also run seis on a volume 4x larger (2x inlines, 2x crosslines)
    workdir: Path | None = None
    keep: bool = False

    @field_validator("contenders")
    @classmethod
    def _check_contenders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return known_contenders(value, INFER_CONTENDERS)


MODEL_CONTENDERS = ("torch", "torch-bf16", "onnx", "onnx-int8")


class ModelBenchmarkConfig(StrictModel):
    """``seis benchmark model``: one checkpoint in torch (fp32, bf16), its ONNX export and its INT8 version."""

    model: Path  # a task checkpoint
    dataset: str | None = None  # calibrates INT8 (train split) and scores every contender on ``split``
    split: Literal["train", "val", "test"] = "test"
    batch_sizes: CommaInts = (1, 32)
    runs: PositiveInt = 10  # timed calls per contender and batch size (the median is reported)
    mode: Literal["auto", "static", "dynamic"] = "auto"  # the INT8 quantization
    contenders: CommaStrings = MODEL_CONTENDERS
    tta: bool = False  # score with flip TTA

    @field_validator("contenders")
    @classmethod
    def _check_contenders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return known_contenders(value, MODEL_CONTENDERS)


class TrainBenchmarkConfig(StrictModel):
    """``seis benchmark train``: training steps per second of registered models, fp32 against bf16."""

    models: CommaStrings = ("unet", "res_unet", "vit_t8_unetr")
    size: SizePair = (128, 128)  # section samples (velocity models take OpenFWI gathers)
    batch_size: PositiveInt = 16
    steps: PositiveInt = 10  # timed steps per model and precision
    warmup: NonNegativeInt = 2
    precisions: CommaStrings = ("fp32", "bf16")

    @field_validator("precisions")
    @classmethod
    def _check_precisions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or set(value) - {"fp32", "bf16"}:
            raise ValueError(f"precisions are fp32 and/or bf16, got {', '.join(value)}")
        return value
