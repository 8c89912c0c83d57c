"""A SEG-Y file of any size for benchmarks: a 3D post-stack cube of layered, noisy traces."""

from pathlib import Path

import numpy as np

from seiscli.storage.segy_create import NewSegy

BLOCK_TRACES = 4096  # traces generated per write: bounds the generator's memory


def grid_for_size(size_bytes: int, n_samples: int, crosslines: int = 500) -> tuple[int, int]:
    """(inlines, crosslines) of a cube whose SEG-Y file is about ``size_bytes``."""
    traces = max(1, size_bytes // (240 + 4 * n_samples))
    return max(1, -(-traces // crosslines)), min(crosslines, traces)


def write_benchmark_segy(
    path: Path, inlines: int, crosslines: int, n_samples: int, sample_format: str = "ieee", seed: int = 0
) -> int:
    """Write the cube, inline-sorted, big-endian IEEE or IBM floats; returns the file size."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples, dtype=np.float32)
    layers = np.sin(t / 7.0) * np.exp(-t / (4.0 * n_samples))  # (S,) a decaying reflectivity pattern
    n_traces = inlines * crosslines
    text = ["SYNTHETIC POST-STACK CUBE WRITTEN BY seis benchmark ingest", f"{sample_format.upper()} FLOAT SAMPLES"]
    with NewSegy(path, n_samples, 4000, sample_format, text) as segy:
        for start in range(0, n_traces, BLOCK_TRACES):
            number = np.arange(start, min(start + BLOCK_TRACES, n_traces))  # (B,)
            il, xl = 1000 + number // crosslines, 2000 + number % crosslines
            noise = rng.standard_normal((len(number), n_samples), dtype=np.float32)  # (B, S)
            samples = np.roll(layers, 1)[None, :] * 1000 + 50 * noise + (il % 17)[:, None]  # gentle structure
            segy.write(samples, il, xl, xl, 40_000 + 25.0 * xl, 600_000 + 25.0 * il)
    return path.stat().st_size
