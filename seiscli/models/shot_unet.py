"""A timm backbone over every shot gather, its maps averaged over the sources, a U-Net decoder to velocity.

The input holds the shots as channels, (B, S, T, R). Each gather is one one-channel image for the
backbone (a Swin V2 here, built by ``backbones.TimmBackbone``): the gathers are first resampled to
``gather_size`` (area averaging; OpenFWI's 1000 samples at 1 ms carry next to nothing above 50 Hz,
so 256 samples keep the band and cost the transformer a quarter of the tokens), then padded to the
backbone's multiple. At every scale the S maps of a sample are averaged into one, so the order of
the shots does not matter and each weighs alike; the U-Net decoder
(``decoders.UNetDecoder``, with GroupNorm) turns the averaged maps into the velocity map of ``out_size``.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from seiscli.models.backbones import TimmBackbone
from seiscli.models.decoders import UNetDecoder
from seiscli.models.layers import pad_to_multiple, set_card_kwarg, size_pair
from seiscli.models.registry import card_args, register_model
from seiscli.models.segmenter import DECODER_PREFIX, TINY_SWIN

SWIN_V2_T = "swinv2_tiny_window8_256"


class ShotUNet(nn.Module):
    """``backbone`` on each gather, mean over the sources at each scale, ``decoder`` to (B, K, *out_size)."""

    def __init__(self, backbone: TimmBackbone, decoder: UNetDecoder, sources: int, out_size: Sequence[int],
                 gather_size: Sequence[int] | None):  # fmt: skip
        super().__init__()
        self.backbone = backbone
        self.decoder = decoder
        self.sources = sources
        self.out_size = size_pair(out_size, "out_size")
        self.gather_size = None if gather_size is None else size_pair(gather_size, "gather_size")

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Shot gathers (B, S, T, R) -> [(B, C_i, Tp/s_i, Rp/s_i), ...], the backbone's maps averaged over S."""
        batch, sources = x.shape[:2]
        if sources != self.sources:
            raise ValueError(f"the model was built for {self.sources} shots per sample, got {sources}")
        gathers = x.reshape(batch * sources, 1, *x.shape[2:])  # (B*S, 1, T, R)
        if self.gather_size is not None:
            gathers = F.interpolate(gathers, size=self.gather_size, mode="area")  # (B*S, 1, T', R')
        gathers = pad_to_multiple(gathers, self.backbone.pad_multiple)  # (B*S, 1, Tp, Rp)
        maps = self.backbone(gathers)  # [(B*S, C_i, h_i, w_i)]
        return [m.view(batch, sources, *m.shape[1:]).mean(1) for m in maps]  # [(B, C_i, h_i, w_i)]

    def forward_head(self, features: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """Decode ``forward_features`` to maps (B, K, *size); ``forward`` asks for ``out_size``."""
        return self.decoder(features, size)  # (B, K, *size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, T, R) shot gathers -> (B, K, *out_size)."""
        return self.forward_head(self.forward_features(x), self.out_size)

    def reset_head(self, num_classes: int) -> None:
        """A new, untrained classifier for ``num_classes`` output maps; backbone and the rest of the decoder kept."""
        self.decoder.reset_head(num_classes)
        set_card_kwarg(self, "num_classes", num_classes)


def _create_shot_unet(timm_name: str, **kwargs) -> ShotUNet:
    """``timm_name`` on every gather + a U-Net decoder.

    ``in_channels`` counts the shots; ``decoder_*`` kwargs go to the decoder; ``weights``, ``img_size``,
    ``indices`` and timm overrides to the backbone.
    """
    kwargs = {"in_channels": 5, "num_classes": 1, "out_size": (70, 70), "gather_size": None, **kwargs}
    own = ("in_channels", "num_classes", "out_size", "gather_size")
    backbone_kwargs = {k: v for k, v in kwargs.items() if not k.startswith(DECODER_PREFIX) and k not in own}
    decoder_kwargs = {k.removeprefix(DECODER_PREFIX): v for k, v in kwargs.items() if k.startswith(DECODER_PREFIX)}
    backbone = TimmBackbone(timm_name, in_channels=1, **backbone_kwargs)  # one gather at a time
    decoder = UNetDecoder(backbone.channels, backbone.strides, kwargs["num_classes"], **decoder_kwargs)
    model = ShotUNet(backbone, decoder, kwargs["in_channels"], kwargs["out_size"], kwargs["gather_size"])
    model.card_args = card_args(kwargs)
    return model


# GroupNorm in the decoder. With BatchNorm, a short run (30 steps of 16 records) left the running statistics
# behind the moving weights: the eval-mode predictions drifted to a val MAE of 2540 m/s while the train loss
# fell, and recomputing the statistics on the final weights brought it back to 390. GroupNorm has no running
# statistics (and no dependence on a CPU-sized batch); the same run then improved the val MAE every epoch.
DECODER_NORM = {"decoder_norm": "group"}


@register_model(takes_out_size=True)
def swinv2_velocity_unet(**kwargs) -> ShotUNet:
    """Swin V2-Tiny on each shot gather (resampled to 256 x 64), averaged over shots, U-Net decoder to velocity."""
    return _create_shot_unet(SWIN_V2_T, **{"img_size": 256, "gather_size": (256, 64), **DECODER_NORM, **kwargs})


@register_model(takes_out_size=True)
def tiny_swin_velocity_unet(**kwargs) -> ShotUNet:
    """Test-sized Swin V2 (dim 16, window 4) on each gather (resampled to 64 x 32), U-Net decoder."""
    return _create_shot_unet(SWIN_V2_T, **{**TINY_SWIN, "gather_size": (64, 32), **DECODER_NORM, **kwargs})
