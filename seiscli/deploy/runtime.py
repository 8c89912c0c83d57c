"""An exported ONNX model run by ONNX Runtime, in the place of a checkpoint.

``load_model(path)`` is what ``seis evaluate`` and ``seis infer`` call: a checkpoint gives the torch
model, a ``.onnx`` file an ``OnnxModel`` — a module that takes and returns torch tensors like the
network it was exported from, so the code around it does not change. Its card is the checkpoint's,
read from the ONNX metadata. The session runs on CUDA when onnxruntime-gpu sees a GPU, else on the CPU.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seiscli.errors import ConfigError, MissingDependencyError, NotAnArtifactError

CARD_KEY = "seis.card"  # metadata_props entry holding the checkpoint's card as JSON
INPUT, OUTPUT = "x", "logits"


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("onnxruntime is not installed", hint="pip install 'seiscli[onnx]'") from None
    return onnxruntime


def providers() -> list[str]:
    """CUDA first when this onnxruntime build has it and a GPU is there, the CPU always."""
    available = import_onnxruntime().get_available_providers()
    cuda = "CUDAExecutionProvider" in available and torch.cuda.is_available()
    return ["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]


def session(path: Path, threads: int | None = None):
    """An inference session on ``path`` with all graph optimizations, ``threads`` intra-op threads."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=providers())
    except Exception as error:  # onnxruntime raises its own Fail / InvalidGraph types
        raise NotAnArtifactError(f"{path} is not an ONNX model ONNX Runtime can run: {str(error).splitlines()[0]}",
                                 "export one with seis export CHECKPOINT OUT.onnx") from None  # fmt: skip


class OnnxModel(nn.Module):
    """An ONNX Runtime session as a module: (B, C, *S) float tensor -> the exported model's output tensor."""

    def __init__(self, path: Path, threads: int | None = None):
        super().__init__()
        self.path = Path(path)
        self.session = session(self.path, threads or torch.get_num_threads())
        meta = self.session.get_modelmeta().custom_metadata_map
        self.card = json.loads(meta[CARD_KEY]) if CARD_KEY in meta else None
        shape = self.session.get_inputs()[0].shape  # [batch, C, *S]: the batch symbolic, the rest fixed
        self.sample_shape = tuple(int(s) if isinstance(s, int) else None for s in shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.sample_shape:
            window = "x".join(map(str, self.sample_shape[1:]))
            raise ConfigError(f"an ONNX model keeps the window it was exported with, {window}, and "
                              f"{self.sample_shape[0]} channel(s)", f"use --patch {window}")  # fmt: skip
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())
        (output,) = self.session.run([OUTPUT], {INPUT: array})
        return torch.from_numpy(output)


def load_model(path: Path, merge: bool = True) -> tuple[dict[str, Any], nn.Module]:
    """(card, model in eval mode) of a checkpoint, or of an ONNX model exported from one."""
    if Path(path).suffix == ".onnx":
        if not Path(path).is_file():
            from seiscli.errors import InputNotFoundError

            raise InputNotFoundError(f"{path} does not exist")
        model = OnnxModel(path)
        if model.card is None:
            raise NotAnArtifactError(f"{path} has no seis model card in its metadata",
                                     "export the model with seis export CHECKPOINT OUT.onnx")  # fmt: skip
        return model.card, model.eval()
    from seiscli.training.checkpoint import load_checkpoint

    return load_checkpoint(path, merge=merge)
