"""An exported ONNX model made smaller and faster with ONNX Runtime's quantization, behind an accuracy gate.

Modes:

- ``static``: INT8 QDQ, per-channel weights, activations calibrated on samples of a dataset store
  (unsigned 8-bit activations and signed weights, the pairing x86 VNNI kernels run fastest). What
  convolutional models want. Upsampling transposed convolutions are first rewritten into operators
  with INT8 kernels (``rewrite.py``).
- ``dynamic``: INT8 weights of the MatMul / Gemm layers, activations quantized on the fly. What
  transformers want; convolutions stay float, since dynamic INT8 convolutions run several times slower.
- ``fp16``: the whole graph in float16, inputs and outputs kept float32 (for GPUs).

``seis quantize --mode auto`` is not a mode here: it tries each of ``int8_modes`` and measures.

The dynamo export is first run through ``quant_pre_process`` (shape inference and graph optimization),
which ONNX Runtime's quantizers need to see every tensor's shape.
"""

import contextlib
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from seiscli.deploy.runtime import CARD_KEY, INPUT, import_onnxruntime
from seiscli.errors import ConfigError

MODES = ("static", "dynamic", "fp16")
MATRIX_OPS = ("MatMul", "Gemm")


def int8_modes(model_path: Path) -> tuple[str, ...]:
    """The INT8 modes worth trying on a model: dynamic only quantizes matrix products."""
    import onnx

    ops = {node.op_type for node in onnx.load(str(model_path), load_external_data=False).graph.node}
    return ("static", "dynamic") if ops & set(MATRIX_OPS) else ("static",)


def quantize(source: Path, target: Path, mode: str, calibration: Iterator[np.ndarray] | None = None) -> str:
    """Write the ``mode`` version of ``source`` to ``target`` (metadata kept); returns the mode used."""
    if mode not in MODES:
        raise ConfigError(f"unknown quantization mode {mode!r}", f"one of: {', '.join(MODES)}")
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        _prepare(source, prepared)
        if mode == "static":
            if calibration is None:
                raise ConfigError("static quantization needs calibration samples: give --calibration DATASET")
            _rewrite_for_int8(prepared)
            _static(prepared, target, calibration)
        elif mode == "dynamic":
            _dynamic(prepared, target)
        else:
            _float16(prepared, target)
    _copy_metadata(source, target)
    return mode


def _prepare(source: Path, prepared: Path) -> None:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with contextlib.redirect_stdout(io.StringIO()):
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=False)


def _rewrite_for_int8(prepared: Path) -> None:
    import onnx

    from seiscli.deploy.rewrite import transposed_convs_as_depth_to_space

    model = onnx.load(str(prepared))
    if transposed_convs_as_depth_to_space(model):
        onnx.save(model, str(prepared))


class _Samples:
    """ONNX Runtime's calibration reader over batches of normalized samples (B, C, *S)."""

    def __init__(self, batches: Iterator[np.ndarray]):
        self.batches = iter(batches)

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {INPUT: np.ascontiguousarray(batch, dtype=np.float32)}


def _static(prepared: Path, target: Path, calibration: Iterator[np.ndarray]) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    import_onnxruntime()
    quantize_static(str(prepared), str(target), _Samples(calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)  # fmt: skip


def _dynamic(prepared: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(prepared), str(target), op_types_to_quantize=list(MATRIX_OPS), weight_type=QuantType.QInt8)


def _float16(prepared: Path, target: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    onnx.save(convert_float_to_float16(onnx.load(str(prepared)), keep_io_types=True), str(target))


def _copy_metadata(source: Path, target: Path) -> None:
    """The quantizers rebuild the model; the card must stay with it."""
    import onnx

    card = {p.key: p.value for p in onnx.load(str(source), load_external_data=False).metadata_props}.get(CARD_KEY)
    proto = onnx.load(str(target))
    kept = [p for p in proto.metadata_props if p.key != CARD_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    if card is not None:
        proto.metadata_props.add(key=CARD_KEY, value=card)
    onnx.save(proto, str(target))
