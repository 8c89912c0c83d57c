"""Checkpoints: one self-describing safetensors file, and the resumable state beside it.

The weights file carries a model card in its metadata (``seis.card``: registry name and
constructor arguments, task, classes, input channels, patch size, normalization, training
config, best metrics, provenance), so loading needs nothing but the file. Resumable training
state (optimizer, scheduler, EMA, RNG, epoch, step) sits beside it in ``<name>.state.pt``.
"""

import json
import os
from pathlib import Path
from typing import Any

from seiscli.errors import NotAnArtifactError

CARD_KEY = "seis.card"
FORMAT = "seis-checkpoint/1"


def state_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".state.pt")


def save_weights(path: Path, state_dict: dict, card: dict[str, Any]) -> None:
    """Write weights + card atomically (temporary name, then rename)."""
    from safetensors.torch import save_file

    tensors = {name: tensor.detach().contiguous().cpu() for name, tensor in state_dict.items()}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    save_file(tensors, str(tmp), metadata={CARD_KEY: json.dumps({"format": FORMAT, **card}, default=str)})
    os.replace(tmp, path)


def read_card(path: Path) -> dict[str, Any]:
    """The model card of a checkpoint, without loading its weights."""
    from safetensors import safe_open

    if not Path(path).is_file():
        raise NotAnArtifactError(f"{path} does not exist", "check the checkpoint path")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for a foreign file
        raise NotAnArtifactError(
            f"{path} is not a safetensors checkpoint", "give a checkpoint written by seis"
        ) from exc
    if CARD_KEY not in metadata:
        raise NotAnArtifactError(f"{path} is a safetensors file without a seis model card")
    return json.loads(metadata[CARD_KEY])


def load_checkpoint(path: Path):
    """(card, model with its weights loaded, in eval mode)."""
    from safetensors.torch import load_file

    from seiscli.models import create_model

    card = read_card(path)
    model = create_model(card["model"]["name"], **card["model"]["kwargs"])
    model.load_state_dict(load_file(str(path)))
    return card, model.eval()


def save_state(checkpoint: Path, state: dict[str, Any]) -> None:
    """The resumable training state, written atomically beside ``checkpoint``."""
    import torch

    target = state_path(checkpoint)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, target)


def load_state(checkpoint: Path) -> dict[str, Any] | None:
    import torch

    target = state_path(checkpoint)
    return torch.load(target, weights_only=False) if target.is_file() else None
