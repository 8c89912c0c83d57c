"""Synthetic geology: shapes, determinism, and labels that tell the truth about the seismic."""

import json

import numpy as np
import pytest

from seiscli.synth.geology import (
    KINDS,
    SALT_IMPEDANCE,
    Fault,
    Structure,
    make_model,
    make_survey,
    trace_back,
)
from seiscli.synth.seismic import ricker

SHAPES = [(24, 32, 48), (40, 64)]
LABEL_KEY = {"faults": "fault", "salt": "salt", "facies": "facies"}


def _arrays(survey) -> dict[str, np.ndarray]:
    return {
        "seismic": survey.seismic,
        "impedance": survey.impedance,
        "reflectivity": survey.reflectivity,
        **survey.labels,
    }


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_shapes_dtypes_and_metadata(kind, shape):
    survey = make_survey(kind, shape, np.random.default_rng(1))
    key = LABEL_KEY[kind]
    for name in ("seismic", "impedance", "reflectivity"):
        array = getattr(survey, name)
        assert array.shape == shape and array.dtype == np.float32 and np.isfinite(array).all(), name
    assert list(survey.labels) == [key] and list(survey.class_names) == [key]
    assert survey.labels[key].shape == shape and survey.labels[key].dtype == np.uint8
    assert survey.labels[key].max() < len(survey.class_names[key])
    assert survey.seismic.std() == pytest.approx(1.0, rel=0.05)  # unit RMS, zero-mean wavelet
    assert survey.sample_interval_ms == 4.0
    json.dumps(survey.info)


