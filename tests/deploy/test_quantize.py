"""seis quantize with real ONNX Runtime: the accuracy gate keeps a model whose metric holds and refuses one
whose calibration ruins it; auto tries static QDQ and dynamic INT8 matmuls where both apply; fp16."""

import numpy as np
import onnx
import pytest

from seiscli.config.export import ExportConfig
from seiscli.config.quantize import QuantizeConfig
from seiscli.deploy.quantize import int8_modes
from seiscli.deploy.runtime import load_model
from seiscli.errors import ConfigError
from seiscli.stages.export import run_export
from seiscli.stages.quantize import AccuracyGateError, run_quantize
from seiscli.storage.dataset import DatasetLayout, create_dataset_store
from tests.deploy.test_onnx_export import save_tiny_checkpoint
from tests.inference.conftest import save_identity_checkpoint

SIZE = 16


def signs_dataset(path, train_gain: float, n: int = 48):
    """Salt wherever the amplitude is positive, so the identity model (logits 0, x) scores mIoU 1.

    The train split, which calibrates, is ``train_gain`` times louder than the val split, which judges.
    """
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.5, (n, 1, SIZE, SIZE))
    split = np.repeat(np.array([0, 1], np.uint8), n // 2)
    x[split == 0] *= train_gain
    layout = DatasetLayout("salt", n, (1, SIZE, SIZE), (SIZE, SIZE), "uint8", class_names=["background", "salt"])
    group = create_dataset_store(path, layout, {"normalization": {"method": "none"}})
    group["x"][:], group["y"][:], group["split"][:] = x.astype(np.float16), (x[:, 0] > 0), split
    return str(path)


@pytest.fixture(scope="module")
def identity_onnx(tmp_path_factory):
    folder = tmp_path_factory.mktemp("identity")
    checkpoint = save_identity_checkpoint(folder / "m.safetensors", task="salt", size=(SIZE, SIZE))
    run_export(ExportConfig(source=checkpoint, out=folder / "m.onnx"))
    return folder / "m.onnx"


def quantize(model, out, dataset, **options):
    return run_quantize(QuantizeConfig(model=model, out=out, calibration=dataset, workers=0, **options))


def test_a_model_whose_metric_holds_is_kept_with_its_card(identity_onnx, tmp_path):
    result = quantize(identity_onnx, tmp_path / "q.onnx", signs_dataset(tmp_path / "d.zarr", train_gain=1.0))
    assert result.mode == "static" and not result.others  # no matrix products: dynamic is not tried
    assert result.before == pytest.approx(1.0)
    assert 0 <= result.drop <= 0.01 and result.after >= 0.99
    assert result.bytes_after == (tmp_path / "q.onnx").stat().st_size and result.ms_after > 0
    ops = {node.op_type for node in onnx.load(str(tmp_path / "q.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert load_model(tmp_path / "q.onnx")[0] == load_model(identity_onnx)[0]


def test_a_calibration_that_ruins_the_metric_writes_nothing_unless_forced(identity_onnx, tmp_path):
    """Calibrated on samples 1000x louder, the INT8 step is larger than most val amplitudes: they become 0."""
    dataset = signs_dataset(tmp_path / "d.zarr", train_gain=1000.0)
    with pytest.raises(AccuracyGateError, match="nothing was written"):
        quantize(identity_onnx, tmp_path / "q.onnx", dataset)
    assert not (tmp_path / "q.onnx").exists()
    forced = quantize(identity_onnx, tmp_path / "q.onnx", dataset, force=True)
    assert forced.drop > 0.1 and forced.forced and (tmp_path / "q.onnx").exists()


def test_auto_tries_static_and_dynamic_on_a_vit_and_keeps_the_faster(tmp_path):
    checkpoint = save_tiny_checkpoint(tmp_path / "m.safetensors", "tiny_vit_linear")
    run_export(ExportConfig(source=checkpoint, out=tmp_path / "m.onnx"))
    assert int8_modes(tmp_path / "m.onnx") == ("static", "dynamic")
    rng = np.random.default_rng(0)
    layout = DatasetLayout("facies", 16, (1, 40, 36), (40, 36), "uint8", class_names=["a", "b", "c"])
    group = create_dataset_store(tmp_path / "d.zarr", layout, {"normalization": {"method": "none"}})
    group["x"][:], group["y"][:] = rng.normal(0, 0.3, (16, 1, 40, 36)), rng.integers(0, 3, (16, 40, 36))
    group["split"][:] = np.zeros(16, np.uint8)
    dataset = str(tmp_path / "d.zarr")
    auto = quantize(tmp_path / "m.onnx", tmp_path / "auto.onnx", dataset, split="train", max_drop=1.0)
    tried = sorted([auto.mode, *(other["mode"] for other in auto.others)])
    assert tried == ["dynamic", "static"]
    assert auto.speedup >= auto.others[0]["speedup"]
    assert not list(tmp_path.glob(".seis-quantize-*"))  # the other candidate is not left behind
    dynamic = quantize(tmp_path / "m.onnx", tmp_path / "q.onnx", dataset, split="train", max_drop=1.0, mode="dynamic")
    ops = [node.op_type for node in onnx.load(str(tmp_path / "q.onnx")).graph.node]
    assert dynamic.mode == "dynamic" and not dynamic.others
    assert "MatMulInteger" in ops and "ConvInteger" not in ops and "Conv" in ops


def test_fp16_mode_halves_the_model_and_keeps_the_metric(identity_onnx, tmp_path):
    result = quantize(identity_onnx, tmp_path / "q.onnx", signs_dataset(tmp_path / "d.zarr", 1.0), mode="fp16")
    assert result.mode == "fp16" and result.drop <= 0.01
    weights = [t.data_type for t in onnx.load(str(tmp_path / "q.onnx")).graph.initializer]
    assert onnx.TensorProto.FLOAT16 in weights


def test_bad_inputs_are_clear_errors(identity_onnx, tmp_path):
    dataset = signs_dataset(tmp_path / "d.zarr", 1.0)
    with pytest.raises(ConfigError, match="takes an ONNX model"):
        quantize(tmp_path / "m.safetensors", tmp_path / "q.onnx", dataset)
    with pytest.raises(ConfigError, match="no test samples"):
        quantize(identity_onnx, tmp_path / "q.onnx", dataset, split="test")
