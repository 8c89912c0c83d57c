"""seis benchmark model: one checkpoint in torch, bf16, ONNX Runtime and INT8 side by side, with metrics."""

import json

from typer.testing import CliRunner

from seiscli.cli.main import app
from tests.deploy.test_quantize import SIZE, signs_dataset
from tests.inference.conftest import save_identity_checkpoint


def test_every_contender_is_timed_and_scored(tmp_path):
    checkpoint = save_identity_checkpoint(tmp_path / "m.safetensors", task="salt", size=(SIZE, SIZE))
    dataset = signs_dataset(tmp_path / "d.zarr", train_gain=1.0)
    run = CliRunner().invoke(app, ["benchmark", "model", str(checkpoint), "--dataset", dataset, "--split", "val",
                                   "--batch-sizes", "1,4", "--runs", "2", "--plot", str(tmp_path / "b.png"),
                                   "--json"])  # fmt: skip
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)
    names = [row["name"] for row in result["rows"]]
    assert names == ["torch", "torch-bf16", "onnx", "onnx-int8-static"]  # no matrix products: static only
    assert result["quantization"] == ["static"]
    scores = {row["name"]: row["metric"] for row in result["rows"]}
    assert scores["torch"] == scores["onnx"] == 1.0 and scores["onnx-int8-static"] >= 0.99
    assert scores["torch-bf16"] >= 0.99  # bf16 rounds the smallest amplitudes' signs only
    for row in result["rows"]:
        assert set(row["batches"]) == {"1", "4"} and all(b["samples_per_s"] > 0 for b in row["batches"].values())
    onnx = next(row for row in result["rows"] if row["name"] == "onnx")
    assert onnx["batches"]["4"]["vs_onnx"] == 1.0
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


def test_unknown_contenders_are_refused(tmp_path):
    run = CliRunner().invoke(app, ["benchmark", "model", str(tmp_path / "m.safetensors"), "--contenders", "tensorrt"])
    assert run.exit_code == 1 and "unknown contender" in run.output
