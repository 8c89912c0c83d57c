"""A SEG-Y file of any size for benchmarks: a 3D post-stack cube of layered, noisy traces."""

from pathlib import Path

import numpy as np

from seiscli.storage.ibm import ieee_to_ibm
from seiscli.storage.segy_headers import STORED_HEADER_DTYPE, encode_trace_headers

BLOCK_TRACES = 4096  # traces generated per write: bounds the generator's memory


SAMPLE_CODES = {"ieee": 5, "ibm": 1}


def _text_header(sample_format: str) -> bytes:
    lines = ["C 1 SYNTHETIC POST-STACK CUBE WRITTEN BY seis benchmark ingest", f"C 2 {sample_format.upper()} FLOAT"]
    lines += [f"C{n:2d}" for n in range(3, 41)]
    return "".join(line.ljust(80) for line in lines).encode("cp500")


def _binary_header(n_samples: int, interval_us: int, code: int) -> bytes:
    binary = np.zeros(200, ">i2")  # 400 bytes
    binary[8] = interval_us  # bytes 17-18
    binary[10] = n_samples  # bytes 21-22
    binary[12] = code  # bytes 25-26: sample format
    binary[150] = 0x0100  # bytes 301-302: revision 1
    binary[151] = 1  # bytes 303-304: fixed-length traces
    return binary.tobytes()


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
    dtype = np.dtype([("header", "V240"), ("samples", ">f4" if sample_format == "ieee" else ">u4", (n_samples,))])
    with open(path, "wb") as stream:
        stream.write(_text_header(sample_format) + _binary_header(n_samples, 4000, SAMPLE_CODES[sample_format]))
        for start in range(0, n_traces, BLOCK_TRACES):
            number = np.arange(start, min(start + BLOCK_TRACES, n_traces))  # (B,)
            il, xl = 1000 + number // crosslines, 2000 + number % crosslines
            headers = np.zeros(len(number), STORED_HEADER_DTYPE)
            headers["trace_seq_num_line"] = number + 1
            headers["inline"], headers["crossline"] = il, xl
            headers["cdp_x"], headers["cdp_y"] = 4_000_000 + 2500 * xl, 60_000_000 + 2500 * il
            headers["coordinate_scalar"] = -100
            headers["samples_per_trace"], headers["sample_interval"] = n_samples, 4000
            records = np.empty(len(number), dtype)
            records["header"] = encode_trace_headers(headers, ">")
            shift = (il % 17)[:, None]  # (B, 1) gentle structure across inlines
            noise = rng.standard_normal((len(number), n_samples), dtype=np.float32)  # (B, S)
            samples = np.roll(layers, 1)[None, :] * 1000 + 50 * noise + shift  # (B, S)
            records["samples"] = samples if sample_format == "ieee" else ieee_to_ibm(samples)
            records.tofile(stream)
    return path.stat().st_size
