"""SEG-Y file layout: byte order and sample format detection, and sample decoding/encoding."""

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seiscli.errors import InputNotFoundError, NotSegyError, TruncatedSegyError, UnsupportedSegyError
from seiscli.storage.ibm import ibm_to_ieee, ieee_to_ibm
from seiscli.storage.segy_headers import decode_trace_headers, read_binary_header

TEXT_HEADER_SIZE = 3200
BINARY_HEADER_SIZE = 400
TRACE_HEADER_SIZE = 240


@dataclass(frozen=True)
class SampleFormat:
    """One SEG-Y data sample format code and how seis stores it without loss."""

    code: int
    name: str
    itemsize: int
    raw: str  # numpy kind of one raw sample, byte order added later; "ibm" and "int24" are special
    stored: str  # dtype of the amplitude array: the narrowest that holds every value exactly


SAMPLE_FORMATS = {
    fmt.code: fmt
    for fmt in (
        SampleFormat(1, "4-byte IBM float", 4, "u4", "float32"),
        SampleFormat(2, "4-byte signed integer", 4, "i4", "float64"),
        SampleFormat(3, "2-byte signed integer", 2, "i2", "float32"),
        # Format 4 (fixed point with gain) is obsolete; files that still carry the code hold IEEE
        # floats (segyio writes and reads them so), which is how seis reads them too.
        SampleFormat(4, "4-byte fixed point with gain (read as IEEE float)", 4, "f4", "float32"),
        SampleFormat(5, "4-byte IEEE float", 4, "f4", "float32"),
        SampleFormat(6, "8-byte IEEE float", 8, "f8", "float64"),
        SampleFormat(7, "3-byte signed integer", 3, "int24", "float32"),
        SampleFormat(8, "1-byte signed integer", 1, "i1", "float32"),
        SampleFormat(9, "8-byte signed integer", 8, "i8", "int64"),
        SampleFormat(10, "4-byte unsigned integer", 4, "u4", "float64"),
        SampleFormat(11, "2-byte unsigned integer", 2, "u2", "float32"),
        SampleFormat(12, "8-byte unsigned integer", 8, "u8", "uint64"),
        SampleFormat(15, "3-byte unsigned integer", 3, "uint24", "float32"),
        SampleFormat(16, "1-byte unsigned integer", 1, "u1", "float32"),
    )
}
_IBM_CODES = (1,)


