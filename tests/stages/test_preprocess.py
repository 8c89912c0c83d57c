"""seis preprocess on real and synthetic data: geometry, normalization, splits, labels, bad input."""

import numpy as np
import pytest
import zarr

from seiscli.config.ingest import IngestConfig
from seiscli.config.preprocess import PreprocessConfig
from seiscli.config.synth import SynthConfig
from seiscli.errors import ConfigError, GeometryError
from seiscli.stages.info import run_info
from seiscli.stages.ingest import run_ingest
from seiscli.stages.preprocess import run_preprocess
from seiscli.stages.synth import run_synth
from seiscli.storage.labels import LabelVariable, open_labels, write_label_store


@pytest.fixture(scope="module")
def f3_store(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("f3") / "f3.mdio"
    run_ingest(IngestConfig(segy=shared_data / "segy" / "f3" / "f3.sgy", out=out))
    return out


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    run_synth(SynthConfig(kind="faults", out_dir=folder / "s", shape=(48, 40, 64), seed=2, workers=1))
    run_ingest(IngestConfig(segy=folder / "s" / "faults-0000.sgy", out=folder / "v.mdio"))
    return folder / "v.mdio", folder / "s" / "faults-0000.labels.zarr"


def preprocess(tmp_path, inputs, **options):
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "d.zarr"
    result = run_preprocess(PreprocessConfig(inputs=[str(p) for p in inputs], out=out, **options))
    return result, zarr.open_group(out, mode="r")


def test_f3_inline_sections_are_the_volume_zscored(f3_store, tmp_path):
    result, ds = preprocess(tmp_path, [f3_store], patch=(16, 8), stride=(16, 5), gap=1)
    volume = zarr.open_group(f3_store, mode="r")
    amplitude = volume["amplitude"][:]  # (23, 18, 75)
    # per inline: crossline starts 0,5,10 (18-8), time starts 0,16,32,48,59 (75-16)
    assert result.samples + 0 <= 23 * 3 * 5 and ds["x"].shape[1:] == (1, 16, 8)
    assert ds["x"].dtype == np.float16
    stats = ds.attrs["seis"]["normalization"]["perSource"][0]
    assert stats["mean"] == pytest.approx(amplitude.mean(), rel=1e-6)
    assert stats["std"] == pytest.approx(amplitude.std(), rel=1e-6)
    position = ds["position"][7]  # axis code 0 (inline), inline, crossline, sample corner
    axis, i, x, t = position
    assert axis == 0
    expected = np.clip((amplitude[i, x : x + 8, t : t + 16].T - stats["mean"]) / stats["std"], -3, 3) / 3
    np.testing.assert_allclose(ds["x"][7, 0], expected, atol=2e-3)
    assert np.abs(ds["x"][:]).max() <= 1.0


def test_blocked_split_does_not_leak(f3_store, tmp_path):
    _, ds = preprocess(tmp_path, [f3_store], patch=(16, 8), axes=("inline", "crossline"), gap=2,
                       split="blocked:0.6,0.2,0.2")  # fmt: skip
    codes, positions = ds["split"][:], ds["position"][:]
    width = np.where(positions[:, 0] == 1, 8, 1)  # crossline sections span 8 inlines
    extents = [set() for _ in range(3)]
    for code, (axis, i, _, _), w in zip(codes, positions, width):
        extents[code].update(range(i, i + w))
    assert extents[0] and extents[1] and extents[2]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not extents[a] & extents[b]
            assert min(abs(p - q) for p in extents[a] for q in extents[b]) > 2  # the gap holds


def test_labels_follow_their_patches_and_frequencies_are_recorded(faults, tmp_path):
    volume, labels = faults
    _, ds = preprocess(tmp_path, [volume], labels=[str(labels)], patch=(32, 16), axes=("inline", "sample"))
    fault = open_labels(labels).group["fault"][...]
    y, positions = ds["y"][:], ds["position"][:]
    assert ds.attrs["seis"]["task"] == "fault"
    for n in (0, len(y) // 2, len(y) - 1):
        axis, i, x, t = positions[n]
        section = fault[i, x : x + 16, t : t + 32].T if axis == 0 else fault[i : i + 32, x : x + 16, t]
        np.testing.assert_array_equal(y[n], section)
    frequencies = ds.attrs["seis"]["classFrequencies"]
    assert 0 < frequencies["fault"] < 0.5 and frequencies["background"] > 0.5


def test_cubes_and_several_volumes(f3_store, faults, tmp_path):
    result, ds = preprocess(tmp_path, [f3_store, faults[0]], patch=(8, 8, 16), split="random:0.6,0.2,0.2")
    assert ds["x"].shape[1:] == (1, 8, 8, 16)
    assert set(ds["source"][:].tolist()) == {0, 1}
    assert len(ds.attrs["seis"]["normalization"]["perSource"]) == 2
    assert sum(result.splits.values()) == result.samples


def test_mostly_dead_patches_are_skipped(shared_data, tmp_path):
    store = tmp_path / "dead.mdio"
    run_ingest(IngestConfig(segy=shared_data / "segy" / "f3-segysak" / "f3-withdead.sgy", out=store))
    every, _ = preprocess(tmp_path / "a", [store], patch=(16, 6), min_live=0.0, split="random:1,0,0")
    live, _ = preprocess(tmp_path / "b", [store], patch=(16, 6), min_live=0.9, split="random:1,0,0")
    assert 0 < live.samples < every.samples


@pytest.mark.parametrize("method", ["percentile", "agc", "none"])
def test_other_normalizations(f3_store, tmp_path, method):
    _, ds = preprocess(tmp_path, [f3_store], patch=(16, 8), normalize=method, dtype="float32", gap=1)
    x = ds["x"][:]
    if method == "percentile":
        assert x.min() >= -1 and x.max() <= 1 and (np.abs(x) == 1).mean() < 0.05
    elif method == "agc":
        rms = np.sqrt(np.mean(np.square(x), axis=(1, 2, 3)))
        assert 0.5 < np.median(rms) < 1.5
    else:
        assert np.abs(x).max() > 1000  # raw F3 amplitudes


def test_fwi_dataset_passes_through(tmp_path):
    synth = run_synth(
        SynthConfig(kind="fwi", out_dir=tmp_path / "fwi", count=4, seed=1, workers=1, split=(0.5, 0.25, 0.25))
    )
    result, ds = preprocess(tmp_path, [synth.path / "dataset.zarr"], normalize="percentile")
    source = zarr.open_group(synth.path / "dataset.zarr", mode="r")
    np.testing.assert_array_equal(ds["split"][:], source["split"][:])
    np.testing.assert_array_equal(ds["y"][:], source["y"][:])
    assert ds["x"].shape == (4, 5, 1000, 70) and np.abs(ds["x"][:]).max() <= 1
    assert run_info(tmp_path / "d.zarr")["task"] == "velocity"


def test_an_empty_split_is_news_only_when_it_was_asked_for(f3_store, tmp_path):
    asked, _ = preprocess(tmp_path / "a", [f3_store], patch=(16, 8), split="random:0.9,0.1,0")
    small, _ = preprocess(tmp_path / "b", [f3_store], patch=(16, 8), split="blocked:0.98,0.01,0.01", gap=1)
    assert not any("split is empty" in w for w in asked.warnings)
    assert any("the val split is empty" in w for w in small.warnings)


def test_a_check_across_options_names_no_single_option(f3_store):
    from seiscli.config.base import resolve

    with pytest.raises(ConfigError) as caught:
        resolve(PreprocessConfig, {"inputs": [str(f3_store)], "out": "d.zarr", "patch": "16x8", "stride": "4"})
    assert str(caught.value).startswith("stride must have as many sizes as patch")


def test_labels_not_co_registered(f3_store, tmp_path):
    volume = zarr.open_group(f3_store, mode="r")
    coords = {d: volume[d][:] for d in ("inline", "crossline", "time")}
    coords["inline"] = coords["inline"] + 1  # one inline off
    salt = np.zeros((23, 18, 75), np.uint8)
    write_label_store(tmp_path / "l.zarr", coords, {"salt": LabelVariable(salt, ["background", "salt"])}, {})
    with pytest.raises(GeometryError, match="not co-registered"):
        preprocess(tmp_path, [f3_store], labels=[str(tmp_path / "l.zarr")], patch=(16, 8))
    assert not (tmp_path / "d.zarr").exists()


def test_patch_larger_than_the_volume(f3_store, tmp_path):
    with pytest.raises(ConfigError, match="does not fit"):
        preprocess(tmp_path, [f3_store], patch=(128, 128))


def test_unknown_normalization_is_a_config_error(f3_store, tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown normalization"):
        PreprocessConfig(inputs=[str(f3_store)], out=tmp_path / "d.zarr", normalize="minmax")


def test_tgs_salt_tiles_with_the_fixed_split(shared_data, tmp_path):
    import json

    from PIL import Image

    tgs = shared_data / "tgs-salt"
    result, ds = preprocess(tmp_path, [tgs], split=f"file:{tgs / 'split.json'}")
    assert result.splits == {"train": 2700, "val": 300, "test": 1000}
    ids = ds.attrs["seis"]["patch"]["ids"]
    codes = ds["split"][:]
    fixed = json.loads((tgs / "split.json").read_text())
    assert {i for i, c in zip(ids, codes) if c == 2} == set(fixed["test"])
    assert ds["x"].shape == (4000, 1, 101, 101) and ds["y"].shape == (4000, 101, 101)
    y = ds["y"][:]
    for index in range(40):  # both mask kinds: 16-bit 0/65535 with salt, 8-bit all zero
        raw = np.asarray(Image.open(tgs / "masks" / f"{ids[index]}.png"))
        np.testing.assert_array_equal(y[index], (raw > 0).astype(np.uint8))
    assert set(np.unique(y).tolist()) == {0, 1}
    assert np.abs(ds["x"][:100]).max() <= 1


def test_empty_tile_folder(tmp_path):
    from seiscli.errors import SeisError

    (tmp_path / "tiles" / "images").mkdir(parents=True)
    with pytest.raises(SeisError, match="no .png, .tif"):
        preprocess(tmp_path / "out", [tmp_path / "tiles"])
