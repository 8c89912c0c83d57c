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


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut around them (He et al. 2016)."""

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch"):
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(in_channels, out_channels, norm),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels),
        )
        self.shortcut = nn.Identity()
        if in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, bias=False), make_norm(norm, out_channels)
            )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))  # (B, C_out, H, W)


class SqueezeExcite(nn.Module):
    """Concurrent spatial and channel squeeze-and-excitation (scSE, Roy et al. 2018): the block's map
    reweighted per channel from its global context and per pixel across its channels; costs little."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(channels // reduction, 2)
        self.channel = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )
        self.spatial = nn.Sequential(nn.Conv2d(channels, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.channel(x) + x * self.spatial(x)  # (B, C, H, W)


def padded_size(size: tuple[int, ...], multiple: int) -> tuple[int, ...]:
    """``size`` rounded up to a multiple of ``multiple`` on every axis."""
    return tuple(-(-s // multiple) * multiple for s in size)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Mirror-pad the bottom and right of ``x`` (B, C, H, W) to (B, C, Hp, Wp), multiples of ``multiple``.

    Mirroring continues the reflectors past the edge, where zeros would draw a false boundary that
    the network would learn to see near every bottom and right edge. Cubes (B, C, D, H, W) are padded
    the same way on their three axes.
    """
    size = tuple(x.shape[2:])
    padded = padded_size(size, multiple)
    if padded == size:
        return x
    pad = [amount for s, p in zip(reversed(size), reversed(padded)) for amount in (0, p - s)]  # last axis first
    mode = "reflect" if all(p - s < s for s, p in zip(size, padded)) else "replicate"
    return F.pad(x, pad, mode=mode)  # (B, C, Hp, Wp) or (B, C, Dp, Hp, Wp)


def crop(x: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """The top-left (H, W) (or (D, H, W)) of ``x`` (B, K, *padded): undoes ``pad_to_multiple``."""
    return x[(..., *(slice(0, s) for s in size))]  # (B, K, H, W) or (B, K, D, H, W)


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


def sincos_positions(grid: tuple[int, ...], dim: int) -> torch.Tensor:
    """Fixed sine-cosine position embeddings (N, dim) of a token grid (2D or 3D), row-major like the tokens.

    Each axis gets an equal, even share of the channels: sines and cosines of its coordinate at
    geometrically spaced frequencies (Vaswani et al. 2017, per axis as in MAE); channels left over by
    the division stay 0. Nothing is learned, so any grid works.
    """
    per_axis = 2 * (dim // (2 * len(grid)))
    frequencies = 1.0 / 10000 ** (torch.arange(per_axis // 2) / max(per_axis // 2, 1))  # (F,)
    coordinates = torch.meshgrid(*(torch.arange(n, dtype=torch.float32) for n in grid), indexing="ij")
    parts = []
    for axis in coordinates:
        angles = axis.reshape(-1, 1) * frequencies  # (N, F)
        parts += [angles.sin(), angles.cos()]
    table = torch.cat(parts, dim=1)  # (N, per_axis * len(grid))
    return F.pad(table, (0, dim - table.shape[1]))  # (N, dim)