@dataclass(frozen=True)
class SegyLayout:
    """Where everything is in one SEG-Y file."""

    path: Path
    byte_order: str  # ">" big-endian or "<" little-endian
    sample_format: SampleFormat
    n_samples: int
    sample_interval: int  # as stored: microseconds in time, or depth units x 1000
    n_traces: int
    data_offset: int  # byte where the first trace starts
    text_header: bytes  # 3200 bytes plus any extended textual headers
    binary_header: bytes  # 400 bytes
    binary: dict

    @property
    def trace_size(self) -> int:
        return TRACE_HEADER_SIZE + self.n_samples * self.sample_format.itemsize

    @property
    def text_is_ebcdic(self) -> bool:
        raw = self.text_header[:TEXT_HEADER_SIZE]
        readable = lambda text: sum(c.isalnum() or c == " " for c in text)
        return readable(raw.decode("cp500")) > readable(raw.decode("latin-1"))

    def text(self) -> str:
        """The textual header as 40 lines of 80 characters (EBCDIC or ASCII, detected)."""
        raw = self.text_header[:TEXT_HEADER_SIZE]
        decoded = raw.decode("cp500" if self.text_is_ebcdic else "latin-1")
        lines = [decoded[i : i + 80] for i in range(0, TEXT_HEADER_SIZE, 80)]
        return "\n".join(line.replace("\x00", " ") for line in lines)

    def trace_dtype(self) -> np.dtype:
        """One trace on disk: the raw header and the raw samples."""
        fmt = self.sample_format
        if fmt.raw in ("int24", "uint24"):
            samples = ("u1", (self.n_samples, 3))
        else:
            samples = (self.byte_order + fmt.raw, (self.n_samples,))
        return np.dtype([("header", "V240"), ("samples", *samples)])

    def read_traces(self, stream, indices: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The traces at ``indices`` (sorted ascending), one read per contiguous run, into ``out``
        when given. Plain reads, not a memory map, so the process holds only what it asked for."""
        records = np.empty(len(indices), self.trace_dtype()) if out is None else out
        buffer = records.view(np.uint8).reshape(len(indices), self.trace_size)
        breaks = np.flatnonzero(np.diff(indices) != 1) + 1
        for run_start, run_end in zip(np.r_[0, breaks], np.r_[breaks, len(indices)]):
            offset = self.data_offset + int(indices[run_start]) * self.trace_size
            view = memoryview(buffer[run_start:run_end]).cast("B")
            if os.preadv(stream.fileno(), [view], offset) != len(view):
                raise TruncatedSegyError(f"{self.path} ended early: it changed while being read")
        return records

    def read_block(self, stream, start: int, count: int) -> np.ndarray:
        """``count`` consecutive traces from trace ``start``."""
        return self.read_traces(stream, np.arange(start, min(start + count, self.n_traces)))

    def first_trace_header(self) -> np.ndarray:
        """The decoded header of the first trace (a structured scalar)."""
        with open(self.path, "rb") as stream:
            return decode_trace_headers(self.read_block(stream, 0, 1)["header"], self.byte_order)[0]

    def provenance(self) -> dict:
        """What a volume store keeps so the file can be written back byte for byte."""
        return {
            "byteOrder": "big" if self.byte_order == ">" else "little",
            "sampleFormat": self.sample_format.code,
            "sampleFormatName": self.sample_format.name,
            "sampleInterval": self.sample_interval,
            "samplesPerTrace": self.n_samples,
            "textEncoding": "ebcdic" if self.text_is_ebcdic else "ascii",
            "rawTextHeader": base64.b64encode(self.text_header).decode("ascii"),
            "rawBinaryHeader": base64.b64encode(self.binary_header).decode("ascii"),
        }


def _detect_byte_order(binary: bytes, path: Path) -> str:
    """The byte order whose sample format code is valid; rev2's byte-order marker decides ties."""
    codes = {bo: int(np.frombuffer(binary, bo + "i2", 1, 24)[0]) for bo in (">", "<")}
    candidates = [bo for bo, code in codes.items() if code in SAMPLE_FORMATS]
    if not candidates:
        undecodable = [code for code in codes.values() if 0 < code < 17]
        if undecodable:
            raise UnsupportedSegyError(
                f"{path}: sample format code {undecodable[0]} (bytes 3225-3226) is not one seis can decode",
                f"supported codes: {', '.join(map(str, SAMPLE_FORMATS))}; re-export the file in one of them",
            )
        raise NotSegyError(
            f"{path}: no valid sample format code in the binary header (bytes 3225-3226)",
            "check that the file is SEG-Y (SU and SEG-D files are not)",
        )
    if len(candidates) == 2 and int(np.frombuffer(binary, "<u4", 1, 96)[0]) == 0x01020304:
        return "<"
    return candidates[0]


def read_layout(path: Path) -> SegyLayout:
    """Read the file headers of ``path`` and check that its size is a whole number of traces."""
    if not path.is_file():
        raise InputNotFoundError(f"{path} does not exist", "check the SEG-Y path")
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        head = stream.read(TEXT_HEADER_SIZE + BINARY_HEADER_SIZE)
        if len(head) < TEXT_HEADER_SIZE + BINARY_HEADER_SIZE:
            raise NotSegyError(f"{path} is {size} bytes, too small to hold SEG-Y file headers (3600 bytes)")
        binary = head[TEXT_HEADER_SIZE:]
        byte_order = _detect_byte_order(binary, path)
        fields = read_binary_header(binary, byte_order)
        n_extended = fields["num_extended_text_headers"] if fields["segy_revision"] >= 0x100 else 0
        if n_extended < 0:
            raise UnsupportedSegyError("a variable number of extended textual headers (-1) is not supported")
        data_offset = TEXT_HEADER_SIZE + BINARY_HEADER_SIZE + TEXT_HEADER_SIZE * n_extended
        extended = stream.read(TEXT_HEADER_SIZE * n_extended)
    n_samples = fields["samples_per_trace"]
    if n_samples == 0 and fields["segy_revision"] >= 0x200:
        n_samples = fields["extended_samples_per_trace"]
    if n_samples <= 0:
        raise NotSegyError(f"{path}: the binary header gives {n_samples} samples per trace")
    layout = SegyLayout(
        path=path,
        byte_order=byte_order,
        sample_format=SAMPLE_FORMATS[fields["data_sample_format"]],
        n_samples=n_samples,
        sample_interval=fields["sample_interval"],
        n_traces=0,
        data_offset=data_offset,
        text_header=head[:TEXT_HEADER_SIZE] + extended,
        binary_header=binary,
        binary=fields,
    )
    n_traces, remainder = divmod(size - data_offset, layout.trace_size)
    if remainder or n_traces <= 0:
        raise TruncatedSegyError(
            f"{path} is truncated or has variable-length traces: {size - data_offset} bytes of traces "
            f"is not a whole number of {layout.trace_size}-byte traces ({n_samples} samples, "
            f"{layout.sample_format.name})",
            "re-copy the file, or check the samples-per-trace field (bytes 3221-3222)",
        )
    return SegyLayout(**{**layout.__dict__, "n_traces": n_traces})


def _native(raw: np.ndarray) -> np.ndarray:
    """``raw`` in native byte order. Swapping as unsigned integers is ~5x faster than numpy's
    byte-swapping float casts."""
    if raw.dtype.itemsize == 1 or raw.dtype.isnative:
        return raw
    native = np.empty(raw.shape, f"=u{raw.dtype.itemsize}")
    np.copyto(native, raw.view(raw.dtype.byteorder + native.dtype.char))
    return native.view(raw.dtype.newbyteorder("="))


def decode_samples(raw: np.ndarray, layout: SegyLayout, out: np.ndarray | None = None) -> np.ndarray:
    """Raw samples (..., n_samples) as read through ``trace_dtype`` to the stored dtype, into
    ``out`` when given."""
    fmt = layout.sample_format
    if fmt.code in _IBM_CODES:
        return ibm_to_ieee(raw, out)
    if out is not None:
        if "int24" not in fmt.raw and np.dtype(fmt.raw) == out.dtype:  # a byte swap only
            width = f"u{out.dtype.itemsize}"
            np.copyto(out.view(width), raw.view(layout.byte_order + width))
        else:
            out[...] = decode_samples(raw, layout)
        return out
    if fmt.raw in ("int24", "uint24"):
        bytes3 = raw.astype(np.int32)
        ordered = bytes3 if layout.byte_order == ">" else bytes3[..., ::-1]
        value = (ordered[..., 0] << 16) | (ordered[..., 1] << 8) | ordered[..., 2]
        if fmt.raw == "int24":
            value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(fmt.stored)
    return _native(raw).astype(fmt.stored, copy=False)


def encode_samples(values: np.ndarray, layout: SegyLayout) -> np.ndarray:
    """Stored amplitudes back to raw samples in the file's format and byte order."""
    fmt = layout.sample_format
    if fmt.code in _IBM_CODES:
        return ieee_to_ibm(values).astype(layout.byte_order + "u4")
    if fmt.raw in ("int24", "uint24"):
        value = np.rint(values).astype(np.int64) & 0xFFFFFF
        parts = np.stack([(value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF], axis=-1).astype(np.uint8)
        return parts if layout.byte_order == ">" else parts[..., ::-1]
    return values.astype(layout.byte_order + fmt.raw)
