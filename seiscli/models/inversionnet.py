"""InversionNet (Wu & Lin 2019), the OpenFWI baseline: shot gathers to a velocity map. Our own code, no timm.

The input holds the shots as channels, (B, S, T, R): S sources, T time samples, R receivers. The
encoder first convolves along time only, halving T at each of ``time_stages`` stages (the first with
a 7-sample kernel), until the record is about as long as it is wide (1000 samples -> 63 in 4 stages);
the remaining stages convolve over time and receivers with 3 x 3 kernels and halve both (63 x 70 ->
8 x 9 in 3 stages). A last convolution whose kernel covers that whole ``latent_grid`` folds it into
one latent vector (B, latent, 1, 1); records of another length are average-pooled to the grid first.

The decoder grows the vector into a seed map with a transposed convolution, then doubles it with
transposed convolutions (kernel 4, stride 2), one per further entry of ``decoder_widths``, until it
covers ``out_size`` (70 x 70: a 5 x 5 seed, 4 doublings, 80 x 80); the centre is cropped to
``out_size`` and a 1 x 1 ``classifier`` gives the output. Every convolution is followed by BatchNorm
and LeakyReLU(0.2). The output is linear, in the velocity task's normalized units (OpenFWI's tanh is
left out: the task's range is a choice, not a bound the network should saturate against).
"""

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from seiscli.errors import ConfigError
from seiscli.models.layers import new_classifier, resize, set_card_kwarg, size_pair
from seiscli.models.registry import card_args, register_model

NEGATIVE_SLOPE = 0.2


class ConvBlock(nn.Sequential):
    """Convolution (or transposed convolution), BatchNorm, LeakyReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel, stride=1, padding=0, transposed: bool = False):
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        super().__init__(
            conv(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(NEGATIVE_SLOPE, inplace=True),
        )


def _encoder_stage(in_channels: int, out_channels: int, along_time: bool, first: bool) -> nn.Sequential:
    """A strided block that halves time (and receivers, unless ``along_time``), then a block that keeps the size."""
    if along_time:
        k = 7 if first else 3
        return nn.Sequential(
            ConvBlock(in_channels, out_channels, (k, 1), stride=(2, 1), padding=(k // 2, 0)),
            ConvBlock(out_channels, out_channels, (3, 1), padding=(1, 0)),
        )
    return nn.Sequential(
        ConvBlock(in_channels, out_channels, 3, stride=2, padding=1),
        ConvBlock(out_channels, out_channels, 3, padding=1),
    )


def _decoder_stage(in_channels: int, out_channels: int) -> nn.Sequential:
    """Double the map with a transposed convolution, then refine it with a 3 x 3 block."""
    return nn.Sequential(
        ConvBlock(in_channels, out_channels, 4, stride=2, padding=1, transposed=True),
        ConvBlock(out_channels, out_channels, 3, padding=1),
    )


def center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The central (H, W) of ``x`` (B, C, Hp, Wp)."""
    top, left = (x.shape[-2] - size[0]) // 2, (x.shape[-1] - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]  # (B, C, H, W)


