"""seis finetune and seis evaluate with tiny models on tiny data: learning, resume, refusal."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from seiscli.config.evaluate import EvaluateConfig
from seiscli.config.finetune import FinetuneConfig
from seiscli.errors import ConfigError
from seiscli.stages.evaluate import run_evaluate
from seiscli.stages.finetune import run_finetune
from seiscli.storage.dataset import DatasetLayout, assign_splits, create_dataset_store
from seiscli.training.checkpoint import load_checkpoint, read_card


def blobs_dataset(path, n=96, size=32, seed=0, task="salt"):
    """Bright discs on noise: the salt is where the amplitude is high, learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    y = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        cy, cx, r = rng.integers(6, size - 6, 2).tolist() + [int(rng.integers(3, 8))]
        y[i] = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    x = (y[:, None] * 2.0 + rng.normal(0, 0.5, (n, 1, size, size))).astype(np.float16)
    layout = DatasetLayout(task, n, (1, size, size), (size, size), "uint8", class_names=["background", task])
    group = create_dataset_store(path, layout, {"normalization": {"method": "none"},
                                                "classFrequencies": {"background": 0.9, task: 0.1}})  # fmt: skip
    group["x"][:], group["y"][:] = x, y
    group["split"][:] = assign_splits(n, (0.7, 0.15, 0.15), rng)
    return path


def finetune(tmp_path, dataset, name="run", **options):
    defaults = {"model": "tiny_unet", "epochs": 3, "batch_size": 16, "workers": 0, "lr": 3e-3, "ema": 0.9}
    return run_finetune(
        FinetuneConfig(dataset=str(dataset), out=tmp_path / name, task="salt", **{**defaults, **options})
    )


