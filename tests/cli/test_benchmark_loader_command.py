"""``seis benchmark loader`` as a user runs it, and the flags its stage receives."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from seiscli.storage.dataset import DatasetLayout, create_dataset_store


def _store(path):
    """48 samples (1, 16, 16) of 3 classes, every fourth in val."""
    layout = DatasetLayout("facies", 48, (1, 16, 16), (16, 16), "uint8", class_names=["a", "b", "c"])
    group = create_dataset_store(path, layout, {})
    rng = np.random.default_rng(0)
    group["split"][:] = np.resize(np.array([0, 0, 0, 1], np.uint8), 48)
    group["x"][:] = rng.standard_normal((48, 1, 16, 16))
    group["y"][:] = rng.integers(0, 3, (48, 16, 16))
    return path


def _seis(*args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEIS_")}
    command = [sys.executable, "-m", "seiscli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_command_prints_one_json_object(tmp_path):
    """The real command in a subprocess, with its 2 worker processes: one JSON object on stdout."""
    path = _store(tmp_path / "d.zarr")
    done = _seis("benchmark", "loader", path, "--batches", 4, "--steps", 2, "--warmup", 1, "--batch-size", 8,
                 "--json", "-q", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["samples"] == 36 and report["workers"] == 2 and report["measured"] == "sequentially"
    assert report["loader"]["batches"] == 4 and report["train"]["steps"] == 2
    assert report["ratio"] == pytest.approx(report["loader"]["samples_per_s"] / report["train"]["samples_per_s"])


def test_command_passes_its_flags_and_prints_a_table(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import seiscli.stages.benchmark_loader as stage
    from seiscli.cli.main import app

    received = []

    def fake(cfg, progress):
        received.append(cfg)
        return stage.LoaderBenchmark(cfg.dataset, cfg.split, 36, (1, 16, 16), "float16", cfg.batch_size, cfg.workers,
                                     cfg.augment, True, cfg.batches, 3000.0, cfg.steps, 200.0, "bf16")  # fmt: skip

    monkeypatch.setattr(stage, "run_loader_benchmark", fake)
    args = ["benchmark", "loader", str(tmp_path), "--split", "val", "--workers", "0", "--no-augment", "--cache-mb", "0"]
    done = CliRunner().invoke(app, args, env={"SEIS_BENCHMARK_LOADER_BATCH_SIZE": "8"})
    assert done.exit_code == 0, done.output
    cfg = received[0]
    assert (cfg.split, cfg.workers, cfg.augment, cfg.cache_mb, cfg.batch_size) == ("val", 0, False, 0, 8)
    assert "one after the other" in done.stdout
    assert "ratio loader/train" in done.stdout and "15.0x" in done.stdout
