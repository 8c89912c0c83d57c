"""Options of ``seis plot``."""

from pathlib import Path

from pydantic import Field, PositiveInt, field_validator

from seiscli.config.base import Sizes, StrictModel
from seiscli.storage.dataset import SPLITS

# The options that choose a section, and the kinds of artifact each option applies to.
SECTION_OPTIONS = ("inline", "crossline", "sample")
APPLIES_TO = {
    "inline": ("volume", "labels", "prediction"),
    "crossline": ("volume", "labels", "prediction"),
    "sample": ("volume", "labels", "prediction"),
    "overlay": ("volume",),
    "variable": ("volume", "labels", "prediction"),
    "cmap": ("volume", "dataset"),
    "clip": ("volume", "dataset"),
    "count": ("dataset",),
    "split": ("dataset",),
}


class PlotConfig(StrictModel):
    """A PNG picture of an artifact: a section, a grid of dataset samples or training curves."""

    path: str
    out: Path
    inline: int | None = None  # inline number (coordinate value, not index)
    crossline: int | None = None
    sample: float | None = None  # time (ms) or depth (m) of a slice; the nearest sample is drawn
    overlay: str | None = None  # label or prediction store drawn over a volume's section
    variable: str | None = None  # which variable of the label/prediction store (default: its only task)
    cmap: str | None = None  # default seismic, or gray under an overlay
    clip: float | None = Field(None, gt=50, le=100)  # percentile of |amplitude| at which colours saturate (99)
    count: PositiveInt | None = None  # dataset samples in the grid (16)
    split: str | None = None  # dataset split to draw from (all splits)
    size: Sizes | None = None  # picture width x height in pixels
    overwrite: bool = False

    @field_validator("split")
    @classmethod
    def _known_split(cls, value: str | None) -> str | None:
        if value is not None and value not in SPLITS:
            raise ValueError(f"unknown split {value!r}: choose {', '.join(SPLITS)}")
        return value

    @field_validator("out")
    @classmethod
    def _png(cls, value: Path) -> Path:
        if value.suffix.lower() != ".png":
            raise ValueError(f"the output {value} must be a .png file")
        return value

    @field_validator("size")
    @classmethod
    def _large_enough(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and (len(value) != 2 or min(value) < 100):
            raise ValueError("size must be WIDTHxHEIGHT in pixels, each at least 100")
        return value

    def given(self) -> list[str]:
        """The kind-specific options set (to refuse those that do not apply)."""
        return [name for name in APPLIES_TO if getattr(self, name) is not None]
