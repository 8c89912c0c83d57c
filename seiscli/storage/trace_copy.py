"""Stream traces from a SEG-Y file into a volume store, chunk column by chunk column.

Each task reads the traces of one column of chunks (all samples of a block of inline x
crossline cells), decodes them and writes the chunks. Tasks run on a thread pool: numpy's
decoding and Blosc/ZFP's compression release the GIL, so reading, decoding and compressing
overlap across cores. At most ``workers`` columns are in memory at once, whatever the file size.
"""

import contextlib
import ctypes
import itertools
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from seiscli.progress import Progress
from seiscli.storage.segy_format import SegyLayout, decode_samples
from seiscli.storage.segy_geometry import Geometry
from seiscli.storage.segy_headers import STORED_HEADER_DTYPE, decode_trace_headers
from seiscli.storage.volume import SummaryStats


def column_blocks(grid_shape: tuple[int, ...], chunks: tuple[int, ...]) -> Iterator[tuple[slice, ...]]:
    """Slices of the spatial grid, one per column of chunks, in row-major order."""
    starts = [range(0, size, chunk) for size, chunk in zip(grid_shape, chunks)]
    for corner in itertools.product(*starts):
        yield tuple(slice(s, min(s + c, n)) for s, c, n in zip(corner, chunks, grid_shape))


def map_large_buffers_directly() -> None:
    """Have glibc serve every buffer over 1 MiB from its own mapping, returned on free.

    By default glibc raises that threshold to the largest buffer freed so far (up to 32 MiB),
    after which block-sized buffers come from arenas that keep the memory: the peak then creeps
    up with file size. A no-op where the C library is not glibc.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


READ_BYTES = 16 << 20  # traces read and decoded at a time inside a block: bounds memory


class TraceCopier:
    """Copies the traces of one column block from the file into the store."""

    def __init__(self, layout: SegyLayout, geometry: Geometry, group, dtype: np.dtype):
        self.layout = layout
        self.geometry = geometry
        self.stream = open(layout.path, "rb")  # noqa: SIM115  (closed by close())
        self.amplitude = group["amplitude"]
        self.headers = group["headers"]
        self.dtype = dtype

    def __call__(self, block: tuple[slice, ...]) -> tuple[SummaryStats, int]:
        index = self.geometry.trace_index[block].ravel()  # (I*X,) file position of each cell
        cells = np.flatnonzero(index >= 0)
        if len(cells) == 0:
            return SummaryStats(), 0  # a block with no traces stays the fill value
        cells = cells[np.argsort(index[cells], kind="stable")]  # read in file order
        n_samples = self.layout.n_samples
        samples = np.zeros((len(index), n_samples), self.dtype)  # (I*X, S)
        headers = np.zeros(len(index), STORED_HEADER_DTYPE)
        stats = SummaryStats()
        per_read = max(1, READ_BYTES // self.layout.trace_size)
        for start in range(0, len(cells), per_read):
            batch = cells[start : start + per_read]
            records = self.layout.read_traces(self.stream, index[batch])
            decoded = decode_samples(records["samples"], self.layout)  # (B, S)
            stats = stats + SummaryStats.of(decoded)
            samples[batch] = decoded
            headers[batch] = decode_trace_headers(records["header"], self.layout.byte_order)
        grid_shape = self.geometry.trace_index[block].shape
        samples = samples.reshape(grid_shape + (n_samples,))  # (I, X, S)
        sample_chunk = self.amplitude.chunks[-1]
        for k in range(0, n_samples, sample_chunk):  # one chunk at a time keeps encoding buffers small
            self.amplitude[block + (slice(k, k + sample_chunk),)] = samples[..., k : k + sample_chunk]
        self.headers[block] = headers.reshape(grid_shape)
        return stats, len(cells)

    def close(self) -> None:
        self.stream.close()


def copy_traces(copier: TraceCopier, chunks: tuple[int, ...], workers: int, progress: Progress) -> SummaryStats:
    """Run ``copier`` over every column block with ``workers`` threads; returns the statistics."""
    map_large_buffers_directly()
    blocks = enumerate(column_blocks(copier.geometry.trace_index.shape, chunks))
    per_block: dict[int, SummaryStats] = {}
    progress.start("ingesting traces", copier.geometry.live_count)
    # The pool shuts down (running blocks finish) before the file closes.
    with contextlib.closing(copier), ThreadPoolExecutor(workers) as pool:
        submit = lambda numbered: (numbered[0], pool.submit(copier, numbered[1]))  # noqa: E731
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
