"""OpenFWI-style velocity models and shot gathers: geology of each family, wave physics, record layout."""

import importlib.util

import numpy as np
import pytest

from seiscli.synth.fwi import FAMILIES, Acquisition, simulate, velocity_model

needs_deepwave = pytest.mark.skipif(importlib.util.find_spec("deepwave") is None, reason="deepwave not installed")
SEEDS = range(12)
ACQ = Acquisition()


def model(family: str, seed: int) -> np.ndarray:
    return velocity_model(family, np.random.default_rng(seed))


def top_interface_depth(velocity: np.ndarray) -> np.ndarray:
    """(W,) first row whose velocity differs from the top row's, per column (H where none does)."""
    differs = velocity != velocity[:1]  # (H, W)
    return np.where(differs.any(0), differs.argmax(0), velocity.shape[0])


@pytest.mark.parametrize("family", FAMILIES)
def test_model_shape_range_and_determinism(family):
    a, again, other = model(family, 3), model(family, 3), model(family, 4)
    assert a.shape == (70, 70) and a.dtype == np.float32
    assert a.min() >= 1500.0 and a.max() <= 4500.0
    assert a.tobytes() == again.tobytes()
    assert not np.array_equal(a, other)


@pytest.mark.parametrize("family", FAMILIES)
def test_models_have_two_to_five_layers_slowest_on_top(family):
    for seed in SEEDS:
        velocity = model(family, seed)
        assert 2 <= len(np.unique(velocity)) <= 5
        assert velocity[0].min() == velocity.min()


def test_custom_range_and_shape():
    velocity = velocity_model("curved-fault", np.random.default_rng(0), shape=(40, 90), vmin=2000.0, vmax=3000.0)
    assert velocity.shape == (40, 90)
    assert velocity.min() >= 2000.0 and velocity.max() <= 3000.0


def test_flat_layers_are_constant_along_every_row():
    for seed in SEEDS:
        velocity = model("flat", seed)
        assert (velocity == velocity[:, :1]).all()


def test_curved_layers_bend_gently():
    for seed in SEEDS:
        depth = top_interface_depth(model("curved", seed))
        # A fold bends the interfaces without breaking them: at most one cell of depth per column.
        assert np.abs(np.diff(depth)).max() <= 1
    assert any(np.ptp(top_interface_depth(model("curved", seed))) >= 3 for seed in SEEDS)


@pytest.mark.parametrize("family", ["flat-fault", "curved-fault"])
def test_faults_break_the_layering(family):
    for seed in SEEDS:
        velocity = model(family, seed)
        # A fault offsets the top interface abruptly: a jump of two or more cells between
        # neighbouring columns, which neither flat nor gently curved layering can produce.
        assert np.abs(np.diff(top_interface_depth(velocity))).max() >= 2
        assert not (velocity == velocity[:, :1]).all()


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError, match="flat"):
        velocity_model("salt", np.random.default_rng(0))


@pytest.fixture(scope="module")
def homogeneous():
    """Records (T, R) of the middle shot (source at x = 34) for homogeneous 1500 and 3000 m/s models."""
    models = np.stack([np.full((70, 70), v, np.float32) for v in (1500.0, 3000.0)])  # (2, H, W)
    gathers = simulate(models)  # (2, S, T, R)
    return {1500.0: gathers[0, 2], 3000.0: gathers[1, 2]}


def direct_wave_delay(gather: np.ndarray, near: int, far: int) -> float:
    """Seconds from receiver ``near`` to receiver ``far``: the peak of their cross-correlation."""
    correlation = np.correlate(gather[:, far], gather[:, near], "full")  # (2T - 1,)
    return (np.argmax(correlation) - (len(gather) - 1)) * ACQ.dt


@needs_deepwave
@pytest.mark.parametrize("v", [1500.0, 3000.0])
def test_direct_wave_arrives_at_offset_over_velocity(homogeneous, v):
    gather = homogeneous[v]
    for receiver in (44, 54, 69):
        offset = (receiver - 34) * ACQ.dx
        arrival = np.argmax(np.abs(gather[:, receiver])) * ACQ.dt - 1.5 / ACQ.peak_frequency  # minus the delay
        assert abs(arrival - offset / v) < 1.0 / ACQ.peak_frequency
    moveout = direct_wave_delay(gather, 44, 69)
    assert moveout == pytest.approx(25 * ACQ.dx / v, abs=2 * ACQ.dt)


@needs_deepwave
def test_doubling_velocity_halves_traveltime(homogeneous):
    slow, fast = (direct_wave_delay(homogeneous[v], 39, 69) for v in (1500.0, 3000.0))
    assert slow / fast == pytest.approx(2.0, rel=0.05)


@needs_deepwave
def test_absorbing_boundaries_leave_no_edge_echo(homogeneous):
    near = homogeneous[1500.0][:, 29:40]  # (T, 11) receivers within 50 m of the source
    direct = np.abs(near).max()
    # At 1500 m/s an echo from the bottom (690 m down) would return at ~0.92 s + 0.1 s delay,
    # from the side edges (340 m away) at ~0.55 s: everything after 0.4 s must be near silence.
    assert np.abs(near[400:]).max() < 1e-3 * direct


@needs_deepwave
def test_record_layout_and_determinism():
    models = np.stack([model(family, 5) for family in ("flat", "curved-fault")])  # (2, H, W)
    gathers = simulate(models)
    assert gathers.shape == (2, 5, 1000, 70) and gathers.dtype == np.float32
    assert np.isfinite(gathers).all() and np.abs(gathers).max() > 0
    assert simulate(models[1]).tobytes() == gathers[1:].tobytes()  # a batch is independent records, bit-exact
    assert not np.array_equal(gathers[0], gathers[1])


@needs_deepwave
def test_sources_and_receivers_sit_where_openfwi_puts_them():
    gathers = simulate(np.full((70, 70), 2000.0, np.float32), Acquisition(n_time=200))[0]  # (S, T, R)
    first_receiver_hit = np.abs(gathers).argmax(axis=1).argmin(axis=1)  # (S,) receiver the wave reaches first
    assert first_receiver_hit.tolist() == [0, 17, 34, 52, 69]


@needs_deepwave
def test_sparser_acquisition_spreads_receivers_evenly():
    acquisition = Acquisition(n_shots=3, n_receivers=8, n_time=300)
    gathers = simulate(np.full((70, 70), 2000.0, np.float32), acquisition)
    assert gathers.shape == (1, 3, 300, 8)
    # Receivers at x = 0, 10, 20, 30, 39, 49, 59, 69 and the middle shot at x = 34: x = 30 and 39 hear it first.
    assert set(np.abs(gathers[0, 1]).argmax(axis=0).argsort()[:2].tolist()) == {3, 4}
