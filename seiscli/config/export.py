"""Options of ``seis export``."""

from pathlib import Path

from seiscli.config.base import StrictModel


class ExportConfig(StrictModel):
    """Write an artifact out in an interchange format (volume store -> SEG-Y)."""

    source: Path
    out: Path
    overwrite: bool = False
