"""Options of ``seis export``."""

from pathlib import Path

from seiscli.config.base import StrictModel


class ExportConfig(StrictModel):
    """Write an artifact out in an interchange format (volume or prediction store -> SEG-Y)."""

    source: Path
    out: Path
    variable: str | None = None  # default: a volume's amplitude, a prediction store's class ids
    overwrite: bool = False
