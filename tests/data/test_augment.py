"""Augmentations keep x and y aligned, y valid, time/depth untouched, and follow their generator."""

import numpy as np
import pytest

from seiscli.data.augment import Augment, AugmentConfig

ALWAYS = AugmentConfig(flip=1.0, shift=1.0, max_shift=3, gain=1.0, noise=1.0)
GEOMETRY_ONLY = AugmentConfig(flip=0.5, shift=1.0, max_shift=3, gain=0.0, noise=0.0)


def _classes(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 5, shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(16, 12), (6, 8, 10)])
def test_x_built_from_y_stays_aligned(shape):
    y = _classes(shape)
    x = np.stack([y * 10.0, y + 0.5]).astype(np.float32)  # (2, *shape): both channels functions of y
    for seed in range(20):
        ax, ay = Augment(GEOMETRY_ONLY)(x, y, np.random.default_rng(seed))
        np.testing.assert_array_equal(ax[0], ay * 10.0)
        np.testing.assert_array_equal(ax[1], ay + 0.5)


def test_gain_scales_x_alone_and_keeps_the_relation():
    y = _classes((16, 12)) + 1  # no zeros: x / y is defined everywhere
    x = y[None].astype(np.float32)  # (1, H, W)
    config = AugmentConfig(flip=1.0, shift=1.0, gain=1.0, noise=0.0)
    for seed in range(10):
        ax, ay = Augment(config)(x, y, np.random.default_rng(seed))
        gains = ax[0] / ay
        np.testing.assert_allclose(gains, gains.flat[0], rtol=1e-6)
        assert 0.8 <= gains.flat[0] <= 1.25


def test_class_ids_stay_valid_and_typed():
    y = _classes((32, 32))
    x = y[None].astype(np.float32)
    for seed in range(10):
        _, ay = Augment(ALWAYS)(x, y, np.random.default_rng(seed))
        assert ay.dtype == np.uint8 and ay.shape == y.shape
        assert set(np.unique(ay)) <= set(np.unique(y))


@pytest.mark.parametrize(("shape", "vertical"), [((1, 24, 16), 0), ((1, 6, 8, 10), 0), ((1, 6, 8, 10), -1)])
def test_time_axis_is_never_flipped_or_shifted(shape, vertical):
    """x rises down the time axis; after any augmentation every trace still rises the same way."""
    spatial = len(shape) - 1
    time_axis = range(-spatial, 0)[vertical]
    ramp_shape = [1] * len(shape)
    ramp_shape[time_axis] = shape[time_axis]
    ramp = np.arange(shape[time_axis], dtype=np.float32).reshape(ramp_shape) + 1
    x = np.broadcast_to(ramp, shape).copy()
    config = AugmentConfig(flip=1.0, shift=1.0, gain=0.0, noise=0.0)
    for seed in range(10):
        ax, _ = Augment(config, vertical_axis=vertical)(x, None, np.random.default_rng(seed))
        np.testing.assert_array_equal(ax, x)  # only lateral moves: a laterally constant x cannot change


def test_lateral_axes_are_flipped():
    x = np.arange(16, dtype=np.float32)[None, None, :].repeat(8, axis=1)  # (1, T=8, W=16), rising laterally
    ax, _ = Augment(AugmentConfig(flip=1.0, shift=0.0, gain=0.0, noise=0.0))(x, None, np.random.default_rng(0))
    np.testing.assert_array_equal(ax, x[..., ::-1])


def test_time_slices_flip_both_axes():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    config = AugmentConfig(flip=1.0, shift=0.0, gain=0.0, noise=0.0)
    ax, _ = Augment(config, vertical_axis=None)(x, None, np.random.default_rng(0))
    np.testing.assert_array_equal(ax, x[:, ::-1, ::-1])


def test_shift_repeats_the_edge():
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 6)
    config = AugmentConfig(flip=0.0, shift=1.0, max_shift=2, gain=0.0, noise=0.0)
    allowed = {tuple(np.clip(np.arange(6) - p, 0, 5).tolist()): p for p in range(-2, 3)}
    seen = {allowed[tuple(Augment(config)(x, None, np.random.default_rng(s))[0][0, 0].tolist())] for s in range(40)}
    assert seen == {-2, -1, 0, 1, 2}


