"""Checkpoints: one self-describing safetensors file, and the resumable state beside it.

The weights file carries a model card in its metadata (``seis.card``: registry name and
constructor arguments, task, classes, input channels, patch size, normalization, training
config, best metrics, provenance), so loading needs nothing but the file. Resumable training
state (optimizer, scheduler, EMA, RNG, epoch, step) sits beside it in ``<name>.state.pt``.

A LoRA fine-tune's checkpoint holds the base weights and the adapters together, and its card's
``model.lora`` says which adapters to apply before loading them; ``load_checkpoint(merge=True)``
returns the plain model with the adapters folded in, whose weights save as an ordinary checkpoint.
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


def build_model(model_card: dict[str, Any]):
    """The model a card's ``model`` entry describes: the registered model, with LoRA adapters when it has them."""
    from seiscli.models import create_model

    model = create_model(model_card["name"], **model_card["kwargs"])
    if "lora" in model_card:
        from seiscli.models.lora import LoraSettings, apply_lora

        apply_lora(model, LoraSettings.from_card(model_card["lora"]))
    return model


def load_checkpoint(path: Path, merge: bool = False):
    """(card, model with its weights loaded, in eval mode).

    A LoRA checkpoint comes back with its adapters; with ``merge`` they are folded into the base
    weights, which leaves the plain registered model (no PEFT layers), described by ``merged_card``.
    """
    from safetensors.torch import load_file

    card = read_card(path)
    model = build_model(card["model"])
    model.load_state_dict(load_file(str(path)))
    if merge and "lora" in card["model"]:
        from seiscli.models.lora import merge_lora

        model, card = merge_lora(model), merged_card(card)
    return card, model.eval()


def merged_card(card: dict[str, Any]) -> dict[str, Any]:
    """The card of a LoRA checkpoint's merged weights: a plain model, with the merged LoRA settings recorded."""
    model = {key: value for key, value in card["model"].items() if key != "lora"}
    return {**card, "model": model, "merged_lora": card["model"]["lora"]}


def plain_weights(path: Path) -> dict[str, Any]:
    """A checkpoint's weights as the plain registered model names them (a LoRA checkpoint's merged)."""
    from safetensors.torch import load_file

    if "lora" not in read_card(path)["model"]:
        return load_file(str(path))
    return load_checkpoint(path, merge=True)[1].state_dict()


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
