"""seis pretrain with tiny masked autoencoders on tiny unlabelled stores: learning, corpus, init, resume, CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from seiscli.config.finetune import FinetuneConfig
from seiscli.config.pretrain import PretrainConfig
from seiscli.errors import ConfigError
from seiscli.stages.finetune import run_finetune
from seiscli.stages.info import run_info
from seiscli.stages.pretrain import run_pretrain
from seiscli.storage.dataset import DatasetLayout, assign_splits, create_dataset_store
from seiscli.training.checkpoint import read_card

sys.path.insert(0, os.path.dirname(__file__))
from test_finetune import assert_same_weights, blobs_dataset, kill_after_an_epoch_and_resume  # noqa: E402


def layers_dataset(path, n=64, shape=(56, 56), seed=0):
    """Unlabelled sections (time, lateral) or cubes (inline, crossline, time): dipping layers of random
    wavelength and dip, plus noise."""
    rng = np.random.default_rng(seed)
    axes = np.meshgrid(*(np.arange(s, dtype=np.float64) for s in shape), indexing="ij")
    time_axis = 0 if len(shape) == 2 else 2
    lateral = [a for k, a in enumerate(axes) if k != time_axis]
    x = np.empty((n, 1, *shape), np.float16)
    for i in range(n):
        dips = rng.uniform(-0.3, 0.3, len(lateral))
        depth = axes[time_axis] + sum(d * a for d, a in zip(dips, lateral))
        x[i, 0] = np.sin(2 * np.pi * depth / rng.uniform(6, 14) + rng.uniform(0, 6)) + rng.normal(0, 0.1, shape)
    group = create_dataset_store(
        path, DatasetLayout("pretrain", n, (1, *shape), None), {"normalization": {"method": "none"}}
    )
    group["x"][:] = x
    group["split"][:] = assign_splits(n, (0.75, 0.25, 0.0), rng)
    return path


def pretrain(tmp_path, datasets, name="run", **options):
    defaults = {"model": "tiny_mae_vit", "epochs": 2, "batch_size": 16, "workers": 0, "lr": 3e-3, "ema": None}
    datasets = [str(d) for d in datasets]
    return run_pretrain(PretrainConfig(datasets=datasets, out=tmp_path / name, **{**defaults, **options}))


def log_of(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """One 3-epoch run on two stores of 56 x 56 sections (4 x 4 patches of 14), with a preview."""
    folder = tmp_path_factory.mktemp("pretrain")
    stores = [layers_dataset(folder / "a.zarr", n=48), layers_dataset(folder / "b.zarr", n=32, seed=1)]
    pretrain(folder, stores, epochs=3, preview=folder / "preview.png")
    return folder


def test_the_loss_falls_and_the_checkpoint_says_what_it_is(pretrained):
    log = log_of(pretrained / "run")
    assert [entry["epoch"] for entry in log] == [1, 2, 3]
    assert log[-1]["train_loss"] < log[0]["train_loss"]
    assert log[-1]["val"]["loss"] < log[0]["val"]["loss"]
    card = read_card(pretrained / "run" / "best.safetensors")
    assert card["task"]["name"] == "pretrain" and card["model"]["name"] == "tiny_mae_vit"
    assert card["model"]["kwargs"]["mask_ratio"] == 0.75 and card["model"]["kwargs"]["img_size"] == 56
    assert card["encoder"] == {"prefix": "backbone.", "finetune_models": ["tiny_vit_dpt", "tiny_vit_linear",
                                                                          "tiny_vit_mla", "tiny_vit_pup"]}  # fmt: skip
    from seiscli.cli.info import format_facts

    facts = run_info(pretrained / "run" / "best.safetensors")
    assert facts["kind"] == "checkpoint" and facts["task"]["name"] == "pretrain"
    assert facts["encoder"]["finetune_models"][0] == "tiny_vit_dpt"
    text = format_facts(facts)
    assert "checkpoint of tiny_mae_vit (pretrain: masked-autoencoder pretraining), samples 1x56x56" in text
    assert "seis finetune --init with: tiny_vit_dpt, tiny_vit_linear" in text and "made by    seis pretrain" in text


def test_two_stores_are_one_corpus(pretrained):
    from seiscli.data.loader import make_loader

    stores = [str(pretrained / "a.zarr"), str(pretrained / "b.zarr")]
    card = read_card(pretrained / "run" / "last.safetensors")
    assert [(c["path"], c["samples"]) for c in card["corpus"]] == [(stores[0], 48), (stores[1], 32)]
    loader = make_loader(stores, "train", 8, 0, shuffle=False, inputs_only=True)
    singles = [make_loader(s, "train", 8, 0, shuffle=False).dataset for s in stores]
    assert len(loader.dataset) == sum(len(d) for d in singles) == 60
    batches = torch.cat(list(loader))  # (60, 1, 56, 56): the first store's train samples, then the second's
    expected = torch.cat([torch.stack([d[k] for k in range(len(d))]) for d in singles])
    assert torch.equal(batches, expected)


def test_a_tile_folder_without_masks_preprocesses_to_a_pretraining_store(tmp_path):
    from seiscli.config.preprocess import PreprocessConfig
    from seiscli.stages.preprocess import run_preprocess

    (tmp_path / "tiles" / "images").mkdir(parents=True)
    tiles = np.random.default_rng(0).normal(size=(24, 30, 30)).astype(np.float32)
    for k, tile in enumerate(tiles):
        np.save(tmp_path / "tiles" / "images" / f"t{k:02d}.npy", tile)
    result = run_preprocess(PreprocessConfig(inputs=[str(tmp_path / "tiles")], out=tmp_path / "tiles.zarr"))
    assert result.task == "pretrain"
    pretrain(tmp_path, [tmp_path / "tiles.zarr"], epochs=1, batch_size=8)  # 30 x 30 tiles padded to 42: 3 x 3 patches
    assert read_card(tmp_path / "run" / "last.safetensors")["model"]["kwargs"]["img_size"] == 42


def test_a_pretraining_checkpoint_is_no_task_model(tmp_path, pretrained):
    from seiscli.config.evaluate import EvaluateConfig
    from seiscli.stages.evaluate import run_evaluate

    data = blobs_dataset(tmp_path / "salt.zarr", n=16, size=56)
    with pytest.raises(ConfigError, match="pretrained encoder"):
        run_evaluate(EvaluateConfig(model=pretrained / "run" / "best.safetensors", dataset=str(data), workers=0))
    with pytest.raises(ConfigError, match="no classes to fine-tune"):
        run_finetune(FinetuneConfig(dataset=str(data), out=tmp_path / "ft", task="salt", model="tiny_mae_vit"))


def test_stores_of_other_shapes_or_kinds_are_refused(tmp_path, pretrained):
    small = layers_dataset(tmp_path / "small.zarr", n=16, shape=(28, 28))
    with pytest.raises(ConfigError, match="differ in shape"):
        pretrain(tmp_path, [pretrained / "a.zarr", small])
    with pytest.raises(ConfigError, match="not a masked autoencoder"):
        pretrain(tmp_path, [small], model="tiny_vit_mla")
    with pytest.raises(ConfigError, match="takes cubes"):
        pretrain(tmp_path, [small], model="tiny_mae_vit3d")


def test_the_preview_shows_inputs_masks_and_reconstructions(pretrained):
    from PIL import Image

    image = Image.open(pretrained / "preview.png")
    assert image.format == "PNG" and image.height > image.width  # four rows of three panels
    assert np.asarray(image.convert("L")).std() > 10


def test_finetune_init_takes_the_encoder_as_it_is(tmp_path, pretrained):
    labelled = blobs_dataset(tmp_path / "salt.zarr", n=48, size=56)
    cfg = FinetuneConfig(dataset=str(labelled), out=tmp_path / "ft", task="salt", model="tiny_vit_linear", epochs=1,
                         batch_size=16, workers=0, init=pretrained / "run" / "best.safetensors", freeze=True,
                         ema=None)  # fmt: skip
    run_finetune(cfg)
    encoder = {k: v for k, v in load_file(pretrained / "run" / "best.safetensors").items() if k.startswith("backbone.")}
    tuned = load_file(tmp_path / "ft" / "last.safetensors")
    assert encoder and encoder.keys() <= tuned.keys()
    changed = [k for k in encoder if not torch.equal(encoder[k], tuned[k])]
    assert changed == []


def test_finetune_init_resamples_the_position_grid(tmp_path):
    from timm.layers import resample_abs_pos_embed

    pretrain(tmp_path, [layers_dataset(tmp_path / "s.zarr", n=32, shape=(28, 28))], epochs=1)  # 2 x 2 patches
    labelled = blobs_dataset(tmp_path / "salt.zarr", n=48, size=56)
    cfg = FinetuneConfig(dataset=str(labelled), out=tmp_path / "ft", task="salt", model="tiny_vit_mla", epochs=1,
                         batch_size=16, workers=0, init=tmp_path / "run" / "best.safetensors", freeze=True,
                         ema=None)  # fmt: skip
    run_finetune(cfg)
    key = "backbone.model.pos_embed"
    pretrained, tuned = (
        load_file(tmp_path / "run" / "best.safetensors"),
        load_file(tmp_path / "ft" / "last.safetensors"),
    )
    assert pretrained[key].shape == (1, 1 + 2 * 2, 32) and tuned[key].shape == (1, 1 + 4 * 4, 32)
    expected = resample_abs_pos_embed(pretrained[key], new_size=(4, 4), old_size=(2, 2), num_prefix_tokens=1)
    torch.testing.assert_close(tuned[key], expected)
    others = [k for k in pretrained if k.startswith("backbone.") and k != key]
    assert others and all(torch.equal(pretrained[k], tuned[k]) for k in others)


def test_a_vit8_encoder_fine_tunes_under_a_unetr_decoder_on_its_own_grid(tmp_path):
    """101 x 101 samples: the MAE learns a 13 x 13 grid, the UNETR segmenter is built on that very grid."""
    pretrain(tmp_path, [layers_dataset(tmp_path / "s.zarr", n=32, shape=(101, 101))], model="tiny_mae_vit8", epochs=1)
    labelled = blobs_dataset(tmp_path / "salt.zarr", n=32, size=101)
    cfg = FinetuneConfig(dataset=str(labelled), out=tmp_path / "ft", task="salt", model="tiny_vit8_unetr", epochs=1,
                         batch_size=16, workers=0, init=tmp_path / "run" / "best.safetensors", freeze=True,
                         ema=None)  # fmt: skip
    run_finetune(cfg)
    pretrained = load_file(tmp_path / "run" / "best.safetensors")
    tuned = load_file(tmp_path / "ft" / "last.safetensors")
    assert tuned["backbone.model.pos_embed"].shape == (1, 1 + 13 * 13, 32)
    encoder = [k for k in pretrained if k.startswith("backbone.")]
    changed = [k for k in encoder if not torch.equal(pretrained[k], tuned[k])]
    assert encoder and changed == []
    assert read_card(tmp_path / "ft" / "last.safetensors")["model"]["kwargs"]["img_size"] == 104


def test_cubes_pretrain_and_fine_tune(tmp_path):
    cubes = layers_dataset(tmp_path / "cubes.zarr", n=24, shape=(12, 12, 16))  # 3 x 3 x 4 patches of 4
    pretrain(tmp_path, [cubes], model="tiny_mae_vit3d", batch_size=8, preview=tmp_path / "cubes.png")
    assert all(np.isfinite(entry["train_loss"]) for entry in log_of(tmp_path / "run"))
    assert (tmp_path / "cubes.png").stat().st_size > 0
    card = read_card(tmp_path / "run" / "best.safetensors")
    assert card["sample_shape"] == [1, 12, 12, 16] and card["encoder"]["finetune_models"] == ["tiny_vit3d_linear"]
    from seiscli.models import create_model
    from seiscli.stages.finetune import _load_init

    segmenter = create_model("tiny_vit3d_linear", num_classes=3)
    _load_init(segmenter, tmp_path / "run" / "best.safetensors", None)
    weights = load_file(tmp_path / "run" / "best.safetensors")
    assert all(torch.equal(v, weights[k]) for k, v in segmenter.state_dict().items() if k.startswith("backbone."))


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    data = layers_dataset(tmp_path / "d.zarr", n=64)

    def command(out):  # both runs in fresh processes, with the same threads
        return [sys.executable, "-m", "seiscli", "pretrain", str(data), str(tmp_path / out), "--model", "tiny_mae_vit",
                "--epochs", "3", "--batch-size", "16", "--workers", "0", "--lr", "3e-3", "--ema", "0.9",
                "--mask-ratio", "0.5", "-q"]  # fmt: skip

    straight = subprocess.run(command("straight"), capture_output=True, text=True)
    assert straight.returncode == 0 and straight.stdout == f"{tmp_path / 'straight'}\n", straight.stderr
    kill_after_an_epoch_and_resume(command, tmp_path / "killed")
    assert_same_weights(tmp_path / "straight" / "last.safetensors", tmp_path / "killed" / "last.safetensors")
    assert [e["train_loss"] for e in log_of(tmp_path / "straight")] == [
        e["train_loss"] for e in log_of(tmp_path / "killed")
    ]


def test_command_passes_its_flags(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import seiscli.stages.pretrain as stage
    from seiscli.cli.main import app
    from seiscli.stages.training import TrainingResult

    received = []

    def fake(cfg, invocation, progress):
        received.append(cfg)
        return TrainingResult(cfg.out, 3, {"loss": 0.5}, 1.0)

    monkeypatch.setattr(stage, "run_pretrain", fake)
    (tmp_path / "opts.toml").write_text("[pretrain]\ndecoder = 1\n")
    args = ["pretrain", "a.zarr", "b.zarr", str(tmp_path / "out"), "--mask-ratio", "0.6", "--model", "tiny_mae_vit",
            "--preview", "p.png", "--accumulate", "2", "--json"]  # fmt: skip
    done = CliRunner().invoke(app, args, env={"SEIS_PRETRAIN_EPOCHS": "7"})
    assert done.exit_code == 0, done.output
    cfg = received[0]
    assert cfg.datasets == ["a.zarr", "b.zarr"] and cfg.out == tmp_path / "out" and cfg.mask_ratio == 0.6
    assert (cfg.epochs, cfg.accumulate, cfg.batch_size, str(cfg.preview)) == (7, 2, 64, "p.png")
    assert json.loads(done.stdout) == {
        "path": str(tmp_path / "out"),
        "epochs": 3,
        "best": {"loss": 0.5},
        "seconds": 1.0,
    }
    bad = CliRunner().invoke(app, [*args[:4], "--config", str(tmp_path / "opts.toml")])
    assert bad.exit_code == 1 and "decoder" in bad.output
    ratio = CliRunner().invoke(app, [*args[:4], "--mask-ratio", "1"])
    assert ratio.exit_code == 1 and "--mask-ratio" in ratio.output
