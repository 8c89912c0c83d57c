"""U-Net (Ronneberger et al. 2015), the baseline of seismic segmentation: our own code, no timm.

``depth`` poolings, ``width`` channels at full resolution doubling at each level, BatchNorm or
GroupNorm, transposed-conv or bilinear upsampling; plain double-conv blocks, or residual blocks with
scSE attention (``res_unet``) for more accuracy at almost the same cost. Any H, W: the input is padded to a multiple
of ``2**depth`` and the logits cropped back, so a 101 x 101 TGS tile runs at 112 x 112.
"""

import itertools

import torch
from torch import nn

from seiscli.errors import ConfigError
from seiscli.models.layers import (
    DoubleConv,
    ResidualBlock,
    SqueezeExcite,
    crop,
    new_classifier,
    pad_to_multiple,
    padded_size,
    set_card_kwarg,
)
from seiscli.models.registry import card_args, register_model

UPSAMPLINGS = ("transpose", "bilinear")
BLOCKS = ("double", "residual")


def make_block(in_channels: int, out_channels: int, norm: str, block: str, attention: bool) -> nn.Module:
    """The U-Net's convolution block of one level, optionally followed by scSE attention."""
    if block not in BLOCKS:
        raise ValueError(f"block must be one of {BLOCKS}, got {block!r}")
    conv = (DoubleConv if block == "double" else ResidualBlock)(in_channels, out_channels, norm)
    return nn.Sequential(conv, SqueezeExcite(out_channels)) if attention else conv


class Up(nn.Module):
    """Upsample 2x to the skip's channels, concatenate the skip, DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, up: str, block: str = "double",
                 attention: bool = False):  # fmt: skip
        super().__init__()
        if up == "transpose":
            self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        elif up == "bilinear":
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, out_channels, 1),
            )
        else:
            raise ValueError(f"up must be one of {UPSAMPLINGS}, got {up!r}")
        self.conv = make_block(2 * out_channels, out_channels, norm, block, attention)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)  # (B, C_skip, 2h, 2w)
        return self.conv(torch.cat([x, skip], dim=1))  # (B, C_skip, 2h, 2w)


class UNet(nn.Module):
    """U-Net with the model interface: ``forward_features``, ``forward_head``, ``reset_head``."""

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        depth: int = 4,
        width: int = 16,
        norm: str = "batch",
        up: str = "transpose",
        block: str = "double",
        attention: bool = False,
    ):
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError(f"depth and width must be >= 1, got depth={depth}, width={width}")
        channels = [width * 2**level for level in range(depth + 1)]
        self.pad_multiple = 2**depth
        self.stem = make_block(in_channels, channels[0], norm, block, attention)
        self.downs = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), make_block(c_in, c_out, norm, block, attention))
            for c_in, c_out in itertools.pairwise(channels)
        )
        self.ups = nn.ModuleList(
            Up(c_in, c_out, norm, up, block, attention) for c_in, c_out in zip(channels[:0:-1], channels[-2::-1])
        )
        self.classifier = nn.Conv2d(channels[0], num_classes, 1)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder maps, finest first: [(B, w, Hp, Wp), (B, 2w, Hp/2, Wp/2), ..., (B, w 2^d, Hp/2^d, Wp/2^d)]."""
        x = pad_to_multiple(x, self.pad_multiple)  # (B, C, Hp, Wp)
        features = [self.stem(x)]  # (B, w, Hp, Wp)
        for down in self.downs:
            features.append(down(features[-1]))  # (B, 2C, h/2, w/2)
        return features

    def forward_head(self, features: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """Decode ``forward_features`` of an input of spatial ``size`` to logits (B, K, *size)."""
        if tuple(features[0].shape[-2:]) != padded_size(size, self.pad_multiple):
            raise ValueError(f"features of shape {tuple(features[0].shape)} do not come from an input of size {size}")
        x = features[-1]  # (B, w 2^d, Hp/2^d, Wp/2^d)
        for up, skip in zip(self.ups, reversed(features[:-1])):
            x = up(x, skip)  # (B, C_skip, 2h, 2w)
        return crop(self.classifier(x), size)  # (B, K, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, K, H, W)."""
        return self.forward_head(self.forward_features(x), tuple(x.shape[-2:]))

    def reset_head(self, num_classes: int) -> None:
        """A new, untrained classifier for ``num_classes``; the rest of the network is kept."""
        self.classifier = new_classifier(self.classifier, num_classes)
        set_card_kwarg(self, "num_classes", num_classes)


def _create_unet(**kwargs) -> UNet:
    if kwargs.pop("weights", None) is not None:
        raise ConfigError(
            "a U-Net has no pretrained backbone to load weights into",
            hint="start from a seis checkpoint instead, or choose a timm-backed model",
        )
    kwargs = {"in_channels": 1, "num_classes": 2, **kwargs}
    model = UNet(**kwargs)
    model.card_args = card_args(kwargs)
    return model


@register_model
def unet(**kwargs) -> UNet:
    """U-Net baseline: depth 4, width 16 (16..256 channels), BatchNorm, transposed conv; 1.94M parameters."""
    return _create_unet(**{"depth": 4, "width": 16, "norm": "batch", "up": "transpose", **kwargs})


@register_model
def unet_small(**kwargs) -> UNet:
    """U-Net at half the width of ``unet``: depth 4, width 8, bilinear upsampling; 0.45M parameters."""
    return _create_unet(**{"depth": 4, "width": 8, "norm": "batch", "up": "bilinear", **kwargs})


@register_model
def res_unet(**kwargs) -> UNet:
    """``unet`` with residual blocks and scSE attention: depth 4, width 16, BatchNorm; 2.09M parameters."""
    return _create_unet(**{"depth": 4, "width": 16, "norm": "batch", "up": "transpose", "block": "residual",
                           "attention": True, **kwargs})  # fmt: skip


@register_model
def tiny_res_unet(**kwargs) -> UNet:
    """Test-sized ``res_unet``: depth 3, width 4."""
    return _create_unet(**{"depth": 3, "width": 4, "norm": "batch", "up": "transpose", "block": "residual",
                           "attention": True, **kwargs})  # fmt: skip


@register_model
def tiny_unet(**kwargs) -> UNet:
    """Test-sized U-Net: depth 3, width 4, BatchNorm, transposed conv."""
    return _create_unet(**{"depth": 3, "width": 4, "norm": "batch", "up": "transpose", **kwargs})


@register_model
def tiny_unet_gn(**kwargs) -> UNet:
    """Test-sized U-Net with the other options: GroupNorm, bilinear upsampling."""
    return _create_unet(**{"depth": 3, "width": 4, "norm": "group", "up": "bilinear", **kwargs})
