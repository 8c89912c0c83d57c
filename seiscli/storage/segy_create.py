"""Write new post-stack SEG-Y files (rev 1, big-endian) with the standard trace headers."""

from pathlib import Path
from types import TracebackType

import numpy as np

from seiscli.storage.ibm import ieee_to_ibm
from seiscli.storage.segy_headers import STORED_HEADER_DTYPE, encode_trace_headers

SAMPLE_CODES = {"ieee": 5, "ibm": 1}
COORDINATE_SCALAR = -100  # coordinates stored in centimetres


def text_header(lines: list[str]) -> bytes:
    """40 EBCDIC card images of 80 characters, numbered C 1 .. C40."""
    cards = [f"C{n:2d} {lines[n - 1] if n <= len(lines) else ''}"[:80].ljust(80) for n in range(1, 41)]
    return "".join(cards).encode("cp500")


def binary_header(n_samples: int, interval_us: int, code: int) -> bytes:
    binary = np.zeros(200, ">i2")  # 400 bytes
    binary[8] = interval_us  # bytes 17-18
    binary[10] = n_samples  # bytes 21-22
    binary[12] = code  # bytes 25-26: sample format
    binary[14] = 4  # bytes 29-30: trace sorting, horizontally stacked
    binary[27] = 1  # bytes 55-56: metres
    binary[150] = 0x0100  # bytes 301-302: revision 1
    binary[151] = 1  # bytes 303-304: fixed-length traces
    return binary.tobytes()


class NewSegy:
    """A SEG-Y file written trace block by trace block: ``with NewSegy(...) as segy: segy.write(...)``."""

    def __init__(self, path: Path, n_samples: int, interval_us: int, sample_format: str = "ieee",
                 text: list[str] | None = None, delay_ms: int = 0):  # fmt: skip
        self.n_samples, self.interval_us, self.delay_ms = n_samples, interval_us, delay_ms
        self.sample_format = sample_format
        self.dtype = np.dtype(
            [("header", "V240"), ("samples", ">f4" if sample_format == "ieee" else ">u4", (n_samples,))]
        )
        self.stream = open(path, "wb")  # noqa: SIM115  (closed by __exit__)
        self.stream.write(text_header(text or []) + binary_header(n_samples, interval_us, SAMPLE_CODES[sample_format]))
        self.written = 0

    def write(self, samples: np.ndarray, inline: np.ndarray, crossline: np.ndarray, cdp: np.ndarray,
              cdp_x: np.ndarray, cdp_y: np.ndarray) -> None:  # fmt: skip
        """Append traces: ``samples`` (B, S); keys and coordinates (metres) (B,)."""
        count = len(samples)
        headers = np.zeros(count, STORED_HEADER_DTYPE)
        headers["trace_seq_num_line"] = headers["trace_seq_num_reel"] = self.written + 1 + np.arange(count)
        headers["inline"], headers["crossline"], headers["ensemble_num"] = inline, crossline, cdp
        headers["trace_id_code"] = 1  # seismic data
        headers["coordinate_scalar"] = COORDINATE_SCALAR
        headers["cdp_x"] = np.rint(np.asarray(cdp_x) * -COORDINATE_SCALAR)
        headers["cdp_y"] = np.rint(np.asarray(cdp_y) * -COORDINATE_SCALAR)
        headers["coordinate_unit"] = 1  # length
        headers["delay_recording_time"] = self.delay_ms
        headers["samples_per_trace"], headers["sample_interval"] = self.n_samples, self.interval_us
        records = np.empty(count, self.dtype)
        records["header"] = encode_trace_headers(headers, ">")
        records["samples"] = samples if self.sample_format == "ieee" else ieee_to_ibm(samples)
        records.tofile(self.stream)
        self.written += count

    def __enter__(self) -> "NewSegy":
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stream.close()