def test_velocity_mirror_reverses_the_shots_and_never_shifts():
    """A mirrored model is surveyed by the mirrored spread: shot k becomes shot S-1-k."""
    shots = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 20, 7), np.float32)  # (S, T, R)
    shots += np.arange(7, dtype=np.float32) / 10  # receivers rise laterally
    model = np.arange(7, dtype=np.float32)[None, None, :].repeat(7, axis=1) + 1500  # (1, depth, x)
    augment = Augment.for_task("velocity", AugmentConfig(flip=1.0, shift=1.0, gain=0.0, noise=0.0))
    assert augment.config.shift == 0.0 and augment.mirror_channels
    ax, ay = augment(shots, model, np.random.default_rng(0))
    np.testing.assert_array_equal(ax, shots[::-1, :, ::-1])
    np.testing.assert_array_equal(ay, model[..., ::-1])


def test_noise_touches_x_only_and_is_relative():
    y = np.ones((1, 64, 64), np.float32) * 2000
    x = np.random.default_rng(1).standard_normal((1, 64, 64)).astype(np.float32) * 100
    config = AugmentConfig(flip=0.0, shift=0.0, gain=0.0, noise=1.0, noise_std=0.1)
    ax, ay = Augment(config)(x, y, np.random.default_rng(0))
    np.testing.assert_array_equal(ay, y)
    assert ax.dtype == np.float32
    assert 0.05 < np.std(ax - x) / np.std(x) < 0.15


def test_same_seed_same_result_and_inputs_untouched():
    y = _classes((16, 16))
    x = np.random.default_rng(2).standard_normal((2, 16, 16)).astype(np.float32)
    x_before, y_before = x.copy(), y.copy()
    first = Augment(ALWAYS)(x, y, np.random.default_rng(7))
    again = Augment(ALWAYS)(x, y, np.random.default_rng(7))
    other = Augment(ALWAYS)(x, y, np.random.default_rng(8))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
    np.testing.assert_array_equal(x, x_before)  # the loader may pass cached arrays
    np.testing.assert_array_equal(y, y_before)


def test_bad_shapes_and_settings_are_refused():
    with pytest.raises(ValueError, match="sample"):
        Augment()(np.zeros((4, 4), np.float32), None, np.random.default_rng(0))
    with pytest.raises(ValueError, match="lateral grid"):
        Augment()(np.zeros((1, 8, 8), np.float32), np.zeros((8, 6), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError, match="gain_range"):
        AugmentConfig(gain_range=(1.2, 0.9))


def test_zoom_magnifies_about_the_centre():
    """A zoom of 2 shows the middle half, stretched: linear in x, nearest class ids in y."""
    ramp = np.arange(9, dtype=np.float32)
    x = np.broadcast_to(ramp, (1, 9, 9)).copy()  # rises along W, constant along H
    y = np.broadcast_to((ramp >= 4).astype(np.uint8), (9, 9)).copy()
    config = AugmentConfig(flip=0.0, shift=0.0, gain=0.0, noise=0.0, zoom=1.0, zoom_range=(2.0, 2.0))
    ax, ay = Augment(config)(x, y, np.random.default_rng(0))
    np.testing.assert_allclose(ax[0, 0], 2 + ramp / 2)  # (j - 4) / 2 + 4
    np.testing.assert_allclose(ax[0], np.broadcast_to(ax[0, 0], (9, 9)))  # H still constant
    assert ay.dtype == np.uint8
    np.testing.assert_array_equal(ay[0], (np.rint(2 + ramp / 2) >= 4).astype(np.uint8))


def test_zoom_out_repeats_the_edge_and_keeps_pairs_aligned():
    """Zoom 0.5 on 9 x 9: output j reads source 2 j - 4, whole pixels clipped to the edge, in x and y alike."""
    y = _classes((9, 9))
    x = (y * 10.0)[None].astype(np.float32)
    config = AugmentConfig(flip=0.0, shift=0.0, gain=0.0, noise=0.0, zoom=1.0, zoom_range=(0.5, 0.5))
    ax, ay = Augment(config)(x, y, np.random.default_rng(0))
    source = np.clip(2 * np.arange(9) - 4, 0, 8)
    np.testing.assert_array_equal(ay, y[np.ix_(source, source)])
    np.testing.assert_array_equal(ax[0], ay * 10.0)


def test_velocity_pairs_are_never_zoomed():
    assert Augment.for_task("velocity", AugmentConfig(zoom=1.0)).config.zoom == 0.0
    assert Augment.for_task("salt", AugmentConfig(zoom=1.0)).config.zoom == 1.0
