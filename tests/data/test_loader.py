"""The loader over dataset stores: split filtering, dtypes, reproducibility across seeds and workers."""

import pickle

import numpy as np
import pytest
import torch

from seiscli.data.augment import Augment, AugmentConfig
from seiscli.data.loader import SeismicDataset, _runs, make_loader
from seiscli.data.patches import AXES
from seiscli.storage.dataset import DatasetLayout, assign_splits, create_dataset_store

N = 64


def _store(path, layout: DatasetLayout, x, y=None, attributes=None, positions=None):
    group = create_dataset_store(path, layout, attributes or {})
    group["split"][:] = assign_splits(layout.n_samples, (0.75, 0.125, 0.125), np.random.default_rng(0))
    group["x"][:] = x
    if y is not None:
        group["y"][:] = y
    if positions is not None:
        group["position"][:] = positions
    return path


@pytest.fixture
def segmentation(tmp_path):
    """64 samples (1, 32, 32): class ids y, and x = 10 * y + 32 * row (x identifies it, exactly in float16)."""
    y = np.random.default_rng(1).integers(0, 4, (N, 32, 32), dtype=np.uint8)
    x = (10.0 * y + np.arange(N)[:, None, None] * 32)[:, None]  # (N, 1, 32, 32), all below 2048
    layout = DatasetLayout("facies", N, (1, 32, 32), (32, 32), "uint8", class_names=list("abcd"))
    return _store(tmp_path / "seg.zarr", layout, x, y)


@pytest.fixture
def velocity(tmp_path):
    """24 OpenFWI-like pairs: shots x (5, 40, 16), velocity y (1, 16, 16) float32."""
    rng = np.random.default_rng(2)
    layout = DatasetLayout("velocity", 24, (5, 40, 16), (1, 16, 16), x_dtype="float32")
    x = rng.standard_normal((24, 5, 40, 16)).astype(np.float32)
    y = rng.uniform(1500, 4500, (24, 1, 16, 16)).astype(np.float32)
    return _store(tmp_path / "fwi.zarr", layout, x, y)


def _split_rows(path, name="train") -> set[int]:
    import zarr

    codes = zarr.open_group(path, mode="r")["split"][:]
    return set(np.flatnonzero(codes == ("train", "val", "test").index(name)).tolist())


def _batches(loader, epochs=1) -> list[tuple[torch.Tensor, ...]]:
    return [tuple(batch) for _ in range(epochs) for batch in loader]


def _rows(batches) -> list[int]:
    """Each sample's store row, read back from x = 10 * y + 32 * row (no augmentation)."""
    return [int(v) for x, y in batches for v in ((x[:, 0] - 10 * y) / 32).amax(dim=(1, 2))]


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_only_the_split_samples_each_once(segmentation, split):
    loader = make_loader(segmentation, split, batch_size=5, workers=0, shuffle=True)
    rows = _rows(_batches(loader))
    assert sorted(rows) == sorted(_split_rows(segmentation, split))
    assert len(loader.dataset) == len(rows) == {"train": 48, "val": 8, "test": 8}[split]


def test_dtypes_and_shapes(segmentation, velocity):
    x, y = next(iter(make_loader(segmentation, batch_size=8, workers=0, augment=Augment())))
    assert x.dtype == torch.float32 and x.shape == (8, 1, 32, 32)  # float16 on disk
    assert y.dtype == torch.int64 and y.shape == (8, 32, 32)
    x, y = next(iter(make_loader(velocity, batch_size=4, workers=2, augment=Augment.for_task("velocity"))))
    assert x.dtype == torch.float32 and x.shape == (4, 5, 40, 16)
    assert y.dtype == torch.float32 and y.shape == (4, 1, 16, 16)
    assert y.min() >= 1500 and y.max() <= 4500


def test_class_ids_arrive_as_int64_from_workers(segmentation):
    loader = make_loader(segmentation, batch_size=16, workers=2)
    batches = _batches(loader)
    assert all(y.dtype == torch.int64 for _, y in batches)
    assert loader.persistent_workers and loader.prefetch_factor == 2
    assert sorted(_rows(batches)) == sorted(_split_rows(segmentation))


