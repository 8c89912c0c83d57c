"""Segmentation heads over a backbone's multi-scale maps: Linear, PUP and MLA (SETR), DPT, U-Net-style, UNETR.

Every decoder is built as ``Decoder(in_channels, strides, num_classes, ...)`` from the backbone's
``channels`` and ``strides`` and called as ``decoder(features, size)``: ``features`` is the list of
(B, C_i, H/s_i, W/s_i) maps of a padded input of spatial ``size`` (H, W), the result logits
(B, K, H, W). ``feature_count`` says how many maps it wants (1: only the last). Each ends in a 1x1
``classifier`` that ``reset_head`` replaces. A decoder with ``takes_input`` also gets the padded input
itself as its first map (stride 1), ahead of the backbone's.
"""

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from seiscli.errors import ConfigError
from seiscli.models.layers import ConvNormAct, DoubleConv, ResidualBlock, make_norm, new_classifier, resize

Size = tuple[int, int]


class Decoder(nn.Module):
    """Base of the heads: the ``classifier`` swap used by ``reset_head``."""

    feature_count = 4
    takes_input = False
    classifier: nn.Conv2d

    def reset_head(self, num_classes: int) -> None:
        self.classifier = new_classifier(self.classifier, num_classes)


class LinearDecoder(Decoder):
    """Linear probe: BatchNorm + 1x1 conv on the last map, logits upsampled bilinearly (DINOv2's linear head)."""

    feature_count = 1

    def __init__(self, in_channels: Sequence[int], strides: Sequence[int], num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels[-1])
        self.classifier = nn.Conv2d(in_channels[-1], num_classes, 1)

    def forward(self, features: list[torch.Tensor], size: Size) -> torch.Tensor:
        logits = self.classifier(self.norm(features[-1]))  # (B, K, h, w)
        return resize(logits, size)  # (B, K, H, W)


class PUPDecoder(Decoder):
    """SETR progressive upsampling: (conv 3x3 + 2x bilinear) until the last map's stride is undone."""

    feature_count = 1

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        num_classes: int,
        channels: int = 256,
        norm: str = "batch",
    ):
        super().__init__()
        steps = max(1, math.ceil(math.log2(strides[-1])))  # 16 -> 4 doublings; 14 -> 4, then resized
        widths = [in_channels[-1]] + [channels] * steps
        self.stages = nn.ModuleList(ConvNormAct(c_in, c_out, norm) for c_in, c_out in itertools.pairwise(widths))
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, features: list[torch.Tensor], size: Size) -> torch.Tensor:
        x = features[-1]  # (B, D, h, w)
        for stage in self.stages:
            x = stage(x)  # (B, channels, h, w)
            x = resize(x, (2 * x.shape[-2], 2 * x.shape[-1]))  # (B, channels, 2h, 2w)
        return resize(self.classifier(x), size)  # (B, K, H, W)


