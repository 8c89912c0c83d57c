"""Run a command in a child process; measure wall time and the peak memory of its whole process tree."""

import subprocess
import tempfile
import time
from dataclasses import dataclass

SAMPLE_EVERY = 0.02  # seconds between memory samples


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_bytes: int  # the largest sum of resident memory over the process and its children
    returncode: int
    stderr_tail: str


def _tree_rss(process) -> int:
    import psutil

    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass  # it ended between listing and reading
    return total


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run ``command``, sampling the memory of its process tree until it exits."""
    import psutil

    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty child cannot block on it
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        watched = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            try:
                peak = max(peak, _tree_rss(watched))
            except psutil.Error:
                pass
            time.sleep(SAMPLE_EVERY)
        seconds = time.perf_counter() - started
        errors.seek(0)
        tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
    return Measurement(seconds, peak, child.returncode, "\n".join(tail))


def warm_page_cache(path) -> None:
    """Read a file once so every contender starts from the same (cached) state."""
    with open(path, "rb") as stream:
        while stream.read(64 << 20):
            pass
