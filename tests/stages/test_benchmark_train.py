"""seis benchmark train: real training steps of registered models, fp32 and bf16 in turns."""

import json

import pytest
from typer.testing import CliRunner

from seiscli.cli.main import app


def test_each_model_is_timed_in_each_precision():
    run = CliRunner().invoke(app, ["benchmark", "train", "--models", "tiny_unet,tiny_inversionnet", "--size", "32x32",
                                   "--batch-size", "2", "--steps", "1", "--warmup", "0", "--json"])  # fmt: skip
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)
    rows = {row["model"]: row for row in result["rows"]}
    assert list(rows) == ["tiny_unet", "tiny_inversionnet"]
    assert rows["tiny_unet"]["input_shape"] == [1, 32, 32] and rows["tiny_inversionnet"]["input_shape"] == [5, 1000, 70]
    for row in rows.values():
        fp32, bf16 = row["precisions"]["fp32"], row["precisions"]["bf16"]
        assert fp32["samples_per_s"] == pytest.approx(2 * fp32["steps_per_s"]) and bf16["steps_per_s"] > 0
        assert row["bf16_speedup"] == pytest.approx(bf16["steps_per_s"] / fp32["steps_per_s"])


def test_an_unknown_model_fails_before_any_work():
    run = CliRunner().invoke(app, ["benchmark", "train", "--models", "tiny_unet,no_such_model"])
    assert run.exit_code == 1 and "unknown model" in run.output