def test_unknown_kind_and_bad_shape_are_refused():
    with pytest.raises(ValueError, match="kind"):
        make_survey("reefs", (8, 16), np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        make_survey("faults", (16,), np.random.default_rng(0))


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_survey_other_seed_other_survey(kind):
    first, again = (make_survey(kind, (16, 24, 40), np.random.default_rng(7)) for _ in range(2))
    other = make_survey(kind, (16, 24, 40), np.random.default_rng(8))
    for name, array in _arrays(first).items():
        assert np.array_equal(array, _arrays(again)[name]), name
    assert first.info == again.info
    assert not np.array_equal(first.seismic, other.seismic)
    assert not np.array_equal(first.impedance, other.impedance)


def test_survey_is_made_from_the_model_of_the_same_seed():
    survey = make_survey("faults", (16, 24, 40), np.random.default_rng(3))
    model = make_model("faults", (16, 24, 40), np.random.default_rng(3))
    assert np.array_equal(survey.impedance, model.impedance)
    assert np.array_equal(survey.labels["fault"], (model.fault > 0).astype(np.uint8))


# ---- faults ------------------------------------------------------------------------------------


def _neighbour_jump(rgt: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Largest |RGT difference| between each voxel and its neighbours along the horizontal axes."""
    jump = np.zeros_like(rgt)
    for a in axes:
        step = np.abs(np.diff(rgt, axis=a))
        first = tuple(slice(None, -1) if b == a else slice(None) for b in range(rgt.ndim))
        second = tuple(slice(1, None) if b == a else slice(None) for b in range(rgt.ndim))
        jump[first] = np.maximum(jump[first], step)
        jump[second] = np.maximum(jump[second], step)
    return jump


def _near(label: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    near = label.copy()
    for a in axes:
        near |= np.roll(label, 1, a) | np.roll(label, -1, a)
    return near


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape", [(40, 40, 56), (96, 128)])
def test_layers_jump_across_labelled_faults_and_are_continuous_elsewhere(shape, seed):
    model = make_model("faults", shape, np.random.default_rng(seed))
    horizontal = (0, 1) if len(shape) == 3 else (0,)
    label = model.fault > 0
    assert label.any()
    jump = _neighbour_jump(model.rgt, horizontal)
    across, away = jump[label], jump[~_near(label, horizontal)]
    smallest_throw = min(abs(f["throw"]) for f in model.info["faults"])
    # folds tilt layers by < 1 sample per trace; every fault throws >= 3 samples
    assert away.max() < 1.5
    assert np.median(across) > max(2.5, 0.5 * smallest_throw)
    assert np.median(across) > 4 * np.percentile(away, 99)


def _single_fault(throw: float, half_length: float | None = None):
    fault = Fault(center=(16.0, 32.0, 32.0), strike_deg=0.0, dip_deg=70.0, throw=throw, half_length=half_length)
    return trace_back((32, 64, 64), Structure(faults=(fault,)))


@pytest.mark.parametrize("throw", [6.0, -4.0])
def test_a_fault_offsets_layers_by_its_throw_and_labels_a_thin_plane(throw):
    mapping = _single_fault(throw)
    rgt, label = mapping.source[2], mapping.fault > 0  # (I, X, T)
    # the plane strikes along inlines and dips toward +crossline: hanging wall on the +x side
    i, x, t = np.nonzero(label[:, 2:-2, 2:-2])
    x, t = x + 2, t + 2
    assert np.allclose(rgt[i, x + 2, t] - rgt[i, x - 2, t], -throw, atol=1e-4)
    per_line = label.sum(axis=1)  # (I, T) voxels crossed by each crossline line
    assert per_line[:, 10:54].min() >= 1 and per_line.max() <= 2
    assert np.array_equal(rgt[label], np.broadcast_to(np.arange(64.0), rgt.shape)[label])  # footwall voxels


def test_a_fault_without_throw_has_no_label_and_moves_nothing():
    mapping = _single_fault(0.0)
    assert not mapping.fault.any()
    assert np.array_equal(mapping.source[2], np.broadcast_to(np.arange(64, dtype=np.float32), (32, 64, 64)))


def test_a_tapered_fault_is_labelled_only_where_it_displaces_layers():
    mapping = _single_fault(6.0, half_length=10.0)
    inline = np.arange(32)
    displacing = 6.0 * np.clip(1 - ((inline - 16) / 10.0) ** 2, 0, None) >= 0.5
    assert np.array_equal(mapping.fault.any(axis=(1, 2)), displacing)
    beyond_tips = np.abs(inline - 16) >= 10  # throw exactly zero: layers untouched
    rgt = mapping.source[2][beyond_tips]
    assert np.array_equal(rgt, np.broadcast_to(np.arange(64.0), rgt.shape))


# ---- salt --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("shape", [(40, 40, 64), (96, 128)])
def test_salt_label_is_the_salt_body_and_its_top_is_bright(shape, seed):
    survey = make_survey("salt", shape, np.random.default_rng(seed))
    salt = survey.labels["salt"].astype(bool)
    assert salt.any() and not salt.all()
    assert np.array_equal(salt, survey.impedance == np.float32(SALT_IMPEDANCE))
    top = salt.copy()  # first salt sample of each salt interval down a trace
    top[..., 1:] &= ~salt[..., :-1]
    top[..., 0] = False
    r = np.abs(survey.reflectivity)
    assert np.median(r[top]) > 2 * np.percentile(r[~salt], 95)
    assert np.abs(survey.seismic[top]).mean() > 2 * np.abs(survey.seismic).mean()


# ---- facies ------------------------------------------------------------------------------------


def test_facies_follow_layer_order_and_match_class_names():
    unfaulted_traces = 0
    for seed in range(6):
        survey = make_survey("facies", (160, 96), np.random.default_rng(seed))
        model = make_model("facies", (160, 96), np.random.default_rng(seed))
        names = survey.class_names["facies"]
        assert 4 <= len(names) <= 8 and len(names) == survey.info["layer_groups"]
        assert np.array_equal(survey.labels["facies"], model.facies)
        assert survey.labels["facies"].max() < len(names)
        unfaulted = ~(model.fault > 0).any(axis=-1)  # (X,) traces no fault crosses
        steps = np.diff(model.facies[unfaulted].astype(int), axis=-1)  # (N, T-1)
        assert np.isin(steps, (0, 1)).all()  # down a trace groups come in order, none skipped
        assert len(steps) == 0 or steps.sum(axis=-1).max() >= 2  # and a trace crosses several of them
        unfaulted_traces += len(steps)
    assert unfaulted_traces > 200


def test_facies_move_with_the_faulted_layers():
    model = make_model("facies", (24, 32, 64), np.random.default_rng(11))
    assert model.info["faults"] and (model.fault > 0).any()
    order = np.argsort(model.rgt.ravel(), kind="stable")
    assert (np.diff(model.facies.ravel()[order].astype(int)) >= 0).all()  # the group is a function of RGT alone


# ---- wavelet -----------------------------------------------------------------------------------


@pytest.mark.parametrize("peak_hz", [20.0, 31.0, 40.0])
def test_ricker_peaks_at_its_frequency(peak_hz):
    wavelet = ricker(peak_hz, 4.0, 101)
    spectrum = np.abs(np.fft.rfft(wavelet, n=8192))
    frequencies = np.fft.rfftfreq(8192, d=0.004)
    assert frequencies[np.argmax(spectrum)] == pytest.approx(peak_hz, abs=0.2)
    assert wavelet[50] == wavelet.max() == 1.0  # zero phase: peak at the centre