def test_augmented_pairs_stay_aligned(segmentation):
    config = AugmentConfig(flip=0.5, shift=1.0, gain=0.0, noise=0.0)
    for x, y in make_loader(segmentation, batch_size=16, workers=0, augment=Augment(config)):
        residual = x[:, 0] - 10 * y  # (B, H, W): 32 * row wherever x and y are aligned
        assert (residual == residual[:, :1, :1]).all()


def test_same_seed_same_batches_with_workers(segmentation):
    """Two runs, two epochs each, shuffled and augmented on 2 workers: identical; another seed differs."""

    def run(seed):
        return _batches(make_loader(segmentation, batch_size=8, workers=2, augment=Augment(), seed=seed), epochs=2)

    first, again, other = run(3), run(3), run(4)
    assert len(first) == 12
    for (x1, y1), (x2, y2) in zip(first, again):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, other))
    epoch0, epoch1 = torch.cat([x for x, _ in first[:6]]), torch.cat([x for x, _ in first[6:]])
    assert not torch.equal(epoch0, epoch1)  # each epoch has its own order and augmentations


def test_workers_do_not_change_the_batches(segmentation):
    runs = [_batches(make_loader(segmentation, batch_size=8, workers=w, augment=Augment(), seed=5)) for w in (0, 2)]
    assert len(runs[0]) == len(runs[1]) == 6
    for (x0, y0), (x2, y2) in zip(*runs):
        assert torch.equal(x0, x2) and torch.equal(y0, y2)


def test_cached_and_streamed_reads_agree(segmentation):
    def run(cache_mb):
        return _batches(make_loader(segmentation, batch_size=8, workers=0, augment=Augment(), cache_mb=cache_mb))

    assert make_loader(segmentation, workers=0).dataset.cached
    assert not make_loader(segmentation, workers=0, cache_mb=0).dataset.cached
    for (xa, ya), (xb, yb) in zip(run(512), run(0)):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_nearby_rows_share_one_read():
    runs = _runs(np.array([41, 5, 3, 4, 40, 150]))
    reads = [(start, stop, slots.tolist()) for start, stop, slots in runs]
    assert reads == [
        (3, 6, [2, 3, 1]),
        (40, 42, [4, 0]),
        (150, 151, [5]),
    ]


def test_the_dataset_pickles_without_zarr_handles(segmentation):
    dataset = SeismicDataset(segmentation, "train")
    x, _ = dataset[0]
    assert dataset._reader is not None
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy._reader is None
    assert torch.equal(copy[0][0], x)


def test_unlabelled_store_gives_x_alone(tmp_path):
    layout = DatasetLayout("pretrain", 16, (1, 8, 8), None)
    path = _store(tmp_path / "u.zarr", layout, np.ones((16, 1, 8, 8)))
    x = next(iter(make_loader(path, batch_size=4, workers=0, augment=Augment())))
    assert isinstance(x, torch.Tensor) and x.shape == (4, 1, 8, 8) and x.dtype == torch.float32


def test_cubes_never_flip_time(tmp_path):
    """seis preprocess cubes are (inline, crossline, sample): time is the last axis, time slices have none."""
    ramp = np.arange(8, dtype=np.float32)  # rising with time
    x = np.broadcast_to(ramp, (8, 1, 4, 4, 8)).copy()
    layout = DatasetLayout("fault", 8, (1, 4, 4, 8), (4, 4, 8), "uint8", position_width=4)
    positions = np.zeros((8, 4), np.int32)
    positions[:, 0] = AXES.index("cube")
    path = _store(tmp_path / "cubes.zarr", layout, x, np.zeros((8, 4, 4, 8)), {"patch": {"axes": ["cube"]}}, positions)
    flips = Augment(AugmentConfig(flip=1.0, shift=1.0, gain=0.0, noise=0.0))
    batch, _ = next(iter(make_loader(path, batch_size=8, workers=0, augment=flips, shuffle=False)))
    assert (batch.diff(dim=-1) == 1).all()


def test_unknown_split_is_refused(segmentation):
    with pytest.raises(ValueError, match="unknown split"):
        SeismicDataset(segmentation, "validation")
