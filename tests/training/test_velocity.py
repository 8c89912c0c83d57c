"""Velocity end to end as a user runs it: seis synth fwi -> preprocess -> finetune (InversionNet) -> evaluate.

Tiny records (16 x 16 models, 3 shots of 160 samples into 16 receivers) keep the chain to seconds; the
metrics ``seis evaluate`` reports are checked against the checkpoint's own predictions, in m/s."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from seiscli.config.evaluate import EvaluateConfig
from seiscli.config.finetune import FinetuneConfig
from seiscli.errors import ConfigError
from seiscli.stages.evaluate import run_evaluate
from seiscli.stages.finetune import run_finetune
from seiscli.storage.dataset import DatasetLayout, create_dataset_store, open_dataset
from seiscli.training.checkpoint import load_checkpoint, read_card
from seiscli.training.engine import autocast_context
from seiscli.training.tasks import make_task

SHOTS, SIZE = 3, 16
TEST = 2  # split code of the test samples


def _seis(*args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEIS_")}
    command = [sys.executable, "-m", "seiscli", *map(str, args)]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """The commands of the chain, run once: (dataset store, run folder, finetune's JSON report)."""
    folder = tmp_path_factory.mktemp("velocity")
    (folder / "synth.toml").write_text("[synth]\ntime_samples = 160\n")  # no flag: 1000 by default
    _seis("synth", "fwi", "fwi", "--count", 16, "--shape", f"{SIZE},{SIZE}", "--shots", SHOTS, "--receivers", SIZE,
          "--split", "0.5,0.25,0.25", "--workers", 1, "--config", "synth.toml", "-q", cwd=folder)  # fmt: skip
    _seis("preprocess", "fwi/dataset.zarr", "d.zarr", "-q", cwd=folder)
    trained = _seis("finetune", "d.zarr", "run", "--task", "velocity", "--model", "tiny_inversionnet", "--epochs", 4,
                    "--batch-size", 4, "--lr", "3e-3", "--workers", 0, "--json", "-q", cwd=folder)  # fmt: skip
    return folder / "d.zarr", folder / "run", json.loads(trained.stdout)


def _predict_test_split(checkpoint, dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, predictions in m/s, targets in m/s) of the test split, computed as ``seis evaluate`` does."""
    card, model = load_checkpoint(checkpoint)
    store = open_dataset(dataset)
    test = np.flatnonzero(store.group["split"][...] == TEST)
    x = torch.from_numpy(store.x[...][test].astype(np.float32))  # (N, S, T, R)
    autocast, _ = autocast_context(torch.device("cpu"), "auto")
    with torch.no_grad(), autocast:
        output = model(x).float()  # (N, 1, H, W) normalized
    velocity = make_task(**card["task"]).predict(output).numpy()  # (N, 1, H, W) m/s
    return x, velocity, store.y[...][test]


def test_chain_trains_and_evaluates_in_m_per_s(chain):
    dataset, run, report = chain
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert report["epochs"] == 4 and log[-1]["train_loss"] < log[0]["train_loss"]
    card = read_card(run / "best.safetensors")
    assert card["model"]["name"] == "tiny_inversionnet" and card["task"]["name"] == "velocity"
    assert card["model"]["kwargs"]["out_size"] == [SIZE, SIZE] and card["in_channels"] == SHOTS
    evaluated = _seis("evaluate", run / "best.safetensors", dataset, "--workers", 0, "--json", cwd=run)
    metrics = json.loads(evaluated.stdout)["metrics"]
    _, velocity, target = _predict_test_split(run / "best.safetensors", dataset)
    error = velocity.astype(np.float64) - target  # (N, 1, H, W) m/s
    assert metrics["pixels"] == error.size and metrics["maps"] == len(target) == 4
    assert metrics["mae"] == pytest.approx(np.abs(error).mean(), rel=1e-4)
    assert metrics["rmse"] == pytest.approx(np.sqrt((error**2).mean()), rel=1e-4)
    assert 10 < metrics["mae"] < 3000 and metrics["rmse"] >= metrics["mae"]  # m/s, not normalized units
    assert -1 < metrics["ssim"] < 1


def test_mirror_tta_also_reverses_the_shots(chain):
    dataset, run, _ = chain
    tta = run_evaluate(EvaluateConfig(model=run / "best.safetensors", dataset=str(dataset), workers=0, tta=True))
    card, model = load_checkpoint(run / "best.safetensors")
    x, velocity, target = _predict_test_split(run / "best.safetensors", dataset)
    autocast, _ = autocast_context(torch.device("cpu"), "auto")
    with torch.no_grad(), autocast:
        mirrored = model(x.flip((1, -1))).float().flip(-1)  # the record seen from the other end
    task = make_task(**card["task"])
    averaged = (task.normalize(torch.from_numpy(velocity)) + mirrored) / 2
    expected = np.abs(task.predict(averaged).numpy().astype(np.float64) - target).mean()
    assert tta.metrics["mae"] == pytest.approx(expected, rel=1e-4)


def test_a_model_of_the_input_size_is_refused_for_velocity(chain, tmp_path):
    dataset, _, _ = chain
    cfg = FinetuneConfig(dataset=str(dataset), out=tmp_path / "unet", task="velocity", model="tiny_unet", workers=0)
    with pytest.raises(ConfigError, match=r"input's size \(160, 16\), but .* has targets of \(16, 16\)") as refused:
        run_finetune(cfg)
    assert "inversionnet" in refused.value.hint and "swinv2_velocity_unet" in refused.value.hint


@pytest.mark.parametrize(
    ("shots", "size", "message"), [(SHOTS, 8, "predicts 16x16 maps"), (5, SIZE, "takes 3 input channels")]
)
def test_evaluate_refuses_data_of_other_shapes(chain, tmp_path, shots, size, message):
    _, run, _ = chain
    layout = DatasetLayout("velocity", 4, (shots, 160, SIZE), (1, size, size), x_dtype="float32")
    group = create_dataset_store(tmp_path / "other.zarr", layout, {"normalization": {"method": "none"}})
    group["split"][:] = TEST
    with pytest.raises(ConfigError, match=message):
        run_evaluate(EvaluateConfig(model=run / "best.safetensors", dataset=str(tmp_path / "other.zarr"), workers=0))
