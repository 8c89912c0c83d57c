"""seis finetune --lora on tiny data: frozen base, trained adapters and decoder, evaluate, resume, DDP, the CLI."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from seiscli.config.base import resolve
from seiscli.config.evaluate import EvaluateConfig
from seiscli.config.finetune import FinetuneConfig
from seiscli.errors import ConfigError
from seiscli.models import create_model
from seiscli.stages.evaluate import run_evaluate
from seiscli.training.checkpoint import read_card

sys.path.insert(0, os.path.dirname(__file__))
from test_finetune import blobs_dataset, finetune  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "models"))
from test_lora import pretrained_like  # noqa: E402

MODEL = "tiny_vit_mla"


def base_name(key: str) -> str:
    """A LoRA checkpoint's name of a base tensor, as the plain model names it."""
    return key.replace(".base_layer.", ".")


def test_lora_run_keeps_the_base_and_trains_adapters_and_decoder(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr")
    finetune(tmp_path, data, "plain", model=MODEL, epochs=1, ema=None)
    start = load_file(tmp_path / "plain" / "best.safetensors")  # a seis checkpoint, encoder keys backbone.*
    result = finetune(
        tmp_path,
        data,
        "lora",
        model=MODEL,
        epochs=2,
        init=tmp_path / "plain" / "best.safetensors",
        lora=True,
        lora_rank=2,
        lora_alpha=4,
    )  # fmt: skip  (with EMA)
    tuned = load_file(tmp_path / "lora" / "last.safetensors")
    adapters = [k for k in tuned if ".lora_" in k]
    base = [k for k in tuned if k.startswith("backbone.") and k not in adapters]
    assert len(adapters) == 4 * 2 * 2 and any(".base_layer." in k for k in base)
    assert all(torch.equal(tuned[k], start[base_name(k)]) for k in base)  # bit-identical after EMA too
    assert all(tuned[k].abs().max() > 0 for k in adapters if ".lora_B." in k)  # B starts at zero
    decoder = [k for k in start if k.startswith("decoder.") and start[k].dtype.is_floating_point]
    assert decoder and all(not torch.equal(tuned[k], start[k]) for k in decoder if "running_" not in k)

    card = read_card(tmp_path / "lora" / "best.safetensors")
    assert card["model"]["lora"] == {"rank": 2, "alpha": 4.0, "dropout": 0.0, "targets": ["attn.qkv", "attn.proj"]}
    adapter_count = 4 * 2 * ((32 + 96) + (32 + 32))
    decoder_count = sum(p.numel() for p in create_model(MODEL).decoder.parameters())
    assert card["parameters"]["adapters"] == adapter_count == result.parameters["adapters"]
    assert card["parameters"]["trainable"] == adapter_count + decoder_count
    evaluated = run_evaluate(EvaluateConfig(model=tmp_path / "lora" / "best.safetensors", dataset=str(data),
                                            workers=0))  # fmt: skip
    assert 0 <= evaluated.metrics["miou"] <= 1 and evaluated.samples > 0


def test_lora_on_a_model_without_projections_is_refused(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr", n=32)
    with pytest.raises(ConfigError, match="tiny_unet has no backbone layers"):
        finetune(tmp_path, data, model="tiny_unet", lora=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lora": True, "freeze": True}, "--lora: cannot be combined with --freeze"),
        ({"lora_rank": 4}, "--lora-rank: is a LoRA setting: add --lora"),
        ({"lora": True, "lora_rank": 0}, "--lora-rank: Input should be greater than 0"),
        ({"lora": True, "lora_alpha": 0}, "--lora-alpha: Input should be greater than 0"),
        ({"lora": True, "lora_dropout": 1}, "--lora-dropout: Input should be less than 1"),
    ],
)
def test_bad_lora_options_are_one_line_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        resolve(FinetuneConfig, {"dataset": "d", "out": "o", "task": "salt", **options})


def _command(data, out, *extra):
    return [sys.executable, "-m", "seiscli", "finetune", str(data), str(out), "--task", "salt", "--model", MODEL,
            "--epochs", "2", "--batch-size", "16", "--workers", "0", "--lr", "3e-3", "--ema", "0.9",
            "--precision", "fp32", "--weights", str(out.parent / "vit.safetensors"), "--lora", "--lora-rank", "2",
            "--lora-alpha", "4", "--lora-mlp", "--json", "-q", *extra]  # fmt: skip


def _run(command):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "RANK", "WORLD_SIZE", "SEIS_"))}
    result = subprocess.run(command, capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_killed_lora_run_resumes_to_the_same_weights_and_two_processes_train_alike(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr", n=96)
    save_file(pretrained_like(create_model(MODEL)).backbone.model.state_dict(), tmp_path / "vit.safetensors")
    straight = json.loads(_run(_command(data, tmp_path / "straight")).stdout)
    assert straight["epochs"] == 2 and straight["parameters"]["adapters"] == 4 * 2 * (192 + 320)

    process = subprocess.Popen(_command(data, tmp_path / "killed"), stdout=subprocess.DEVNULL)
    state = tmp_path / "killed" / "last.safetensors.state.pt"
    deadline = time.time() + 300
    while not state.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # mid-run, after the first complete epoch
    process.wait()
    _run([*_command(data, tmp_path / "killed"), "--resume"])
    two = json.loads(_run([*_command(data, tmp_path / "two"), "--nproc-per-node", "2"]).stdout)
    assert two["parameters"] == straight["parameters"]

    first = load_file(tmp_path / "straight" / "last.safetensors")
    for run, tolerance in (("killed", 1e-6), ("two", 1e-4)):  # DDP: frozen base, adapters and decoder in sync
        other = load_file(tmp_path / run / "last.safetensors")
        assert all(np.allclose(first[k].numpy(), other[k].numpy(), atol=tolerance) for k in first), run
    weights = load_file(tmp_path / "vit.safetensors")
    # The base stays as loaded; only the position embedding was resampled on loading, to the samples' grid.
    base = [k for k in first if k.startswith("backbone.") and ".lora_" not in k and not k.endswith("pos_embed")]
    changed = [k for k in base if not torch.equal(first[k], weights[base_name(k).removeprefix("backbone.model.")])]
    assert base and changed == []


def test_command_passes_the_lora_flags(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import seiscli.stages.finetune as stage
    from seiscli.cli.main import app

    received = []

    def fake(cfg, invocation, progress):
        received.append(cfg)
        counts = {"total": 10, "trainable": 4, "adapters": 3}
        return stage.TrainingResult(cfg.out, 1, {"miou": 0.5}, 1.0, parameters=counts)

    monkeypatch.setattr(stage, "run_finetune", fake)
    args = ["finetune", "d.zarr", str(tmp_path / "run"), "--task", "salt", "--model", "vit_s16_mla", "--lora",
            "--lora-rank", "4", "--lora-alpha", "8", "--lora-mlp"]  # fmt: skip
    done = CliRunner().invoke(app, args, env={"SEIS_FINETUNE_LORA_DROPOUT": "0.1"})
    assert done.exit_code == 0, done.output
    cfg = received[0]
    assert (cfg.lora, cfg.lora_rank, cfg.lora_alpha, cfg.lora_mlp, cfg.lora_dropout) == (True, 4, 8.0, True, 0.1)
    assert "trainable parameters: 4 of 10 (3 in LoRA adapters)" in done.output
    refused = CliRunner().invoke(app, [*args, "--freeze"])
    assert refused.exit_code == 1 and "--lora: cannot be combined with --freeze" in refused.output
