"""seis synth end to end: files, co-registration through seis ingest, determinism, preview, info."""

import os

import numpy as np
import pytest
import zarr

from seiscli.config.ingest import IngestConfig
from seiscli.config.synth import SynthConfig
from seiscli.stages.info import run_info
from seiscli.stages.ingest import run_ingest
from seiscli.stages.synth import run_synth
from seiscli.storage.labels import open_labels
from seiscli.synth.geology import make_survey


def synth(tmp_path, name, **options):
    return run_synth(SynthConfig(out_dir=tmp_path / name, **options))


def test_surveys_go_through_ingest_onto_their_labels(tmp_path):
    result = synth(tmp_path, "faults", kind="faults", shape=(24, 20, 48), count=2, seed=7)
    assert result.files == ["faults-0000.sgy", "faults-0000.labels.zarr", "faults-0001.sgy", "faults-0001.labels.zarr"]
    run_ingest(IngestConfig(segy=result.path / "faults-0001.sgy", out=tmp_path / "v.mdio"))
    volume = zarr.open_group(tmp_path / "v.mdio", mode="r")
    labels = open_labels(result.path / "faults-0001.labels.zarr")
    assert labels.dims == ("inline", "crossline", "time")
    for dim in labels.dims:
        np.testing.assert_array_equal(volume[dim][:], labels.coords(dim))
    # The SEG-Y holds exactly the survey the seed makes: regenerate it and compare.
    survey = make_survey("faults", (24, 20, 48), np.random.default_rng(np.random.SeedSequence(7).spawn(2)[1]))
    np.testing.assert_array_equal(volume["amplitude"][:], survey.seismic)
    np.testing.assert_array_equal(labels.group["fault"][...], survey.labels["fault"])
    assert labels.group["fault"][...].any()


@pytest.mark.parametrize("kind", ["salt", "facies"])
def test_2d_lines_ingest_as_cdp_lines(tmp_path, kind):
    result = synth(tmp_path, kind, kind=kind, shape=(64, 40), count=1, seed=3, workers=1)
    run_ingest(IngestConfig(segy=result.path / f"{kind}-0000.sgy", out=tmp_path / "line.mdio"))
    volume = zarr.open_group(tmp_path / "line.mdio", mode="r")
    labels = open_labels(result.path / f"{kind}-0000.labels.zarr")
    assert volume["amplitude"].metadata.dimension_names == ("cdp", "time") == labels.dims
    np.testing.assert_array_equal(volume["cdp"][:], labels.coords("cdp"))
    task = "salt" if kind == "salt" else "facies"
    assert labels.group[task].shape == (64, 40)
    assert labels.class_names(task)


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_whatever_the_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    one = synth(tmp_path, "one", kind="salt", shape=(16, 16, 32), count=3, seed=11, workers=1)
    two = synth(tmp_path, "two", kind="salt", shape=(16, 16, 32), count=3, seed=11, workers=2)
    first, second = _files(one.path), _files(two.path)
    sgy = [name for name in first if name.endswith(".sgy")]
    assert len(sgy) == 3
    assert all(first[name] == second[name] for name in sgy)
    for name in ("salt-0000.labels.zarr", "salt-0002.labels.zarr"):
        np.testing.assert_array_equal(open_labels(one.path / name).group["salt"][...],
                                      open_labels(two.path / name).group["salt"][...])  # fmt: skip
    other = synth(tmp_path, "other", kind="salt", shape=(16, 16, 32), count=1, seed=12, workers=1)
    assert _files(other.path)["salt-0000.sgy"] != first["salt-0000.sgy"]


def test_fwi_dataset_and_velocity_labels(tmp_path):
    result = synth(tmp_path, "fwi", kind="fwi", count=3, seed=5, workers=2, split=(0.4, 0.3, 0.3))
    assert result.files == ["dataset.zarr", "velocity.labels.zarr"]
    facts = run_info(result.path / "dataset.zarr")
    assert facts["x"]["shape"] == [3, 5, 1000, 70] and facts["y"]["shape"] == [3, 1, 70, 70]
    assert facts["task"] == "velocity" and sum(facts["splits"].values()) == 3
    dataset = zarr.open_group(result.path / "dataset.zarr", mode="r")
    velocity = open_labels(result.path / "velocity.labels.zarr").group["velocity"][...]
    np.testing.assert_array_equal(dataset["y"][:, 0], velocity)
    assert 1500 <= velocity.min() and velocity.max() <= 4500
    assert np.abs(dataset["x"][:]).max() > 0
    serial = synth(tmp_path, "serial", kind="fwi", count=3, seed=5, workers=1, split=(0.4, 0.3, 0.3))
    np.testing.assert_array_equal(zarr.open_group(serial.path / "dataset.zarr", mode="r")["x"][:], dataset["x"][:])


def test_preview_png_and_info(tmp_path):
    png = tmp_path / "preview.png"
    result = synth(tmp_path, "facies", kind="facies", shape=(16, 24, 40), count=1, workers=1, preview=png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    facts = run_info(result.path)
    assert facts["kind"] == "synth" and facts["count"] == 1 and facts["made"] == "facies"
    labels = run_info(result.path / "facies-0000.labels.zarr")
    assert labels["kind"] == "labels"
    assert sum(labels["variables"]["facies"]["classes"].values()) == 16 * 24 * 40


def test_existing_folder_is_not_overwritten(tmp_path):
    (tmp_path / "out").mkdir()
    from seiscli.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        synth(tmp_path, "out", kind="salt", shape=(16, 16, 32))
    assert os.listdir(tmp_path / "out") == []
