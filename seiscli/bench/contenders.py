"""The programs a benchmark runs, each in its own process: ``python -m seiscli.bench.contenders NAME ...``.

Every contender reads the same file and is timed and memory-sampled from outside.
"""

import sys
from pathlib import Path


def segyio_read(segy: Path) -> None:
    """A raw read of every trace with segyio, in blocks (the floor any converter must pay)."""
    import segyio

    with segyio.open(segy, ignore_geometry=True) as f:
        block = 4096
        for start in range(0, f.tracecount, block):
            f.trace.raw[start : min(start + block, f.tracecount)]


def mdio_ingest(segy: Path, out: Path) -> None:
    """MDIO's own SEG-Y -> MDIO v1 converter on the standard post-stack byte locations."""
    from mdio import segy_to_mdio
    from mdio.builder.template_registry import TemplateRegistry
    from segy.schema import HeaderField
    from segy.standards import get_segy_standard

    keys = {"inline": 189, "crossline": 193, "cdp_x": 181, "cdp_y": 185}
    fields = [HeaderField(name=name, byte=byte, format="int32") for name, byte in keys.items()]
    spec = get_segy_standard(1.0).customize(trace_header_fields=fields)
    template = TemplateRegistry().get("PostStack3DTime")
    segy_to_mdio(spec, template, segy, out, overwrite=True)


if __name__ == "__main__":  # MDIO spawns worker processes: keep this guard
    name, *paths = sys.argv[1:]
    {"segyio": segyio_read, "mdio": mdio_ingest}[name](*map(Path, paths))
