"""Two CPU processes under torchrun follow the same loss curve as one process with the same global batch."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.torch import load_file

from seiscli.training.distributed import current_world, torchrun_command

sys.path.insert(0, os.path.dirname(__file__))
from test_finetune import blobs_dataset  # noqa: E402


def _run(dataset, out, *extra):
    command = [sys.executable, "-m", "seiscli", "finetune", str(dataset), str(out), "--task", "salt",
               "--model", "tiny_unet", "--epochs", "2", "--batch-size", "16", "--workers", "0",
               "--precision", "fp32", "--ema", "0.9", "--config", str(out.parent / "ce.toml"), *extra]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "RANK", "WORLD_SIZE"))}
    result = subprocess.run(command, capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_two_processes_equal_one(tmp_path):
    data = blobs_dataset(tmp_path / "d.zarr", n=96)
    # The full recipe: BatchNorm, batch-pooled Dice, class-weighted CE, Lovasz and augmentations all see
    # the global batch, so half a batch on each of two ranks trains like the whole batch in one process.
    (tmp_path / "ce.toml").write_text("[finetune]\ntask_options = {max_class_weight = 20, lovasz_weight = 0.5}\n")
    one = _run(data, tmp_path / "one")
    two = _run(data, tmp_path / "two", "--nproc-per-node", "2")
    assert one.stdout.strip() == str(tmp_path / "one") and two.stdout.strip() == str(tmp_path / "two")
    curves = [[json.loads(line)["train_loss"] for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
              for run in ("one", "two")]  # fmt: skip
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-4)
    val = [json.loads((tmp_path / run / "metrics.jsonl").read_text().splitlines()[-1])["val"] for run in ("one", "two")]
    assert val[0]["miou"] == pytest.approx(val[1]["miou"], abs=1e-3)  # val split sharded, matrices merged
    first, second = load_file(tmp_path / "one" / "last.safetensors"), load_file(tmp_path / "two" / "last.safetensors")
    assert all(np.allclose(first[k].numpy(), second[k].numpy(), atol=1e-4) for k in first)


def test_rank_from_torchrun_or_slurm():
    assert current_world({}).size == 1
    assert current_world({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}).rank == 1
    slurm = current_world({"SLURM_PROCID": "3", "SLURM_NTASKS": "4", "SLURM_LOCALID": "1",
                           "SLURM_JOB_NODELIST": "node[01-02]"})  # fmt: skip
    assert (slurm.rank, slurm.size, slurm.local_rank) == (3, 4, 1)


def test_torchrun_command_relaunches_the_same_command():
    command = torchrun_command(["finetune", "d", "o"], 2, 1, 0, None)
    assert command[1:3] == ["-m", "torch.distributed.run"] and "--nproc-per-node=2" in command
    assert command[-4:] == ["seiscli", "finetune", "d", "o"]


def test_two_processes_pretrain_like_one(tmp_path):
    """Masks too: each rank masks its rows of the global batch as one process masks the whole batch."""
    from test_pretrain import layers_dataset

    data = layers_dataset(tmp_path / "d.zarr", n=48)
    runs = {}
    for name, extra in (("one", []), ("two", ["--nproc-per-node", "2"])):
        command = [sys.executable, "-m", "seiscli", "pretrain", str(data), str(tmp_path / name), "--model",
                   "tiny_mae_vit", "--epochs", "2", "--batch-size", "8", "--workers", "0", "--precision", "fp32",
                   "--ema", "0.9", *extra]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "RANK", "WORLD_SIZE"))}
        result = subprocess.run(command, capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1"})
        assert result.returncode == 0, result.stderr[-2000:]
        runs[name] = [
            json.loads(line)["train_loss"] for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        ]
    np.testing.assert_allclose(runs["one"], runs["two"], rtol=1e-5)
    first, second = load_file(tmp_path / "one" / "last.safetensors"), load_file(tmp_path / "two" / "last.safetensors")
    for key in first:
        ours, theirs = first[key].numpy(), second[key].numpy()
        if key.endswith("attn.qkv.bias"):
            # The key bias shifts every attention logit of a query equally: softmax ignores it, its true gradient
            # is 0 and Adam turns the rounding noise left in it into full-size steps. Compare queries and values.
            third = len(ours) // 3
            ours, theirs = np.delete(ours, slice(third, 2 * third)), np.delete(theirs, slice(third, 2 * third))
        np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=key)
