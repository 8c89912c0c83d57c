import numpy as np
import pytest

from seiscli.errors import NotAnArtifactError
from seiscli.storage.dataset import DatasetLayout, assign_splits, create_dataset_store, open_dataset
from seiscli.storage.labels import LabelVariable, open_labels, write_label_store

COORDS = {
    "inline": np.arange(10, 14, dtype=np.int32),
    "crossline": np.arange(20, 25, dtype=np.int32),
    "time": np.arange(0, 24, 4, dtype=np.int32),
}


def test_label_store_round_trip(tmp_path):
    fault = np.zeros((4, 5, 6), np.uint8)
    fault[1, :, 2] = 1
    write_label_store(tmp_path / "l.zarr", COORDS, {"fault": LabelVariable(fault, ["background", "fault"])}, {})
    store = open_labels(tmp_path / "l.zarr")
    assert store.tasks == ["fault"]
    assert store.dims == ("inline", "crossline", "time")
    np.testing.assert_array_equal(store.coords("crossline"), COORDS["crossline"])
    np.testing.assert_array_equal(store.group["fault"][...], fault)
    assert store.class_names("fault") == ["background", "fault"]


def test_label_store_refuses_a_grid_mismatch(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_label_store(tmp_path / "l.zarr", COORDS, {"salt": LabelVariable(np.zeros((4, 5, 7), np.uint8))}, {})


def test_open_labels_rejects_other_stores(tmp_path):
    layout = DatasetLayout("salt", 2, (1, 8, 8), (8, 8), "uint8")
    create_dataset_store(tmp_path / "d.zarr", layout, {})
    with pytest.raises(NotAnArtifactError):
        open_labels(tmp_path / "d.zarr")
    with pytest.raises(NotAnArtifactError):
        open_dataset(tmp_path / "missing.zarr")


def test_dataset_store_layout_and_splits(tmp_path):
    layout = DatasetLayout("velocity", 10, (5, 100, 7), (1, 7, 7), sources=["a.zarr"])
    group = create_dataset_store(tmp_path / "d.zarr", layout, {"normalization": {"method": "none"}})
    group["split"][:] = assign_splits(10, (0.6, 0.2, 0.2), np.random.default_rng(0))
    group["x"][3] = np.ones((5, 100, 7), np.float32)
    store = open_dataset(tmp_path / "d.zarr")
    assert len(store) == 10
    assert store.x.shape == (10, 5, 100, 7) and store.y.shape == (10, 1, 7, 7)
    assert store.split_counts() == {"train": 6, "val": 2, "test": 2}
    assert store.attrs["task"] == "velocity" and store.attrs["sources"] == ["a.zarr"]
    assert store.x[3].sum() == 5 * 100 * 7 and store.x[2].sum() == 0


def test_splits_are_shuffled_but_reproducible():
    first = assign_splits(100, (0.8, 0.1, 0.1), np.random.default_rng(1))
    again = assign_splits(100, (0.8, 0.1, 0.1), np.random.default_rng(1))
    np.testing.assert_array_equal(first, again)
    assert np.bincount(first).tolist() == [80, 10, 10]
    assert not np.array_equal(first, np.sort(first))
