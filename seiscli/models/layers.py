"""Small building blocks shared by the model families: conv blocks, padding to a multiple, the classifier.

Every model pads its input on the bottom and right to a multiple of its total stride (``pad_to_multiple``),
runs on the padded map and crops its logits back (``crop``): a 101 x 101 TGS tile and a 64 x 64 patch
go through the same code. The padding mirrors the section.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("batch", "group")


def make_norm(norm: str, channels: int) -> nn.Module:
    """BatchNorm, or GroupNorm with at most 8 groups (for batches of one or two patches)."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(math.gcd(channels, 8), channels)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


class ConvNormAct(nn.Sequential):
    """3x3 (or ``kernel``) convolution, normalization, ReLU; keeps H and W."""

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch", kernel: int = 3):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """Two ConvNormAct: the U-Net block."""

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch"):
        super().__init__(ConvNormAct(in_channels, out_channels, norm), ConvNormAct(out_channels, out_channels, norm))


def padded_size(size: tuple[int, int], multiple: int) -> tuple[int, int]:
    """``size`` rounded up to a multiple of ``multiple`` on both axes."""
    return tuple(-(-s // multiple) * multiple for s in size)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Mirror-pad the bottom and right of ``x`` (B, C, H, W) to (B, C, Hp, Wp), multiples of ``multiple``.

    Mirroring continues the reflectors past the edge, where zeros would draw a false boundary that
    the network would learn to see near every bottom and right edge.
    """
    height, width = x.shape[-2:]
    padded_h, padded_w = padded_size((height, width), multiple)
    if (padded_h, padded_w) == (height, width):
        return x
    pad = (0, padded_w - width, 0, padded_h - height)
    mode = "reflect" if padded_h - height < height and padded_w - width < width else "replicate"
    return F.pad(x, pad, mode=mode)  # (B, C, Hp, Wp)


def crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The top-left (H, W) of ``x`` (B, K, Hp, Wp): undoes ``pad_to_multiple``."""
    return x[..., : size[0], : size[1]]  # (B, K, H, W)


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``x`` (B, C, h, w) to (B, C, *size); a no-op when already that size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def new_classifier(old: nn.Conv2d, num_classes: int) -> nn.Conv2d:
    """A freshly initialized 1x1 classifier with ``old``'s inputs, device and dtype, for ``reset_head``."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return nn.Conv2d(old.in_channels, num_classes, 1).to(device=old.weight.device, dtype=old.weight.dtype)


def set_card_kwarg(model: nn.Module, key: str, value) -> None:
    """Keep ``model.card_args`` describing the model after it was changed in place (e.g. ``reset_head``)."""
    card = getattr(model, "card_args", None)
    if card is not None:
        card["kwargs"][key] = value


def size_pair(value, name: str) -> tuple[int, int]:
    """``value`` (H, W) as two positive ints; a checkpoint card gives it back as a list."""
    pair = tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{name} must be two positive sizes (H, W), got {value!r}")
    return pair
