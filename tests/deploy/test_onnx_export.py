"""seis export CHECKPOINT OUT.onnx: every tiny model through torch's dynamo exporter and real ONNX Runtime;
the card in the metadata; fp16 weights; the check that refuses; evaluate and infer on the ONNX file."""

import json

import numpy as np
import onnx
import pytest
import torch
import zarr
from onnx import numpy_helper

from seiscli.config.evaluate import EvaluateConfig
from seiscli.config.export import ExportConfig
from seiscli.config.infer import InferConfig
from seiscli.deploy.runtime import CARD_KEY, OnnxModel, load_model
from seiscli.errors import ConfigError, SeisError
from seiscli.models import create_model, list_models, model_entry
from seiscli.stages.evaluate import run_evaluate
from seiscli.stages.export import run_export
from seiscli.stages.infer import run_infer
from seiscli.training.checkpoint import save_weights
from seiscli.training.tasks import make_task
from tests.inference.conftest import save_identity_checkpoint

OWN_TESTS = ("seiscli.models.mae", "seiscli.models.vit3d")  # masked autoencoders have no task to export
TINY = [name for name in list_models("tiny_*") if model_entry(name).module not in OWN_TESTS]
SHOTS = 5


def save_tiny_checkpoint(path, name, lora=False):
    """A freshly initialized tiny model (BatchNorm statistics moved off their defaults) as a checkpoint."""
    torch.manual_seed(0)
    velocity = model_entry(name).takes_out_size
    options = {"in_channels": SHOTS, "out_size": (16, 16)} if velocity else {"num_classes": 3}
    model = create_model(name, **options)
    shape = [SHOTS, 48, 20] if velocity else [1, 40, 36]
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, *shape))  # running statistics of real batches, not 0 and 1
    if lora:
        from seiscli.models.lora import ATTENTION, LoraSettings, apply_lora

        apply_lora(model, LoraSettings(4, 8.0, 0.0, ATTENTION))
        with torch.no_grad():
            for key, parameter in model.named_parameters():
                if "lora_B" in key:
                    parameter.normal_()  # adapters that change the output
    task = make_task("velocity") if velocity else make_task("facies", ["a", "b", "c"])
    card = {"model": model.card_args, "task": task.spec(), "in_channels": shape[0], "sample_shape": shape}
    save_weights(path, model.state_dict(), card)
    return path


def export(source, out, **options):
    return run_export(ExportConfig(source=source, out=out, **options))


@pytest.mark.parametrize("name", TINY)
def test_every_tiny_model_runs_the_same_in_onnx_runtime(name, tmp_path):
    checkpoint = save_tiny_checkpoint(tmp_path / "m.safetensors", name)
    result = export(checkpoint, tmp_path / "m.onnx")
    assert result.difference <= 1e-3 and result.path.stat().st_size == result.bytes
    card, model = load_model(checkpoint)
    exported = OnnxModel(tmp_path / "m.onnx")
    for batch in (1, 5):  # the batch axis is dynamic
        x = torch.randn(batch, *card["sample_shape"])
        with torch.no_grad():
            expected = model(x)
        torch.testing.assert_close(exported(x), expected, atol=1e-4, rtol=1e-4)


def test_the_card_travels_in_the_metadata_and_fp16_halves_the_weights(tmp_path):
    checkpoint = save_tiny_checkpoint(tmp_path / "m.safetensors", "tiny_vit_dpt")
    full, half = export(checkpoint, tmp_path / "full.onnx"), export(checkpoint, tmp_path / "half.onnx", fp16=True)
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "full.onnx")).metadata_props}
    card, _ = load_model(checkpoint)
    assert json.loads(meta[CARD_KEY]) == card == load_model(tmp_path / "half.onnx")[0]
    weights = [sum(numpy_helper.to_array(t).nbytes for t in onnx.load(str(tmp_path / f)).graph.initializer)
               for f in ("full.onnx", "half.onnx")]  # fmt: skip
    assert weights[1] < 0.52 * weights[0] and half.bytes < full.bytes
    assert 0 < half.difference <= 1e-2 and full.difference < half.difference


