"""Options of the ``seis benchmark`` suites."""

import re
from pathlib import Path
from typing import Literal

from pydantic import NonNegativeInt, PositiveInt, field_validator

from seiscli.config.base import CommaStrings, StrictModel

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 1024, "m": 1e6, "mb": 1e6, "mib": 1024**2,
          "g": 1e9, "gb": 1e9, "gib": 1024**3}  # fmt: skip
CONTENDERS = ("seis", "mdio", "segyio")


def parse_bytes(text: str) -> int:
    """``"1GiB"`` -> 1073741824; ``"500MB"`` -> 500000000."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"{text!r} is not a size like 1GiB, 500MB or 2e9")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


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
        unknown = set(value) - set(CONTENDERS)
        if unknown or not value:
            raise ValueError(f"unknown contender(s) {sorted(unknown)}; choose from {', '.join(CONTENDERS)}")
        return value


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
