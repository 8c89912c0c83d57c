"""Sliding-window arithmetic, checked with numbers."""

import numpy as np
import pytest

from seiscli.inference.windows import (
    MIN_WEIGHT,
    WindowLayout,
    blend_weights,
    box_weights,
    chunk_indices,
    parse_part,
    part_of,
    touching,
    window_starts,
    work_chunks,
)


@pytest.mark.parametrize(("length", "window", "overlap", "expected"), [
    (10, 4, 0.5, [0, 2, 4, 6]),
    (11, 4, 0.5, [0, 2, 4, 6, 7]),  # the last one moved back flush with the end
    (8, 4, 0.0, [0, 4]),
    (9, 4, 0.0, [0, 4, 5]),
    (4, 4, 0.5, [0]),
    (3, 8, 0.5, [0]),  # shorter than the window: one window, the read is padded
    (100, 32, 0.75, list(range(0, 69, 8)) + [68]),
])  # fmt: skip
def test_window_starts(length, window, overlap, expected):
    starts = window_starts(length, window, overlap)
    assert starts.tolist() == expected
    covered = np.zeros(max(length, window), int)
    for s in starts:
        covered[s : s + window] += 1
    assert covered[:length].min() >= 1  # every sample covered
    assert starts[-1] + window == max(length, window)  # flush with the end


@pytest.mark.parametrize("overlap", [-0.1, 1.0])
def test_window_starts_refuses_a_bad_overlap(overlap):
    with pytest.raises(ValueError, match="overlap"):
        window_starts(10, 4, overlap)


@pytest.mark.parametrize("blend", ["gaussian", "hann", "constant"])
@pytest.mark.parametrize("window", [1, 2, 7, 64])
def test_weights_are_positive_symmetric_and_peak_at_one(blend, window):
    weights = blend_weights(window, blend)
    assert weights.shape == (window,) and weights.dtype == np.float32
    assert weights.min() >= MIN_WEIGHT and weights.max() == pytest.approx(1.0)
    np.testing.assert_allclose(weights, weights[::-1], rtol=1e-6)


def test_gaussian_sigma_is_an_eighth_of_the_window():
    weights = blend_weights(64, "gaussian").astype(np.float64)
    centres = np.arange(64) + 0.5
    gaussian = np.exp(-0.5 * ((centres - 32) / 8) ** 2)  # sigma 8: exp(-1/2) one sigma from the centre
    np.testing.assert_allclose(weights, np.maximum(gaussian / gaussian.max(), MIN_WEIGHT), rtol=1e-6)
    assert weights[0] == pytest.approx(MIN_WEIGHT)  # 4 sigma out: floored, not zero


def test_hann_is_zero_free_at_the_edges_and_one_at_the_centre():
    weights = blend_weights(8, "hann")
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(8) + 0.5) / 8)
    assert weights[0] == pytest.approx(hann[0] / hann.max(), rel=1e-6) and weights[0] > 0
    assert weights[3] == weights[4] == pytest.approx(1.0)


@pytest.mark.parametrize("blend", ["gaussian", "hann", "constant"])
def test_total_weight_at_overlaps_and_edges_is_the_sum_of_the_windows(blend):
    length, window = 23, 8
    starts = window_starts(length, window, 0.5)
    weights = blend_weights(window, blend)
    total = np.zeros(length)
    for s in starts:
        total[s : s + window] += weights
    assert total.min() > 0
    # sample 4 lies in the windows starting at 0 and 4 only
    assert total[4] == pytest.approx(weights[4] + weights[0])
    assert total[0] == pytest.approx(weights[0])  # the edge: one window
    assert total[-1] == pytest.approx(weights[-1])
    # a blended constant field stays the constant at every sample, edges included
    blended = np.zeros(length)
    for s in starts:
        blended[s : s + window] += 3.0 * weights
    np.testing.assert_allclose(blended / total, 3.0, rtol=1e-6)


def test_box_weights_are_the_outer_product():
    box = box_weights((1, 4, 6), "hann")
    assert box.shape == (1, 4, 6)
    np.testing.assert_allclose(box[0], np.outer(blend_weights(4, "hann"), blend_weights(6, "hann")), rtol=1e-6)


@pytest.mark.parametrize(("orientation", "size", "box"), [
    ("inline", (6, 4), (1, 4, 6)),
    ("crossline", (6, 4), (4, 1, 6)),
    ("sample", (6, 4), (6, 4, 1)),
    ("cube", (3, 4, 5), (3, 4, 5)),
])  # fmt: skip
def test_layout_cuts_windows_as_preprocess_and_puts_them_back(orientation, size, box):
    layout = WindowLayout.make(orientation, size)
    assert layout.box == box
    volume = np.arange(np.prod(box), dtype=np.float32).reshape(box)
    model_input = layout.to_model(volume[None, None])
    assert model_input.shape == (1, 1, *size)
    expected = {"inline": volume[0].T, "crossline": volume[:, 0].T, "sample": volume[:, :, 0], "cube": volume}
    np.testing.assert_array_equal(model_input[0, 0], expected[orientation])
    np.testing.assert_array_equal(layout.from_model(model_input), volume[None, None])


def test_touching_windows():
    starts = np.array([0, 4, 8, 12])
    assert touching(starts, 8, 8, 16).tolist() == [4, 8, 12]
    assert touching(starts, 8, 0, 4).tolist() == [0]


def test_work_chunks_hold_two_windows_along_windowed_axes():
    assert work_chunks((300, 500, 200), (64, 64, 64), (1, 128, 96)) == (64, 256, 192)
    assert work_chunks((10, 20, 30), (64, 64, 64), (8, 8, 8)) == (10, 20, 30)


def test_parts_cover_every_chunk_exactly_once():
    indices = chunk_indices((10, 7, 5), (3, 2, 5))
    assert len(indices) == 4 * 4 * 1
    shares = [part_of(indices, (i, 3)) for i in range(3)]
    flat = [index for share in shares for index in share]
    assert sorted(flat) == sorted(indices) and len(flat) == len(set(flat))
    assert shares[0][0] == (0, 0, 0) and shares[1][0] == (0, 1, 0)


@pytest.mark.parametrize("text", ["3/3", "-1/2", "1", "a/b", "0/0"])
def test_bad_parts_are_refused(text):
    with pytest.raises(ValueError, match="part"):
        parse_part(text)
