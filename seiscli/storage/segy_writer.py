"""Write a volume store back to SEG-Y: original format, byte order, headers and trace order."""

import base64
from pathlib import Path

import numpy as np

from seiscli.errors import NotAnArtifactError
from seiscli.progress import Progress
from seiscli.storage.segy_format import SAMPLE_FORMATS, SegyLayout
from seiscli.storage.segy_headers import encode_trace_headers
from seiscli.storage.trace_copy import column_blocks
from seiscli.storage.volume import VolumeStore


def original_layout(volume: VolumeStore, out: Path, sample_format: int | None = None) -> SegyLayout:
    """The SEG-Y layout the volume was ingested from, pointed at ``out``; ``sample_format`` replaces
    the file's sample format (and its code in the binary header)."""
    segy = volume.seis.get("segy")
    if not segy or "rawBinaryHeader" not in segy:
        raise NotAnArtifactError(
            f"{volume.path} does not record the SEG-Y it came from",
            "seis export writes SEG-Y from volume stores made by seis ingest",
        )
    text = base64.b64decode(segy["rawTextHeader"])
    order = volume.group["segy_trace_order"][...]
    n_traces = int((order >= 0).sum())
    if not np.array_equal(np.sort(order[order >= 0]), np.arange(n_traces)):
        raise NotAnArtifactError(f"{volume.path}: segy_trace_order is damaged (not a permutation of the traces)")
    byte_order = ">" if segy["byteOrder"] == "big" else "<"
    binary = base64.b64decode(segy["rawBinaryHeader"])
    if sample_format is not None:  # bytes 3225-3226 of the file: the data sample format code
        binary = binary[:24] + np.array(sample_format, byte_order + "i2").tobytes() + binary[26:]
    return SegyLayout(
        path=out,
        byte_order=byte_order,
        sample_format=SAMPLE_FORMATS[sample_format or segy["sampleFormat"]],
        n_samples=volume.amplitude.shape[-1],
        sample_interval=segy["sampleInterval"],
        n_traces=n_traces,
        data_offset=len(text) + 400,
        text_header=text,
        binary_header=binary,
        binary={},
    )


def write_segy(volume: VolumeStore, layout: SegyLayout, progress: Progress) -> None:
    """Write every live trace at its original position in ``layout.path``."""
    from seiscli.storage.segy_format import encode_samples

    with open(layout.path, "wb") as stream:
        stream.write(layout.text_header + layout.binary_header)
        stream.truncate(layout.data_offset + layout.n_traces * layout.trace_size)
    if layout.n_traces == 0:
        return
    traces = np.memmap(layout.path, layout.trace_dtype(), "r+", layout.data_offset, (layout.n_traces,))
    order_array, headers = volume.group["segy_trace_order"], volume.group["headers"]
    chunks = volume.amplitude.chunks[:-1]
    progress.start("writing traces", layout.n_traces)
    for block in column_blocks(order_array.shape, chunks):
        order = order_array[block]  # (I, X) file positions, -1 where no trace
        live = order >= 0
        if not live.any():
            continue
        records = np.empty(int(live.sum()), layout.trace_dtype())
        records["header"] = encode_trace_headers(headers[block][live], layout.byte_order)
        records["samples"] = encode_samples(volume.amplitude[block][live], layout)
        traces[order[live]] = records
        progress.advance(len(records))
    traces.flush()