def test_a_lora_checkpoint_exports_merged(tmp_path):
    checkpoint = save_tiny_checkpoint(tmp_path / "m.safetensors", "tiny_vit_linear", lora=True)
    export(checkpoint, tmp_path / "m.onnx")
    card, merged = load_model(checkpoint)  # adapters folded in
    assert "merged_lora" in card and "lora" not in card["model"]
    names = {node.op_type for node in onnx.load(str(tmp_path / "m.onnx")).graph.node}
    assert "MatMul" in names or "Gemm" in names
    x = torch.randn(2, *card["sample_shape"])
    with torch.no_grad():
        torch.testing.assert_close(OnnxModel(tmp_path / "m.onnx")(x), merged(x), atol=1e-4, rtol=1e-4)


def test_a_failed_check_writes_nothing(tmp_path):
    checkpoint = save_tiny_checkpoint(tmp_path / "m.safetensors", "tiny_unet")
    with pytest.raises(SeisError, match="nothing was written"):
        export(checkpoint, tmp_path / "m.onnx", fp16=True, tolerance=1e-9)
    assert list(tmp_path.iterdir()) == [checkpoint]


def test_kinds_of_source_and_output_must_match(tmp_path, survey):
    checkpoint = save_tiny_checkpoint(tmp_path / "m.safetensors", "tiny_unet")
    with pytest.raises(ConfigError, match="name the output \\*.onnx"):
        export(checkpoint, tmp_path / "m.sgy")
    with pytest.raises(ConfigError, match="only a checkpoint"):
        export(survey[0], tmp_path / "v.onnx")
    with pytest.raises(ConfigError, match="--fp16"):
        export(survey[0], tmp_path / "v.sgy", fp16=True)


def test_evaluate_gives_the_checkpoints_metrics(tmp_path):
    from tests.training.test_finetune import blobs_dataset

    dataset = blobs_dataset(tmp_path / "d.zarr", n=24, size=32)
    model = create_model("tiny_unet", num_classes=2)
    task = make_task("salt", ["background", "salt"])
    card = {"model": model.card_args, "task": task.spec(), "in_channels": 1, "sample_shape": [1, 32, 32]}
    save_weights(tmp_path / "m.safetensors", model.state_dict(), card)
    export(tmp_path / "m.safetensors", tmp_path / "m.onnx")
    scores = [run_evaluate(EvaluateConfig(model=tmp_path / name, dataset=str(dataset), split="train", workers=0,
                                          precision="fp32")).metrics for name in ("m.safetensors", "m.onnx")]  # fmt: skip
    assert scores[0]["matrix"] == scores[1]["matrix"]
    assert scores[0]["miou"] == pytest.approx(scores[1]["miou"], abs=1e-12)


def test_infer_runs_the_onnx_export_like_the_checkpoint(survey, tmp_path):
    checkpoint = save_identity_checkpoint(tmp_path / "m.safetensors", task="salt", size=(16, 12))
    export(checkpoint, tmp_path / "m.onnx")
    for name in ("m.safetensors", "m.onnx"):
        run_infer(InferConfig(model=tmp_path / name, volume=str(survey[0]), out=tmp_path / f"{name}.zarr",
                              precision="fp32", probabilities=True))  # fmt: skip
    torch_store, onnx_store = (zarr.open_group(tmp_path / f"{n}.zarr", mode="r") for n in ("m.safetensors", "m.onnx"))
    np.testing.assert_allclose(onnx_store["salt_probability"][...], torch_store["salt_probability"][...], atol=1e-3)
    with pytest.raises(ConfigError, match="keeps the window it was exported with"):
        run_infer(InferConfig(model=tmp_path / "m.onnx", volume=str(survey[0]), out=tmp_path / "x.zarr",
                              patch=(8, 8)))  # fmt: skip
