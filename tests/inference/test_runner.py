"""The streaming sweep on its own: cubes, chunk bookkeeping, and what it hands to the writer."""

import numpy as np
import pytest

from seiscli.data.normalize import Normalization
from seiscli.data.volume_patches import open_source, source_statistics
from seiscli.inference.runner import Sweep, read_region, run_sweep
from seiscli.inference.windows import WindowLayout, chunk_indices


def sweep_of(volume, layout, chunks, normalization="zscore", blend="gaussian"):
    source = open_source(str(volume), None, None)
    return Sweep(source, source_statistics(source, Normalization(normalization)), layout, 0.5, blend, chunks, 5)


@pytest.mark.parametrize(
    ("normalization", "blend"), [("zscore", "gaussian"), ("agc", "hann"), ("percentile", "constant")]
)
def test_identity_over_cubes_gives_back_the_normalized_volume(survey, normalization, blend):
    sweep = sweep_of(survey[0], WindowLayout.make("cube", (8, 6, 12)), (8, 8, 16), normalization, blend)
    out = np.full(sweep.source.shape, np.nan, np.float32)
    written = []

    def write(index, bounds, values):
        written.append(index)
        out[bounds] = values[0]

    todo = chunk_indices(sweep.source.shape, sweep.chunks)
    stats = run_sweep(sweep, todo, lambda x: x, 1, lambda maps: [maps[0]], write, workers=2)
    assert sorted(written) == sorted(todo) and stats.chunks == len(todo)
    expected = sweep.normalization.apply(sweep.source.volume.amplitude[...])  # AGC over whole traces
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_a_chunk_reads_only_its_halo(survey):
    layout = WindowLayout.make("inline", (16, 12))  # box (1, 12, 16)
    sweep = sweep_of(survey[0], layout, (8, 8, 16))
    region = read_region(sweep, sweep.starts(), (1, 1, 1))  # inlines 8-16, crosslines 8-16, samples 16-32
    assert region.origin[0] == 8 and region.data.shape[0] == 8  # sections need no halo across lines
    assert region.data.shape[1] <= 8 + 2 * 12 and region.data.shape[2] <= 16 + 2 * 16
    assert all(8 - 12 < start[1] < 16 and 16 - 16 < start[2] < 32 for start in region.windows)


def test_a_failing_model_stops_the_sweep_and_writes_nothing_after(survey):
    sweep = sweep_of(survey[0], WindowLayout.make("inline", (16, 12)), (8, 8, 16))
    calls, written = [], []

    def model(x):
        calls.append(len(x))
        if len(calls) == 4:
            raise RuntimeError("out of memory")
        return x

    todo = chunk_indices(sweep.source.shape, sweep.chunks)
    with pytest.raises(RuntimeError, match="out of memory"):
        run_sweep(sweep, todo, model, 1, lambda maps: [maps[0]], lambda i, b, v: written.append(i))
    assert len(written) < len(todo)