class InversionNet(nn.Module):
    """Encoder over the shot gathers to a latent vector, transposed-conv decoder to the velocity map."""

    def __init__(
        self,
        in_channels: int = 5,
        num_classes: int = 1,
        out_size: Sequence[int] = (70, 70),
        encoder_widths: Sequence[int] = (32, 64, 64, 128, 128, 256, 256),
        time_stages: int = 4,
        latent: int = 512,
        latent_grid: Sequence[int] = (8, 9),
        decoder_widths: Sequence[int] = (512, 256, 128, 64, 32),
    ):
        super().__init__()
        if not 0 <= time_stages <= len(encoder_widths) or not decoder_widths or min(latent, in_channels) < 1:
            raise ValueError("InversionNet needs 0 <= time_stages <= len(encoder_widths), a decoder width, "
                             "latent >= 1 and in_channels >= 1")  # fmt: skip
        self.out_size = size_pair(out_size, "out_size")
        self.latent_grid = size_pair(latent_grid, "latent_grid")
        widths = [in_channels, *encoder_widths]
        stages = [_encoder_stage(c_in, c_out, along_time=i < time_stages, first=i == 0)
                  for i, (c_in, c_out) in enumerate(itertools.pairwise(widths))]  # fmt: skip
        self.encoder = nn.Sequential(*stages, ConvBlock(widths[-1], latent, self.latent_grid))
        doublings = len(decoder_widths) - 1
        seed = tuple(math.ceil(s / 2**doublings) for s in self.out_size)  # 70 -> 5: 5 * 16 = 80 covers 70
        self.decoder = nn.Sequential(
            ConvBlock(latent, decoder_widths[0], seed, transposed=True),  # (B, latent, 1, 1) -> (B, w0, *seed)
            ConvBlock(decoder_widths[0], decoder_widths[0], 3, padding=1),
            *(_decoder_stage(c_in, c_out) for c_in, c_out in itertools.pairwise(decoder_widths)),
        )
        self.classifier = nn.Conv2d(decoder_widths[-1], num_classes, 1)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Shot gathers (B, S, T, R) -> [the latent vector (B, latent, 1, 1)]."""
        for stage in self.encoder[:-1]:
            x = stage(x)  # (B, C, T/2, R) along time, then (B, C, h/2, w/2)
        if tuple(x.shape[-2:]) != self.latent_grid:
            x = F.adaptive_avg_pool2d(x, self.latent_grid)  # (B, C, *latent_grid): another record length
        return [self.encoder[-1](x)]  # (B, latent, 1, 1)

    def forward_head(self, features: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """Decode ``forward_features`` to maps (B, K, *size); ``forward`` asks for ``out_size``."""
        x = self.decoder(features[-1])  # (B, w_last, seed_h 2^n, seed_w 2^n), n = len(decoder_widths) - 1
        x = self.classifier(center_crop(x, self.out_size))  # (B, K, *out_size)
        return resize(x, size)  # (B, K, *size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, T, R) shot gathers -> (B, K, *out_size)."""
        return self.forward_head(self.forward_features(x), self.out_size)

    def reset_head(self, num_classes: int) -> None:
        """A new, untrained classifier for ``num_classes`` output maps; the rest of the network is kept."""
        self.classifier = new_classifier(self.classifier, num_classes)
        set_card_kwarg(self, "num_classes", num_classes)


def _create_inversionnet(**kwargs) -> InversionNet:
    if kwargs.pop("weights", None) is not None:
        raise ConfigError(
            "InversionNet has no pretrained backbone to load weights into",
            hint="start from a seis checkpoint instead (--init), or choose a timm-backed model",
        )
    kwargs = {"in_channels": 5, "num_classes": 1, "out_size": (70, 70), **kwargs}
    model = InversionNet(**kwargs)
    model.card_args = card_args(kwargs)
    return model


@register_model(takes_out_size=True)
def inversionnet(**kwargs) -> InversionNet:
    """InversionNet as in OpenFWI: 5 x 1000 x 70 gathers -> 70 x 70 velocity, latent 512; 24.4M parameters."""
    return _create_inversionnet(**kwargs)


@register_model(takes_out_size=True)
def inversionnet_small(**kwargs) -> InversionNet:
    """InversionNet at half width (16..128 channels, latent 256, decoder 256..16): 6.1M parameters, ~3x faster."""
    small = {"encoder_widths": (16, 32, 32, 64, 64, 128, 128), "latent": 256, "decoder_widths": (256, 128, 64, 32, 16)}
    return _create_inversionnet(**{**small, **kwargs})


@register_model(takes_out_size=True)
def tiny_inversionnet(**kwargs) -> InversionNet:
    """Test-sized InversionNet: 2 time and 2 space stages of 4..16 channels, latent 16."""
    tiny = {"encoder_widths": (4, 8, 8, 16), "time_stages": 2, "latent": 16, "latent_grid": (3, 4),
            "decoder_widths": (16, 8, 4)}  # fmt: skip
    return _create_inversionnet(**{**tiny, **kwargs})
