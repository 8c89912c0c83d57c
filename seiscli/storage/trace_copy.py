"""Stream traces from a SEG-Y file into a volume store, chunk column by chunk column.

Each task reads the traces of one column of chunks (all samples of a block of inline x
crossline cells), decodes them and writes the chunks. Tasks run on a thread pool: numpy's
decoding and Blosc/ZFP's compression release the GIL, so reading, decoding and compressing
overlap across cores. At most ``workers`` columns are in memory at once, whatever the file size.
"""

import contextlib
import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np

from seiscli.progress import Progress
from seiscli.storage.segy_format import SegyLayout, decode_samples
from seiscli.storage.segy_geometry import Geometry
from seiscli.storage.segy_headers import STORED_HEADER_DTYPE, decode_trace_headers
from seiscli.storage.volume import ChunkWriter, Compression, SummaryStats


def column_blocks(grid_shape: tuple[int, ...], chunks: tuple[int, ...]) -> Iterator[tuple[slice, ...]]:
    """Slices of the spatial grid, one per column of chunks, in row-major order."""
    starts = [range(0, size, chunk) for size, chunk in zip(grid_shape, chunks)]
    for corner in itertools.product(*starts):
        yield tuple(slice(s, min(s + c, n)) for s, c, n in zip(corner, chunks, grid_shape))


READ_BYTES = 16 << 20  # traces read and decoded at a time inside a block


class TraceCopier:
    """Copies the traces of one column block from the file into the store.

    Each thread keeps its block and read buffers from one block to the next, so memory stays
    flat whatever the file size and no time goes to faulting in fresh pages.
    """

    def __init__(self, layout: SegyLayout, geometry: Geometry, group, store_root: Path, compression: Compression):
        self.layout = layout
        self.geometry = geometry
        self.stream = open(layout.path, "rb")  # noqa: SIM115  (closed by close())
        self.amplitude = ChunkWriter(group["amplitude"], store_root, compression)
        self.headers = group["headers"]
        self.per_read = max(1, READ_BYTES // layout.trace_size)
        self.local = threading.local()

    def _buffers(self, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self.local, "samples"):
            cells = int(np.prod(self.amplitude.chunks[:-1]))
            self.local.samples = np.empty((cells, self.layout.n_samples), self.amplitude.dtype)  # (I*X, S)
            self.local.records = np.empty(self.per_read, self.layout.trace_dtype())
        return self.local.samples[:n_cells], self.local.records

    def __call__(self, block: tuple[slice, ...]) -> tuple[SummaryStats, int]:
        grid_shape = self.geometry.trace_index[block].shape
        index = self.geometry.trace_index[block].ravel()  # (I*X,) file position of each cell
        cells = np.flatnonzero(index >= 0)
        cells = cells[np.argsort(index[cells], kind="stable")]  # read in file order
        samples, records = self._buffers(len(index))
        if len(cells) < len(index):
            samples[index < 0] = 0  # missing traces read as zeros
        headers = np.zeros(len(index), STORED_HEADER_DTYPE)
        stats = SummaryStats()
        for start in range(0, len(cells), self.per_read):
            batch = cells[start : start + self.per_read]
            raw = self.layout.read_traces(self.stream, index[batch], out=records[: len(batch)])
            if batch[-1] - batch[0] == len(batch) - 1:  # consecutive cells: decode in place
                decoded = decode_samples(raw["samples"], self.layout, out=samples[batch[0] : batch[-1] + 1])
            else:
                decoded = samples[batch] = decode_samples(raw["samples"], self.layout)  # (B, S)
            stats = stats + SummaryStats.of(decoded)
            headers[batch] = decode_trace_headers(raw["header"], self.layout.byte_order)
        self._write_column(block, samples.reshape(grid_shape + (-1,)))
        self.headers[block] = headers.reshape(grid_shape)
        return stats, len(cells)

    def _write_column(self, block: tuple[slice, ...], samples: np.ndarray) -> None:
        chunks = self.amplitude.chunks
        corner = tuple(s.start // c for s, c in zip(block, chunks))
        for k in range(0, samples.shape[-1], chunks[-1]):
            self.amplitude.write(corner + (k // chunks[-1],), samples[..., k : k + chunks[-1]])

    def close(self) -> None:
        self.stream.close()


def copy_traces(copier: TraceCopier, workers: int, progress: Progress) -> SummaryStats:
    """Run ``copier`` over every column block with ``workers`` threads; returns the statistics."""
    blocks = enumerate(column_blocks(copier.geometry.trace_index.shape, copier.amplitude.chunks[:-1]))
    per_block: dict[int, SummaryStats] = {}
    progress.start("ingesting traces", copier.geometry.live_count)
    # The pool shuts down (running blocks finish) before the file closes.
    with contextlib.closing(copier), ThreadPoolExecutor(workers) as pool:
        submit = lambda numbered: (numbered[0], pool.submit(copier, numbered[1]))
        pending = dict(map(submit, itertools.islice(blocks, workers + 1)))
        try:
            while pending:
                wait(pending.values(), return_when=FIRST_COMPLETED)
                for number in [n for n, f in pending.items() if f.done()]:
                    per_block[number], n_traces = pending.pop(number).result()
                    progress.advance(n_traces)
                    pending.update(map(submit, itertools.islice(blocks, 1)))
        except BaseException:  # interrupted or failed: queued blocks must not start
            for future in pending.values():
                future.cancel()
            raise
    # Summed in block order, not completion order, so the statistics are the same bytes every run.
    return sum((per_block[n] for n in sorted(per_block)), SummaryStats())
