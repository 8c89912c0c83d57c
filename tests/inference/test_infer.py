"""seis infer with real tiny models on a tiny ingested survey: exactness, stores, resume, parts, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
import segyio
import torch
import zarr

from seiscli.config.export import ExportConfig
from seiscli.config.infer import InferConfig
from seiscli.data.normalize import Normalization
from seiscli.data.volume_patches import open_source, source_statistics
from seiscli.errors import ConfigError, NotAnArtifactError, OutputExistsError
from seiscli.stages.export import run_export
from seiscli.stages.infer import run_infer
from seiscli.training.checkpoint import read_card, save_weights
from tests.inference.conftest import identity_unet, save_identity_checkpoint


def infer(model, volume, out, **options):
    return run_infer(InferConfig(model=model, volume=str(volume), out=out, precision="fp32", **options))


def normalized_volume(volume) -> np.ndarray:
    source = open_source(str(volume), None, None)
    normalization = source_statistics(source, Normalization("zscore"))
    return normalization.apply(source.volume.amplitude[...])


def test_identity_unet_is_the_identity():
    x = torch.randn(2, 1, 13, 21)
    assert torch.equal(identity_unet(1)(x), x)
    assert torch.equal(identity_unet(2)(x)[:, 1:], x) and not identity_unet(2)(x)[:, 0].any()


@pytest.mark.parametrize(("blend", "axis", "size", "tta"), [
    ("gaussian", "inline", (16, 12), False), ("hann", "inline", (16, 12), False),
    ("constant", "inline", (16, 12), False), ("gaussian", "crossline", (12, 16), True),
    ("hann", "sample", (8, 8), False),
    ("constant", "inline", (64, 32), False),  # windows larger than the volume: padded reads
])  # fmt: skip
def test_identity_model_gives_back_the_normalized_volume(survey, tmp_path, blend, axis, size, tta):
    volume = survey[0]
    model = save_identity_checkpoint(tmp_path / "m.safetensors", size=size, axes=(axis,))
    result = infer(model, volume, tmp_path / "p.zarr", blend=blend, overlap=0.5, tta=tta)
    assert result.remaining == 0 and result.chunks_done == result.chunks
    velocity = zarr.open_group(tmp_path / "p.zarr", mode="r")["velocity"][...]
    expected = (normalized_volume(volume) + 1) * 1500 + 1500  # the task's [-1, 1] -> [1500, 4500] m/s
    np.testing.assert_allclose(velocity, expected, rtol=0, atol=2e-3)


def sigmoid(x):
    return 1 / (1 + np.exp(-x.astype(np.float64)))


def test_binary_task_writes_ids_above_the_threshold_and_probabilities(survey, tmp_path):
    model = save_identity_checkpoint(tmp_path / "m.safetensors", task="salt", size=(16, 12))
    result = infer(model, survey[0], tmp_path / "p.zarr", probabilities=True)
    assert result.variables == ["salt", "salt_probability"]
    store = zarr.open_group(tmp_path / "p.zarr", mode="r")
    probability = sigmoid(normalized_volume(survey[0]))  # P(salt) of logits (0, x)
    assert store["salt_probability"].dtype == np.float16 and store["salt"].dtype == np.uint8
    np.testing.assert_allclose(store["salt_probability"][...], probability, atol=1e-3)
    confident = np.abs(probability - 0.5) > 1e-3
    np.testing.assert_array_equal(store["salt"][...][confident], (probability > 0.5)[confident])
    assert store["salt"].attrs["classNames"] == ["background", "salt"]


class StopAfter:
    """A progress reporter that interrupts the run after ``chunks`` chunks are written, like Ctrl-C."""

    def __init__(self, chunks):
        self.left = chunks

    def start(self, description, total):
        pass

    def advance(self, amount=1, status=None):
        self.left -= amount
        if self.left == 0:
            raise KeyboardInterrupt

    def log(self, message):
        pass


def test_interrupted_run_resumes_to_the_same_store(survey, tmp_path):
    model = save_identity_checkpoint(tmp_path / "m.safetensors", task="salt", size=(16, 12))
    straight = infer(model, survey[0], tmp_path / "straight.zarr", probabilities=True)
    config = InferConfig(model=model, volume=str(survey[0]), out=tmp_path / "p.zarr", precision="fp32",
                         probabilities=True)  # fmt: skip
    with pytest.raises(KeyboardInterrupt, match=r"p.zarr keeps its \d+ finished chunks; rerun with --resume"):
        run_infer(config, progress=StopAfter(3))
    done = zarr.open_group(tmp_path / "p.zarr", mode="r")["salt_done"][...]
    assert 3 <= done.sum() < done.size  # the chunks handed to the writer were finished and marked
    with pytest.raises(OutputExistsError, match="already exists") as refused:
        run_infer(config)
    assert "--resume" in refused.value.hint
    resumed = run_infer(config.model_copy(update={"resume": True}))
    assert resumed.chunks_skipped == done.sum() and resumed.chunks_done == done.size - done.sum()
    assert resumed.remaining == 0
    first, second = (zarr.open_group(tmp_path / name, mode="r") for name in ("straight.zarr", "p.zarr"))
    for name in ("salt", "salt_probability", "salt_done"):
        np.testing.assert_array_equal(first[name][...], second[name][...])
    assert straight.chunks == resumed.chunks
    with pytest.raises(ConfigError, match=r"other settings \(variables differ\)"):
        run_infer(config.model_copy(update={"resume": True, "probabilities": False}))


def test_parts_fill_one_store_each_chunk_once(survey, tmp_path):
    model = save_identity_checkpoint(tmp_path / "m.safetensors", size=(16, 12))
    whole = infer(model, survey[0], tmp_path / "whole.zarr")
    done = []
    for i in range(3):
        result = infer(model, survey[0], tmp_path / "p.zarr", part=f"{i}/3")
        done.append(result.chunks_done)
        assert result.remaining == whole.chunks - sum(done)
    assert sum(done) == whole.chunks and min(done) >= whole.chunks // 3
    np.testing.assert_array_equal(zarr.open_group(tmp_path / "p.zarr", mode="r")["velocity"][...],
                                  zarr.open_group(tmp_path / "whole.zarr", mode="r")["velocity"][...])  # fmt: skip
    again = infer(model, survey[0], tmp_path / "p.zarr", part="1/3")
    assert again.chunks_done == 0 and again.chunks_skipped == done[1]
    other = save_identity_checkpoint(tmp_path / "other.safetensors", size=(8, 8))
    with pytest.raises(ConfigError, match="other settings"):
        infer(other, survey[0], tmp_path / "p.zarr", part="0/3")


def test_parts_started_together_create_one_store(survey, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    model = save_identity_checkpoint(tmp_path / "m.safetensors", size=(16, 12))
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda i: infer(model, survey[0], tmp_path / "p.zarr", part=f"{i}/2"), range(2)))
    assert sum(r.chunks_done for r in results) == results[0].chunks
    assert not list(tmp_path.glob(".p.zarr.tmp-*"))  # the loser's store is gone
    store = zarr.open_group(tmp_path / "p.zarr", mode="r")
    assert store["velocity_done"][...].all()
    np.testing.assert_allclose(store["velocity"][...], (normalized_volume(survey[0]) + 1) * 1500 + 1500, atol=2e-3)


def test_prediction_store_opens_in_mdio_and_exports_to_segy(survey, tmp_path):
    volume, _, segy = survey
    model = save_identity_checkpoint(tmp_path / "m.safetensors", task="salt", size=(16, 12))
    infer(model, volume, tmp_path / "p.zarr", probabilities=True)
    script = f"""
