"""Options of ``seis ingest``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, field_validator

from seiscli.config.base import StrictModel, parse_size

KEY_NAMES = ("inline", "crossline", "cdp", "cdp_x", "cdp_y", "coordinate_scalar")
DEFAULT_KEYS = {
    "inline": (189, "int32"),
    "crossline": (193, "int32"),
    "cdp": (21, "int32"),
    "cdp_x": (181, "int32"),
    "cdp_y": (185, "int32"),
    "coordinate_scalar": (71, "int16"),
}
_KINDS = {"int32": "i4", "int16": "i2", "uint32": "u4", "uint16": "u2"}


def parse_key_list(text: str) -> dict[str, str]:
    """``"inline=189,crossline=193:int16"`` -> ``{"inline": "189", "crossline": "193:int16"}``."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r} is not NAME=BYTE")
        pairs[name.strip()] = value.strip()
    return pairs


class IngestConfig(StrictModel):
    """Everything ``seis ingest`` needs, validated before any data is read."""

    segy: Path
    out: Path
    header: dict[str, str] = Field(default_factory=dict, description="trace header key byte locations")
    domain: Literal["time", "depth"] | None = None
    chunks: tuple[PositiveInt, ...] | None = None
    compression: str = "lossless"
    overwrite: bool = False
    workers: PositiveInt = 2

    @field_validator("header", mode="before")
    @classmethod
    def _parse_header(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_key_list(value)
        if isinstance(value, dict):
            return {k: str(v) for k, v in value.items()}
        return value

    @field_validator("header")
    @classmethod
    def _check_header(cls, value: dict[str, str]) -> dict[str, str]:
        for name, spec in value.items():
            if name not in KEY_NAMES:
                raise ValueError(f"unknown header key {name!r}; known keys: {', '.join(KEY_NAMES)}")
            byte, _, kind = spec.partition(":")
            kind = kind or "int32"
            if not byte.isdigit() or kind not in _KINDS:
                raise ValueError(f"{name}={spec} must be BYTE or BYTE:TYPE with TYPE one of {', '.join(_KINDS)}")
            if not 1 <= int(byte) <= 241 - int(_KINDS[kind][1]):
                raise ValueError(f"{name}={spec}: byte must lie inside the 240-byte trace header")
        return value

    @field_validator("chunks", mode="before")
    @classmethod
    def _parse_chunks(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("compression")
    @classmethod
    def _check_compression(cls, value: str) -> str:
        kind, _, tolerance = value.partition(":")
        if kind in ("lossless", "none") and not tolerance:
            return value
        if kind == "lossy":
            try:
                if float(tolerance) > 0:
                    return value
            except ValueError:
                pass
        raise ValueError(f"{value!r} must be lossless, none or lossy:TOLERANCE (a positive number, e.g. lossy:0.01)")

    def header_keys(self) -> dict[str, tuple[int, str]]:
        """(1-based byte, numpy kind) of every key, the user's locations over the defaults."""
        keys = {name: (byte, _KINDS[kind]) for name, (byte, kind) in DEFAULT_KEYS.items()}
        for name, spec in self.header.items():
            byte, _, kind = spec.partition(":")
            keys[name] = (int(byte), _KINDS[kind or "int32"])
        return keys

    @property
    def line_by_cdp(self) -> bool:
        """A CDP byte given explicitly means: this is a 2D line keyed by CDP."""
        return "cdp" in self.header
