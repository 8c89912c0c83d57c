"""``seis benchmark loader``: the stage on tiny stores of every kind."""

import numpy as np
import pytest
import torch

from seiscli.config.benchmark import LoaderBenchmarkConfig
from seiscli.errors import ConfigError, InputNotFoundError
from seiscli.stages.benchmark_loader import _ProbeNet, run_loader_benchmark
from seiscli.storage.dataset import DatasetLayout, create_dataset_store

FAST = {"batch_size": 4, "batches": 3, "steps": 2, "warmup": 1}


def _store(path, layout: DatasetLayout):
    """Random samples, all in the train split."""
    group = create_dataset_store(path, layout, {})
    rng = np.random.default_rng(0)
    group["x"][:] = rng.standard_normal((layout.n_samples, *layout.x_shape))
    if layout.y_shape is not None:
        y = rng.integers(0, 2, (layout.n_samples, *layout.y_shape)) if layout.y_dtype == "uint8" else 2000.0
        group["y"][:] = y
    return path


@pytest.mark.parametrize(
    "layout",
    [
        DatasetLayout("salt", 16, (1, 17, 15), (17, 15), "uint8", class_names=["background", "salt"]),
        DatasetLayout("velocity", 16, (3, 30, 10), (1, 10, 10)),  # shots to a model: the output is resized
        DatasetLayout("fault", 16, (1, 6, 8, 10), (6, 8, 10), "uint8"),  # cubes, no class names
        DatasetLayout("pretrain", 16, (1, 16, 16), None),  # unlabelled: the probe reconstructs x
    ],
    ids=["salt", "velocity", "cubes", "unlabelled"],
)
def test_both_rates_on_every_kind_of_store(tmp_path, layout):
    path = _store(tmp_path / "d.zarr", layout)
    result = run_loader_benchmark(LoaderBenchmarkConfig(dataset=path, workers=0, precision="fp32", **FAST))
    assert result.samples == 16 and result.sample_shape == layout.x_shape and result.x_dtype == "float16"
    assert result.loader_samples_per_s > 0 and result.train_samples_per_s > 0
    assert result.ratio == pytest.approx(result.loader_samples_per_s / result.train_samples_per_s)
    assert result.precision == "fp32" and result.cached


@pytest.mark.parametrize("dims", [2, 3])
def test_probe_net_keeps_the_grid_of_odd_sizes(dims):
    x = torch.zeros(2, 3, *(7, 9, 5)[:dims])
    assert _ProbeNet(3, 4, dims=dims)(x).shape == (2, 4, *x.shape[2:])


def test_missing_store_and_empty_split_are_clear_errors(tmp_path):
    with pytest.raises(InputNotFoundError):
        run_loader_benchmark(LoaderBenchmarkConfig(dataset=tmp_path / "missing.zarr"))
    path = _store(tmp_path / "d.zarr", DatasetLayout("salt", 8, (1, 8, 8), (8, 8), "uint8"))  # all train
    with pytest.raises(ConfigError, match="val split"):
        run_loader_benchmark(LoaderBenchmarkConfig(dataset=path, split="val"))
