"""A task checkpoint to ONNX, checked in ONNX Runtime before it is kept.

torch's dynamo exporter traces the model (LoRA adapters merged first) on a batch of the card's sample
shape, with the batch axis dynamic; the window stays the one the model was trained on. The card goes
into the file's metadata (``seis.card``), so evaluate and infer can read it back. ``fp16`` stores the
weights as float16 and casts them back to float32 inside the graph: half the file, the same kernels
on every execution provider.

The check runs the saved file in ONNX Runtime on another batch size than the export's and compares
it with torch: the largest difference, relative to the output's largest magnitude (at least 1), must
stay within the tolerance, or nothing is written.
"""

import contextlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seiscli.deploy.runtime import CARD_KEY, INPUT, OUTPUT, OnnxModel
from seiscli.errors import ConfigError, MissingDependencyError, SeisError
from seiscli.storage.atomic import atomic_output, check_writable

TOLERANCE = {False: 1e-3, True: 1e-2}  # by fp16: fp32 kernels reorder sums; float16 weights round at 2^-11
EXPORT_BATCH, CHECK_BATCH = 2, 3


@dataclass
class OnnxExport:
    path: Path
    bytes: int
    seconds: float
    difference: float  # largest |onnx - torch| over max(1, largest |torch|)
    tolerance: float
    fp16: bool
    sample_shape: list[int]


def export_onnx(checkpoint: Path, out: Path, fp16: bool = False, tolerance: float | None = None,
                overwrite: bool = False) -> OnnxExport:  # fmt: skip
    """Export ``checkpoint`` to ``out`` and check it; raise (writing nothing) when the check fails."""
    from seiscli.training.checkpoint import load_checkpoint

    started = time.perf_counter()
    onnx = _import_onnx()
    check_writable(out, overwrite)
    card, model = load_checkpoint(checkpoint, merge=True)  # a LoRA checkpoint exports as the plain model
    if card["task"]["name"] == "pretrain":
        raise ConfigError(f"{checkpoint} is a pretrained encoder: it has no task to export",
                          "fine-tune it first: seis finetune DATASET OUT --task T --init CHECKPOINT")  # fmt: skip
    shape = [int(s) for s in card["sample_shape"]]
    tolerance = TOLERANCE[fp16] if tolerance is None else tolerance
    with atomic_output(out, overwrite) as tmp:
        _trace(model, shape).save(str(tmp))
        proto = onnx.load(str(tmp))
        if fp16:
            _float16_weights(proto)
        proto.metadata_props.add(key=CARD_KEY, value=json.dumps(card))
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        difference = _largest_difference(model, OnnxModel(tmp), shape)
        if not difference <= tolerance:
            raise SeisError(f"the ONNX model differs from the checkpoint by {difference:.2e} (relative), more than "
                            f"the tolerance {tolerance:.0e}; nothing was written",
                            "raise --tolerance if this is expected, or report the model")  # fmt: skip
    return OnnxExport(out, out.stat().st_size, time.perf_counter() - started, difference, tolerance, fp16, shape)


def _import_onnx():
    try:
        import onnx
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError:
        raise MissingDependencyError(
            "ONNX export needs onnx and onnxscript", hint="pip install 'seiscli[onnx]'"
        ) from None
    return onnx


def sample_batch(shape: list[int], batch: int, seed: int = 0) -> torch.Tensor:
    """(batch, C, *S) inputs in a normalized sample's range (seis scales amplitudes to [-1, 1])."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, *shape, generator=generator) / 3).clamp(-1, 1)


def _trace(model: torch.nn.Module, shape: list[int]):
    """The dynamo export of ``model`` on (B, *shape), B dynamic; the exporter's chatter kept off stdout."""
    batch = torch.export.Dim("batch", min=1, max=65536)
    with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        try:
            return torch.onnx.export(model, (sample_batch(shape, EXPORT_BATCH),), dynamo=True, optimize=True,
                                     input_names=[INPUT], output_names=[OUTPUT],
                                     dynamic_shapes={"x": {0: batch}}, verbose=False)  # fmt: skip
        except Exception as error:  # the exporter raises many kinds; the first line says which op failed
            raise SeisError(f"torch could not export this model to ONNX: {str(error).splitlines()[0]}") from error


def _largest_difference(model: torch.nn.Module, exported: OnnxModel, shape: list[int]) -> float:
    x = sample_batch(shape, CHECK_BATCH, seed=1)
    with torch.no_grad():
        expected = model(x).float()
    got = exported(x)
    return float((got - expected).abs().max() / max(1.0, float(expected.abs().max())))


def _float16_weights(proto: Any) -> None:
    """Store every float32 initializer as float16, cast back to float32 where the graph reads it."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    casts, kept = [], []
    for tensor in graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            kept.append(tensor)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), f"{tensor.name}__fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [tensor.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)  # the casts first: nodes stay in topological order
    del graph.node[:]
    graph.node.extend(nodes)