def test_training_learns_and_writes_self_describing_checkpoints(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr", n=256)
    result = finetune(tmp_path, data, epochs=6, lr=1e-2, warmup_epochs=0.5)
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    epochs = [entry["epoch"] for entry in log]
    assert epochs == [1, 2, 3, 4, 5, 6]
    assert log[-1]["train_loss"] < log[0]["train_loss"]
    card = read_card(tmp_path / "run" / "best.safetensors")
    assert card["model"]["name"] == "tiny_unet" and card["task"]["name"] == "salt"
    assert card["normalization"] == {"method": "none"} and card["classes"] == ["background", "salt"]
    _, model = load_checkpoint(tmp_path / "run" / "best.safetensors")
    evaluated = run_evaluate(EvaluateConfig(model=tmp_path / "run" / "best.safetensors", dataset=str(data),
                                            split="test", workers=0))  # fmt: skip
    assert evaluated.metrics["miou"] > 0.6
    assert result.best["miou"] >= log[0]["val"]["miou"]


def test_same_seed_same_weights(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr")
    finetune(tmp_path, data, "a", epochs=2)
    finetune(tmp_path, data, "b", epochs=2)
    first, second = load_file(tmp_path / "a" / "last.safetensors"), load_file(tmp_path / "b" / "last.safetensors")
    assert all((first[k] == second[k]).all() for k in first)


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr", n=160)

    def command(out):  # both runs in fresh processes, with the same threads
        return [sys.executable, "-m", "seiscli", "finetune", str(data), str(tmp_path / out), "--task", "salt",
                "--model", "tiny_unet", "--epochs", "3", "--batch-size", "16", "--workers", "0", "--lr", "3e-3",
                "--ema", "0.9", "-q"]  # fmt: skip

    subprocess.run(command("straight"), check=True)
    kill_after_an_epoch_and_resume(command, tmp_path / "killed")
    assert_same_weights(tmp_path / "straight" / "last.safetensors", tmp_path / "killed" / "last.safetensors")


def test_a_model_is_refused_by_another_task(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr")
    finetune(tmp_path, data, epochs=1)
    faults = blobs_dataset(tmp_path / "f.zarr", task="fault")
    with pytest.raises(ConfigError, match="is a salt model"):
        run_evaluate(EvaluateConfig(model=tmp_path / "run" / "best.safetensors", dataset=str(faults), workers=0))
    with pytest.raises(ConfigError, match="prepared for 'fault'"):
        finetune(tmp_path, faults, "wrong")


def test_existing_run_needs_resume_or_overwrite(tmp_path):
    from seiscli.errors import OutputExistsError

    data = blobs_dataset(tmp_path / "d.zarr")
    finetune(tmp_path, data, epochs=1)
    with pytest.raises(OutputExistsError):
        finetune(tmp_path, data, epochs=1)
    with pytest.raises(ConfigError, match="nothing to resume"):
        finetune(tmp_path, data, "fresh", resume=True)


def test_init_and_freeze_keep_the_backbone(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr")
    finetune(tmp_path, data, "first", epochs=1)
    finetune(tmp_path, data, "second", epochs=1, init=tmp_path / "first" / "best.safetensors", freeze=True, ema=None)
    before, after = (
        load_file(tmp_path / "first" / "best.safetensors"),
        load_file(tmp_path / "second" / "last.safetensors"),
    )
    encoder = [k for k in before if not k.startswith(("ups.", "classifier.")) and before[k].dtype.is_floating_point
               and "running" not in k]  # fmt: skip
    head = [k for k in before if k.startswith("classifier.")]
    assert encoder and all((before[k] == after[k]).all() for k in encoder)
    assert any(not (before[k] == after[k]).all() for k in head)


class _Recorder:
    def __init__(self):
        self.titles, self.statuses = [], []

    def start(self, description, total):
        self.titles.append(description)

    def advance(self, amount=1, status=None):
        self.statuses.append(status)

    def log(self, message):
        pass


def test_progress_shows_the_running_loss_and_the_best_metric(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr", n=64)
    recorder = _Recorder()
    cfg = FinetuneConfig(dataset=str(data), out=tmp_path / "run", task="salt", model="tiny_unet", epochs=2,
                         batch_size=16, workers=0)  # fmt: skip
    run_finetune(cfg, progress=recorder)
    assert recorder.titles[0] == "epoch 1/2" and recorder.titles[1].startswith("epoch 2/2 (best miou 0.")
    assert all(status.startswith("loss ") for status in recorder.statuses if status)
    assert len([s for s in recorder.statuses if s]) >= 2


def test_binary_runs_calibrate_their_threshold_on_val(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr", n=128)
    result = finetune(tmp_path, data, epochs=2)
    card = read_card(tmp_path / "run" / "best.safetensors")
    calibration = card["calibration"]
    assert result.calibration == calibration and card["task"]["threshold"] == calibration["threshold"]
    assert read_card(tmp_path / "run" / "last.safetensors")["task"]["threshold"] == calibration["threshold"]
    assert calibration["val_miou"] >= calibration["val_miou_at_0.5"]
    evaluated = run_evaluate(EvaluateConfig(model=tmp_path / "run" / "best.safetensors", dataset=str(data),
                                            split="val", workers=0))  # fmt: skip
    assert evaluated.metrics["miou"] == pytest.approx(calibration["val_miou"], abs=2e-3)
    plain = finetune(tmp_path, data, name="plain", epochs=1, calibrate=False)
    assert plain.calibration is None and "calibration" not in read_card(tmp_path / "plain" / "best.safetensors")


def kill_after_an_epoch_and_resume(command, run: Path) -> None:
    """Start ``command(run.name)``, SIGKILL it once its first resumable state exists, then ``--resume`` it."""
    process = subprocess.Popen(command(run.name))
    state = run / "last.safetensors.state.pt"
    deadline = time.time() + 120
    while not state.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # mid-run, after the first complete epoch
    process.wait()
    resumed = subprocess.run([*command(run.name), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr


def assert_same_weights(first: Path, second: Path) -> None:
    ours, theirs = load_file(first), load_file(second)
    assert all(np.allclose(ours[k].numpy(), theirs[k].numpy(), atol=1e-6) for k in ours)
