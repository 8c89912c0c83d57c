"""The INT8-friendly rewrite of transposed convolutions computes the same function in ONNX Runtime, and
leaves alone the ones it cannot express; a static INT8 U-Net then runs no float transposed convolution."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from seiscli.config.export import ExportConfig
from seiscli.deploy.quantize import quantize
from seiscli.deploy.rewrite import transposed_convs_as_depth_to_space
from seiscli.deploy.runtime import INPUT, import_onnxruntime
from seiscli.stages.export import run_export
from tests.deploy.test_onnx_export import save_tiny_checkpoint

C_IN, C_OUT = 3, 4


def transposed_conv_model(kernel: int, stride: int, pads: int = 0, bias: bool = True, group: int = 1):
    """x (2, 3, 5, 6) -> ConvTranspose -> Relu -> y, with random weights."""
    rng = np.random.default_rng(kernel * 10 + stride)
    weight = rng.normal(size=(C_IN, C_OUT // group, kernel, kernel)).astype(np.float32)
    initializers = [numpy_helper.from_array(weight, "w")]
    if bias:
        initializers.append(numpy_helper.from_array(rng.normal(size=C_OUT).astype(np.float32), "b"))
    inputs = ["x", "w", "b"] if bias else ["x", "w"]
    up = helper.make_node("ConvTranspose", inputs, ["up"], kernel_shape=[kernel, kernel], strides=[stride, stride],
                          pads=[pads] * 4, group=group)  # fmt: skip
    graph = helper.make_graph(
        [up, helper.make_node("Relu", ["up"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, C_IN, 5, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None, None, None])], initializers,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)


def run(model, x):
    ort = import_onnxruntime()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize(("kernel", "bias"), [(2, True), (2, False), (3, True)])
def test_a_non_overlapping_transposed_conv_becomes_conv_and_depth_to_space(kernel, bias):
    model = transposed_conv_model(kernel, kernel, bias=bias)
    x = np.random.default_rng(1).normal(size=(2, C_IN, 5, 6)).astype(np.float32)
    expected = run(model, x)
    assert transposed_convs_as_depth_to_space(model) == 1
    onnx.checker.check_model(model)
    ops = [node.op_type for node in model.graph.node]
    assert ops == ["Conv", "DepthToSpace", "Relu"]
    left = sorted(t.name for t in model.graph.initializer)
    assert left == sorted(["w/as_conv", "b/as_conv"] if bias else ["w/as_conv"])  # the old weights are gone
    result = run(model, x)
    assert result.shape == (2, C_OUT, 5 * kernel, 6 * kernel)
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("kernel", "stride", "pads", "group"), [(3, 2, 1, 1), (4, 2, 1, 1), (2, 2, 0, C_IN)])
def test_overlapping_padded_or_grouped_transposed_convs_are_left_alone(kernel, stride, pads, group):
    model = transposed_conv_model(kernel, stride, pads, group=group)
    before = model.SerializeToString()
    assert transposed_convs_as_depth_to_space(model) == 0
    assert model.SerializeToString() == before


def test_static_int8_unet_runs_its_upsampling_in_int8(tmp_path):
    checkpoint = save_tiny_checkpoint(tmp_path / "m.safetensors", "tiny_unet")
    run_export(ExportConfig(source=checkpoint, out=tmp_path / "m.onnx"))
    batches = (np.random.default_rng(i).normal(size=(4, 1, 40, 36)).astype(np.float32) for i in range(4))
    assert quantize(tmp_path / "m.onnx", tmp_path / "q.onnx", "static", batches) == "static"
    float_ops = [node.op_type for node in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    int8_ops = [node.op_type for node in onnx.load(str(tmp_path / "q.onnx")).graph.node]
    assert "ConvTranspose" in float_ops and "ConvTranspose" not in int8_ops and "DepthToSpace" in int8_ops
    x = np.random.default_rng(9).normal(size=(2, 1, 40, 36)).astype(np.float32)
    ort = import_onnxruntime()
    outputs = [ort.InferenceSession(str(tmp_path / name), providers=["CPUExecutionProvider"]).run(None, {INPUT: x})[0]
               for name in ("m.onnx", "q.onnx")]  # fmt: skip
    agreement = (outputs[0].argmax(1) == outputs[1].argmax(1)).mean()
    assert agreement > 0.95
