"""``seis benchmark ingest``: seis side by side with MDIO and a raw segyio read."""

import importlib.util
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from seiscli.bench.measure import measure, warm_page_cache
from seiscli.bench.segy_synth import grid_for_size, write_benchmark_segy
from seiscli.config.benchmark import IngestBenchmarkConfig
from seiscli.progress import Progress, SilentProgress


@dataclass
class Row:
    name: str
    seconds: float
    mb_per_s: float
    peak_mb: float
    ok: bool
    note: str = ""


@dataclass
class IngestBenchmark:
    sample_format: str
    file_mb: float
    grid: tuple[int, int, int]
    rows: list[Row]
    warnings: list[str] = field(default_factory=list)

    def ratio(self, name: str, baseline: str) -> float | None:
        rows = {r.name: r for r in self.rows if r.ok}
        if name in rows and baseline in rows:
            return rows[name].mb_per_s / rows[baseline].mb_per_s
        return None


def _commands(segy: Path, work: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "seis": [python, "-m", "seiscli", "ingest", str(segy), str(work / "seis.mdio"), "--overwrite", "-q"],
        "mdio": [python, "-m", "seiscli.bench.contenders", "mdio", str(segy), str(work / "mdio.mdio")],
        "segyio": [python, "-m", "seiscli.bench.contenders", "segyio", str(segy)],
    }


def run_ingest_benchmark(cfg: IngestBenchmarkConfig, progress: Progress | None = None) -> IngestBenchmark:
    """Generate the file, then run every contender on it from a warm page cache."""
    progress = progress or SilentProgress()
    work = Path(tempfile.mkdtemp(prefix="seis-bench-", dir=cfg.workdir))
    warnings = []
    try:
        inlines, crosslines = grid_for_size(cfg.size, cfg.samples)
        segy = work / "bench.sgy"
        progress.log(f"writing a {inlines} x {crosslines} x {cfg.samples} SEG-Y file")
        size = write_benchmark_segy(segy, inlines, crosslines, cfg.samples, cfg.format)
        rows = []
        commands = _commands(segy, work)
        progress.start("running contenders", len(cfg.contenders))
        for name in cfg.contenders:
            if name == "mdio" and importlib.util.find_spec("mdio") is None:
                warnings.append("MDIO is not installed (pip install multidimio): its row is skipped")
                continue
            warm_page_cache(segy)
            m = measure(commands[name])
            rows.append(
                Row(
                    name,
                    m.seconds,
                    size / 1e6 / m.seconds,
                    m.peak_rss_bytes / 1e6,
                    m.returncode == 0,
                    m.stderr_tail if m.returncode else "",
                )
            )
            progress.advance()
        return IngestBenchmark(cfg.format, size / 1e6, (inlines, crosslines, cfg.samples), rows, warnings)
    finally:
        if cfg.keep:
            warnings.append(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
