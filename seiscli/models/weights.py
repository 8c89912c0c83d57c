"""Pretrained backbone weights from a local file: nothing is downloaded at run time.

The file is a timm state dict (``.pth`` / ``.pt`` / ``.bin`` through ``torch.load(weights_only=True)``,
or ``.safetensors``), optionally wrapped as ``{"model": ...}`` or ``{"state_dict": ...}``. timm's own
checkpoint filter of the family runs first (it resamples a ViT's position embeddings to our grid and
converts the original DINOv2 / ConvNeXt / Swin layouts), then the stem is fitted to our input channels.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from seiscli.errors import ConfigError, InputNotFoundError

StateDict = dict[str, torch.Tensor]
TORCH_SUFFIXES = (".pth", ".pt", ".bin")


def read_state_dict(path: Path) -> StateDict:
    """The tensors of a ``.safetensors`` or torch file, unwrapped from a ``model``/``state_dict`` key."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path, device="cpu")
    if path.suffix not in TORCH_SUFFIXES:
        raise ConfigError(f"cannot read weights from {path.name}", hint="use a .safetensors, .pth, .pt or .bin file")
    state = torch.load(path, map_location="cpu", weights_only=True)
    for wrapper in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    return state


def adapt_stem(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Fit a stem kernel (O, I_file, kh, kw) to (O, in_channels, kh, kw) when the channel counts differ.

    The kernel is *summed* over the file's channels, not averaged: a grey image given to an RGB network
    as three equal channels produces exactly the activations of the summed kernel on one channel, so the
    pretrained feature statistics are kept (an average would scale them by 1/3). For several input
    channels (shots, attributes: nothing like R, G, B) the summed kernel is shared equally among them,
    which keeps the same property for an input that is equal on all channels.
    """
    if weight.shape[1] == in_channels:
        return weight
    summed = weight.sum(dim=1, keepdim=True)  # (O, 1, kh, kw)
    return summed.repeat(1, in_channels, 1, 1) / in_channels  # (O, in_channels, kh, kw)


def _fit_stem(state: StateDict, model: nn.Module) -> StateDict:
    first_conv = model.pretrained_cfg.get("first_conv")
    key = f"{first_conv}.weight"
    target = model.state_dict().get(key)
    if target is None or key not in state or state[key].ndim != 4:
        return state
    return {**state, key: adapt_stem(state[key], target.shape[1])}


def _check_fit(state: StateDict, expected: StateDict, path: Path) -> None:
    missing = sorted(k for k in expected if k not in state)
    if missing:
        raise ConfigError(
            f"weights file {path} lacks {len(missing)} tensors of the model, e.g. {', '.join(missing[:3])}",
            hint="the file must be a state dict of the same timm architecture",
        )
    wrong = [k for k in expected if state[k].shape != expected[k].shape]
    if wrong:
        k = wrong[0]
        raise ConfigError(
            f"weights file {path} does not fit the model: {k} is {tuple(state[k].shape)}, "
            f"the model needs {tuple(expected[k].shape)} ({len(wrong)} such tensors)",
            hint="check embed_dim / depth / patch size against the checkpoint",
        )


def load_backbone_weights(
    model: nn.Module, path: Path, checkpoint_filter: Callable[[StateDict, nn.Module], StateDict] | None = None
) -> list[str]:
    """Load ``path`` into the timm ``model``; return the file's keys the model has no use for (its head ...).

    Every tensor of the model must come from the file, with the right shape after the stem is adapted.
    """
    state = read_state_dict(path)
    if checkpoint_filter is not None:
        state = checkpoint_filter(state, model)
    state = _fit_stem(state, model)
    expected = model.state_dict()
    _check_fit(state, expected, path)
    model.load_state_dict({k: state[k] for k in expected})
    return sorted(k for k in state if k not in expected)