class MLADecoder(Decoder):
    """SETR multi-level aggregation: 1x1 laterals, top-down sums, two convs per level, concat at stride 4."""

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        num_classes: int,
        channels: int = 256,
        norm: str = "batch",
    ):
        super().__init__()
        half = max(1, channels // 2)
        self.laterals = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.heads = nn.ModuleList(
            nn.Sequential(ConvNormAct(channels, half, norm), ConvNormAct(half, half, norm)) for _ in in_channels
        )
        self.classifier = nn.Conv2d(half * len(in_channels), num_classes, 1)

    def forward(self, features: list[torch.Tensor], size: Size) -> torch.Tensor:
        laterals = [lateral(f) for lateral, f in zip(self.laterals, features)]  # [(B, channels, h_i, w_i)]
        merged = [laterals[-1]]
        for lateral in reversed(laterals[:-1]):  # deepest first: each level adds everything deeper
            merged.insert(0, lateral + resize(merged[0], lateral.shape[-2:]))  # (B, channels, h_i, w_i)
        quarter = (-(-size[0] // 4), -(-size[1] // 4))
        levels = [resize(head(m), quarter) for head, m in zip(self.heads, merged)]  # [(B, channels/2, H/4, W/4)]
        logits = self.classifier(torch.cat(levels, dim=1))  # (B, K, H/4, W/4)
        return resize(logits, size)  # (B, K, H, W)


def _resample(channels: int, exponent: int) -> nn.Module:
    """Scale a map by 2**exponent: transposed conv up, identity, or strided 3x3 convs down."""
    if exponent > 0:
        return nn.ConvTranspose2d(channels, channels, 2**exponent, stride=2**exponent)
    if exponent == 0:
        return nn.Identity()
    return nn.Sequential(*(nn.Conv2d(channels, channels, 3, stride=2, padding=1) for _ in range(-exponent)))


class ResidualConvUnit(nn.Module):
    """DPT's pre-activation residual block: x + conv(relu(conv(relu(x))))."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            make_norm(norm, channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            make_norm(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)  # (B, C, h, w)


class FusionBlock(nn.Module):
    """DPT fusion: the deeper path, resized to this level, plus a refined skip; then refine and mix."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.skip_unit = ResidualConvUnit(channels, norm)
        self.unit = ResidualConvUnit(channels, norm)
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, deeper: torch.Tensor | None, skip: torch.Tensor) -> torch.Tensor:
        x = self.skip_unit(skip)  # (B, C, h, w)
        if deeper is not None:
            x = x + resize(deeper, skip.shape[-2:])  # (B, C, h, w)
        return self.mix(self.unit(x))  # (B, C, h, w)


class DPTDecoder(Decoder):
    """DPT (Ranftl et al. 2021), simplified: reassemble the maps to strides 4, 8, 16, 32, fuse top-down, head.

    Reassemble: 1x1 projection, then resampling by the power of two nearest to s_i / (4 * 2**i) (a ViT/16
    gives x4, x2, x1, x0.5; a ViT/14 the same, the rest is absorbed by the final resize), then a 3x3 conv.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        num_classes: int,
        channels: int = 256,
        norm: str = "batch",
    ):
        super().__init__()
        exponents = [round(math.log2(s / (4 * 2**i))) for i, s in enumerate(strides)]
        self.reassemble = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c, channels, 1),
                _resample(channels, e),
                nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            )
            for c, e in zip(in_channels, exponents)
        )
        self.fusions = nn.ModuleList(FusionBlock(channels, norm) for _ in in_channels)
        half = max(1, channels // 2)
        self.head = nn.Sequential(ConvNormAct(channels, half, norm), ConvNormAct(half, 32, norm))
        self.classifier = nn.Conv2d(32, num_classes, 1)

    def forward(self, features: list[torch.Tensor], size: Size) -> torch.Tensor:
        maps = [block(f) for block, f in zip(self.reassemble, features)]  # [(B, channels, H/4·2^i, W/4·2^i)]
        x = None
        for fusion, skip in zip(reversed(self.fusions), reversed(maps)):
            x = fusion(x, skip)  # (B, channels, h_i, w_i), deepest first
        half_size = (-(-size[0] // 2), -(-size[1] // 2))
        x = self.head(resize(x, half_size))  # (B, 32, H/2, W/2)
        return resize(self.classifier(x), size)  # (B, K, H, W)


class UNetDecoder(Decoder):
    """U-Net-style decoder over hierarchical maps (strides 4..32): upsample, concat skip, DoubleConv.

    After the finest skip, blocks without skip double the resolution until stride 1 (two after stride 4).
    Block widths start at ``channels`` and halve, down to at least 8.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        num_classes: int,
        channels: int = 256,
        norm: str = "batch",
    ):
        super().__init__()
        extra = max(0, round(math.log2(strides[0])))
        widths = [max(8, channels // 2**i) for i in range(len(in_channels) - 1 + extra)]
        skips = list(reversed(in_channels[:-1])) + [0] * extra
        inputs = [in_channels[-1]] + widths[:-1]
        self.blocks = nn.ModuleList(
            DoubleConv(c_in + c_skip, c_out, norm) for c_in, c_skip, c_out in zip(inputs, skips, widths)
        )
        self.finest_stride = strides[0]
        self.classifier = nn.Conv2d(widths[-1], num_classes, 1)

    def forward(self, features: list[torch.Tensor], size: Size) -> torch.Tensor:
        x = features[-1]  # (B, C_last, H/32, W/32)
        skips = list(reversed(features[:-1]))
        stride = self.finest_stride
        for i, block in enumerate(self.blocks):
            if i < len(skips):
                skip = skips[i]  # (B, C_i, h_i, w_i)
                x = torch.cat([resize(x, skip.shape[-2:]), skip], dim=1)  # (B, C + C_i, h_i, w_i)
            else:
                stride = max(1, stride // 2)
                x = resize(x, (-(-size[0] // stride), -(-size[1] // stride)))  # (B, C, 2h, 2w)
            x = block(x)  # (B, width_i, h, w)
        return resize(self.classifier(x), size)  # (B, K, H, W)


class UNETRDecoder(Decoder):
    """UNETR (Hatamizadeh et al. 2022) for a plain ViT of patch p = 2**L: a U-Net whose encoder is the ViT.

    The last block's tokens (stride p) are the bottom of the U; the tokens of the L - 1 blocks before
    it, brought up by 1 .. L - 1 transposed convolutions, are the skips at strides p/2 .. 2; the input
    image through two convolutions is the skip at stride 1. Each level upsamples, concatenates its skip
    and refines with a residual block. The full-resolution path is what draws sharp boundaries, which a
    ViT's 8 x 8 or 16 x 16 tokens alone cannot. Widths start at ``channels`` and halve per level.
    """

    feature_count = 3
    takes_input = True

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        num_classes: int,
        channels: int = 256,
        norm: str = "batch",
    ):
        super().__init__()
        image_channels, token_channels = in_channels[0], in_channels[1:]
        patch = strides[-1]
        levels = round(math.log2(patch))
        if 2**levels != patch or len(token_channels) != levels or set(strides[1:]) != {patch}:
            raise ConfigError(f"a UNETR decoder takes {levels} ViT blocks of one patch size, a power of two; "
                              f"got strides {list(strides[1:])}")  # fmt: skip
        widths = [max(8, channels // 2**j) for j in range(levels + 1)]  # at strides p, p/2 .. 1
        self.bottom = ConvNormAct(token_channels[-1], widths[0], norm)
        self.token_skips = nn.ModuleList(
            _upsampling_path(token_channels[-1 - j], widths[j], j, norm) for j in range(1, levels)
        )
        self.image_skip = DoubleConv(image_channels, widths[-1], norm)
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(c_in, c_out, 2, stride=2) for c_in, c_out in itertools.pairwise(widths)
        )
        self.blocks = nn.ModuleList(ResidualBlock(2 * width, width, norm) for width in widths[1:])
        self.classifier = nn.Conv2d(widths[-1], num_classes, 1)

    def forward(self, features: list[torch.Tensor], size: Size) -> torch.Tensor:
        image, *tokens = features  # (B, C, Hp, Wp), [(B, D, Hp/p, Wp/p)] * L, shallow to deep
        skips = [path(t) for path, t in zip(self.token_skips, reversed(tokens[:-1]))] + [self.image_skip(image)]
        x = self.bottom(tokens[-1])  # (B, w_0, Hp/p, Wp/p)
        for up, block, skip in zip(self.ups, self.blocks, skips):
            x = block(torch.cat([up(x), skip], dim=1))  # (B, w_j, 2h, 2w)
        return resize(self.classifier(x), size)  # (B, K, H, W)


def _upsampling_path(in_channels: int, out_channels: int, doublings: int, norm: str) -> nn.Sequential:
    """UNETR's skip path: ``doublings`` times a 2x transposed convolution and a ConvNormAct."""
    layers = []
    for i in range(doublings):
        layers += [nn.ConvTranspose2d(in_channels if i == 0 else out_channels, out_channels, 2, stride=2),
                   ConvNormAct(out_channels, out_channels, norm)]  # fmt: skip
    return nn.Sequential(*layers)