import warnings, json
if __name__ == "__main__":
    import mdio
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = mdio.open_mdio({str(tmp_path / "p.zarr")!r})
    print(json.dumps({{"sizes": dict(ds.sizes), "salt": int(ds["salt"].values.sum()),
                      "vars": sorted(ds.data_vars), "inline": ds["inline"].values.tolist()}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    store = zarr.open_group(tmp_path / "p.zarr", mode="r")
    assert {k: seen["sizes"][k] for k in ("inline", "crossline", "time")} == {"inline": 20, "crossline": 18, "time": 40}
    assert seen["salt"] == int(store["salt"][...].sum()) > 0
    assert {"salt", "salt_probability", "trace_mask", "headers"} <= set(seen["vars"])
    assert seen["inline"] == zarr.open_group(volume, mode="r")["inline"][...].tolist()

    run_export(ExportConfig(source=tmp_path / "p.zarr", out=tmp_path / "salt.sgy"))
    run_export(ExportConfig(source=tmp_path / "p.zarr", out=tmp_path / "prob.sgy", variable="salt_probability"))
    with segyio.open(segy) as original, segyio.open(tmp_path / "salt.sgy") as ids, \
            segyio.open(tmp_path / "prob.sgy") as probs:  # fmt: skip
        assert ids.bin[segyio.BinField.Format] == 5 and list(ids.ilines) == list(original.ilines)
        np.testing.assert_array_equal(segyio.tools.cube(ids), store["salt"][...])
        np.testing.assert_array_equal(segyio.tools.cube(probs), store["salt_probability"][...].astype(np.float32))
        assert ids.header[7] == original.header[7] and ids.text[0] == original.text[0]
    with pytest.raises(NotAnArtifactError, match="no variable 'nothing'") as refused:
        run_export(ExportConfig(source=tmp_path / "p.zarr", out=tmp_path / "x.sgy", variable="nothing"))
    assert refused.value.hint == "choose --variable salt or salt_probability"


def test_into_adds_the_prediction_to_the_volume(survey, tmp_path):
    import shutil

    volume = tmp_path / "v.mdio"
    shutil.copytree(survey[0], volume)
    model = save_identity_checkpoint(tmp_path / "m.safetensors", size=(16, 12))
    result = run_infer(InferConfig(model=model, volume=str(volume), into=True, precision="fp32"))
    assert result.path == volume.absolute()
    group = zarr.open_group(volume, mode="r")
    np.testing.assert_allclose(group["velocity"][...], (normalized_volume(survey[0]) + 1) * 1500 + 1500, atol=2e-3)
    with pytest.raises(OutputExistsError, match="velocity"):
        run_infer(InferConfig(model=model, volume=str(volume), into=True, precision="fp32"))
    run_infer(InferConfig(model=model, volume=str(volume), into=True, precision="fp32", overwrite=True))
    run_export(ExportConfig(source=volume, out=tmp_path / "v.sgy", variable="velocity"))
    with segyio.open(tmp_path / "v.sgy") as f:
        np.testing.assert_array_equal(segyio.tools.cube(f), group["velocity"][...])


def test_dead_traces_are_zero(shared_data, tmp_path):
    from seiscli.config.ingest import IngestConfig
    from seiscli.stages.ingest import run_ingest

    run_ingest(IngestConfig(segy=shared_data / "segy" / "f3-segysak" / "f3-withdead.sgy", out=tmp_path / "v.mdio"))
    model = save_identity_checkpoint(tmp_path / "m.safetensors", task="salt", size=(16, 12))
    infer(model, tmp_path / "v.mdio", tmp_path / "p.zarr", probabilities=True)
    store = zarr.open_group(tmp_path / "p.zarr", mode="r")
    dead = ~store["trace_mask"][...]
    assert dead.any() and not store["salt_probability"][...][dead].any()
    assert store["salt_probability"][...][~dead].min() > 0


def test_model_and_volume_must_fit(survey, tmp_path):
    volume = survey[0]
    model = save_identity_checkpoint(tmp_path / "m.safetensors", size=(16, 12))
    with pytest.raises(ConfigError, match="trained on inline sections, not crossline"):
        infer(model, volume, tmp_path / "a.zarr", axis="crossline")
    with pytest.raises(ConfigError, match="2D windows"):
        infer(model, volume, tmp_path / "a.zarr", patch="8x8x8")
    with pytest.raises(NotAnArtifactError, match="does not exist"):
        infer(tmp_path / "missing.safetensors", volume, tmp_path / "a.zarr")
    with pytest.raises(NotAnArtifactError, match="does not exist"):
        infer(model, tmp_path / "missing.mdio", tmp_path / "a.zarr")
    (tmp_path / "taken.zarr").mkdir()
    with pytest.raises(OutputExistsError, match="already exists"):
        infer(model, volume, tmp_path / "taken.zarr")
    with pytest.raises(ConfigError, match="does not exist"):
        infer(model, volume, tmp_path / "no" / "p.zarr")
    card = read_card(model)
    from safetensors.torch import load_file

    weights = load_file(model)
    save_weights(tmp_path / "pre.safetensors", weights, {**card, "task": {"name": "pretrain"}})
    with pytest.raises(ConfigError, match="pretrained encoder"):
        infer(tmp_path / "pre.safetensors", volume, tmp_path / "a.zarr")
    two = identity_unet(1)
    two.stem[0][0].weight.data = two.stem[0][0].weight.data.repeat(1, 2, 1, 1)
    save_weights(tmp_path / "two.safetensors", two.state_dict(),
                 {**card, "model": {**card["model"], "kwargs": {**card["model"]["kwargs"], "in_channels": 2}},
                  "in_channels": 2})  # fmt: skip
    with pytest.raises(ConfigError, match="2 input channels"):
        infer(tmp_path / "two.safetensors", volume, tmp_path / "a.zarr")
    assert not (tmp_path / "a.zarr").exists()


def test_a_2d_line_takes_inline_sections_only(tmp_path):
    from seiscli.config.ingest import IngestConfig
    from seiscli.config.synth import SynthConfig
    from seiscli.stages.ingest import run_ingest
    from seiscli.stages.synth import run_synth

    run_synth(SynthConfig(kind="salt", out_dir=tmp_path / "s", shape=(40, 32), seed=1, workers=1))
    segy = next((tmp_path / "s").glob("*.sgy"))
    run_ingest(IngestConfig(segy=segy, out=tmp_path / "line.mdio", chunks=(16, 16)))
    crossline = save_identity_checkpoint(tmp_path / "x.safetensors", size=(16, 12), axes=("crossline",))
    with pytest.raises(ConfigError, match="2D line"):
        infer(crossline, tmp_path / "line.mdio", tmp_path / "a.zarr")
    model = save_identity_checkpoint(tmp_path / "m.safetensors", size=(16, 12))
    infer(model, tmp_path / "line.mdio", tmp_path / "p.zarr")
    velocity = zarr.open_group(tmp_path / "p.zarr", mode="r")["velocity"][...]
    assert velocity.shape == (40, 32)
    np.testing.assert_allclose(velocity, (normalized_volume(tmp_path / "line.mdio")[None] + 1)[0] * 1500 + 1500,
                               atol=2e-3)  # fmt: skip
