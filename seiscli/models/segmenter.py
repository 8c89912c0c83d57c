"""Backbone + decoder segmenters, and the registered combinations of timm backbones and our heads.

A ``Segmenter`` has the model interface of the U-Net: ``forward_features(x)`` pads x (B, C, H, W) to the
backbone's multiple and returns its maps, ``forward_head(features, (H, W))`` decodes and crops to
logits (B, K, H, W), ``reset_head(num_classes)`` gives the decoder a new classifier.

Every entry takes ``in_channels``, ``num_classes``, ``weights`` (a local timm state dict of the
backbone), ``indices`` (which ViT blocks / stages feed the decoder), ``img_size`` (transformers),
``decoder_*`` kwargs of the head (``decoder_channels``, ``decoder_norm``) and any other kwarg as a
timm override of the backbone (``embed_dim``, ``depth``, ``num_heads``, ``depths``, ``dims`` ...).
"""

import torch
from torch import nn

from seiscli.models.backbones import TimmBackbone
from seiscli.models.decoders import (
    Decoder,
    DPTDecoder,
    LinearDecoder,
    MLADecoder,
    PUPDecoder,
    UNetDecoder,
    UNETRDecoder,
)
from seiscli.models.layers import crop, pad_to_multiple, padded_size, set_card_kwarg
from seiscli.models.registry import card_args, register_model

DECODER_PREFIX = "decoder_"


class Segmenter(nn.Module):
    """``backbone`` (x -> list of maps) followed by ``decoder`` (maps, size -> logits)."""

    def __init__(self, backbone: TimmBackbone, decoder: Decoder):
        super().__init__()
        self.backbone = backbone
        self.decoder = decoder

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, H, W) -> [(B, C_i, Hp/s_i, Wp/s_i), ...], Hp, Wp: H, W padded to ``pad_multiple``."""
        x = pad_to_multiple(x, self.backbone.pad_multiple)  # (B, C, Hp, Wp)
        maps = self.backbone(x)
        return [x, *maps] if self.decoder.takes_input else maps

    def forward_head(self, features: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """Logits (B, K, H, W) from ``forward_features`` of an input of spatial ``size`` (H, W)."""
        logits = self.decoder(features, padded_size(size, self.backbone.pad_multiple))  # (B, K, Hp, Wp)
        return crop(logits, size)  # (B, K, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, K, H, W)."""
        return self.forward_head(self.forward_features(x), tuple(x.shape[-2:]))

    def reset_head(self, num_classes: int) -> None:
        """A new, untrained classifier for ``num_classes``; backbone and the rest of the decoder are kept."""
        self.decoder.reset_head(num_classes)
        set_card_kwarg(self, "num_classes", num_classes)


def vit_grid_options(name: str, sample_size: tuple[int, ...], **options) -> dict:
    """``{"img_size": S}`` that makes the registered model's plain 2D ViT learn its position embedding on
    the token grid of the (padded) samples, S the longer padded side; ``{}`` for every other model.

    Without it a ViT built for 224 x 224 resamples its 28 x 28 (or 14 x 14) grid on every forward pass,
    and a pretrained encoder would be resampled twice, to 224 on loading and back to the samples' grid.
    """
    from seiscli.models.registry import create_model

    if len(sample_size) != 2:
        return {}
    with torch.device("meta"):  # the architecture only, at no cost
        probe = create_model(name, **options)
    backbone = getattr(probe, "backbone", None)
    if not isinstance(backbone, TimmBackbone) or not backbone.timm_name.startswith("vit_"):
        return {}
    return {"img_size": max(padded_size(sample_size, backbone.pad_multiple))}


def _create_segmenter(timm_name: str, decoder_cls: type[Decoder], **kwargs) -> Segmenter:
    """Build ``timm_name`` + ``decoder_cls``; ``kwargs`` as in the module docstring."""
    kwargs = {"in_channels": 1, "num_classes": 2, **kwargs}
    backbone_kwargs = {k: v for k, v in kwargs.items() if not k.startswith(DECODER_PREFIX) and k != "num_classes"}
    decoder_kwargs = {k.removeprefix(DECODER_PREFIX): v for k, v in kwargs.items() if k.startswith(DECODER_PREFIX)}
    backbone = TimmBackbone(timm_name, feature_count=decoder_cls.feature_count, **backbone_kwargs)
    channels, strides = backbone.channels, backbone.strides
    if decoder_cls.takes_input:
        channels, strides = [kwargs["in_channels"], *channels], [1, *strides]
    decoder = decoder_cls(channels, strides, kwargs["num_classes"], **decoder_kwargs)
    model = Segmenter(backbone, decoder)
    model.card_args = card_args(kwargs)
    return model


# Full-size models. The ViTs run at img_size 224 (14 x 14 or 16 x 16 tokens); other sizes interpolate the
# position embeddings, and a weights file made at another size (DINOv2: 518) is resampled on loading.
VIT_S16 = "vit_small_patch16_224"
VIT_S14 = "vit_small_patch14_dinov2"
VIT_B16 = "vit_base_patch16_224"
VIT_S8 = "vit_small_patch8_224"
VIT_DEFAULTS = {"img_size": 224}
# ViT-Ti/8 (5.5 M): ViT-Tiny's width on 8 x 8 patches, a 101 x 101 tile is 13 x 13 tokens; small enough to
# pretrain and fine-tune on a CPU, fine enough for the UNETR decoder to draw boundaries from.
VIT_T8 = {"img_size": 224, "embed_dim": 192, "depth": 12, "num_heads": 3}


@register_model
def vit_s16_linear(**kwargs) -> Segmenter:
    """ViT-S/16 + linear head on the last block."""
    return _create_segmenter(VIT_S16, LinearDecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_s16_pup(**kwargs) -> Segmenter:
    """ViT-S/16 + SETR-PUP head."""
    return _create_segmenter(VIT_S16, PUPDecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_s16_mla(**kwargs) -> Segmenter:
    """ViT-S/16 + SETR-MLA head on blocks 3, 6, 9, 12."""
    return _create_segmenter(VIT_S16, MLADecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_s16_dpt(**kwargs) -> Segmenter:
    """ViT-S/16 + DPT head on blocks 3, 6, 9, 12."""
    return _create_segmenter(VIT_S16, DPTDecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_s14_linear(**kwargs) -> Segmenter:
    """DINOv2-style ViT-S/14 + linear head on the last block."""
    return _create_segmenter(VIT_S14, LinearDecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_s14_pup(**kwargs) -> Segmenter:
    """DINOv2-style ViT-S/14 + SETR-PUP head."""
    return _create_segmenter(VIT_S14, PUPDecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_s14_mla(**kwargs) -> Segmenter:
    """DINOv2-style ViT-S/14 + SETR-MLA head on blocks 3, 6, 9, 12."""
    return _create_segmenter(VIT_S14, MLADecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_s14_dpt(**kwargs) -> Segmenter:
    """DINOv2-style ViT-S/14 + DPT head on blocks 3, 6, 9, 12."""
    return _create_segmenter(VIT_S14, DPTDecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_b16_linear(**kwargs) -> Segmenter:
    """ViT-B/16 + linear head on the last block."""
    return _create_segmenter(VIT_B16, LinearDecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_b16_dpt(**kwargs) -> Segmenter:
    """ViT-B/16 + DPT head on blocks 3, 6, 9, 12."""
    return _create_segmenter(VIT_B16, DPTDecoder, **{**VIT_DEFAULTS, **kwargs})


@register_model
def vit_t8_unetr(**kwargs) -> Segmenter:
    """ViT-Ti/8 + UNETR decoder on blocks 4, 8, 12 and the input (the U-Net-style ViT segmenter)."""
    return _create_segmenter(VIT_S8, UNETRDecoder, **{**VIT_T8, "decoder_channels": 128, **kwargs})


@register_model
def vit_t8_linear(**kwargs) -> Segmenter:
    """ViT-Ti/8 + linear head on the last block."""
    return _create_segmenter(VIT_S8, LinearDecoder, **{**VIT_T8, **kwargs})


@register_model
def vit_t8_pup(**kwargs) -> Segmenter:
    """ViT-Ti/8 + SETR-PUP head."""
    return _create_segmenter(VIT_S8, PUPDecoder, **{**VIT_T8, "decoder_channels": 128, **kwargs})


@register_model
def vit_t8_mla(**kwargs) -> Segmenter:
    """ViT-Ti/8 + SETR-MLA head on blocks 3, 6, 9, 12."""
    return _create_segmenter(VIT_S8, MLADecoder, **{**VIT_T8, "decoder_channels": 128, **kwargs})


@register_model
def vit_t8_dpt(**kwargs) -> Segmenter:
    """ViT-Ti/8 + DPT head on blocks 3, 6, 9, 12."""
    return _create_segmenter(VIT_S8, DPTDecoder, **{**VIT_T8, "decoder_channels": 128, **kwargs})


@register_model
def convnext_unet(**kwargs) -> Segmenter:
    """ConvNeXt-Tiny + U-Net decoder over its four stages."""
    return _create_segmenter("convnext_tiny", UNetDecoder, **kwargs)


@register_model
def convnext_atto_unet(**kwargs) -> Segmenter:
    """ConvNeXt-Atto (3.4M) + U-Net decoder with 128..8 channels."""
    return _create_segmenter("convnext_atto", UNetDecoder, **{"decoder_channels": 128, **kwargs})


@register_model
def swinv2_unet(**kwargs) -> Segmenter:
    """Swin V2-Tiny (window 8 at 256 x 256) + U-Net decoder over its four stages."""
    return _create_segmenter("swinv2_tiny_window8_256", UNetDecoder, **{"img_size": 256, **kwargs})


# Test-sized models: the same code paths, a few thousand parameters per part.
TINY_VIT = {"img_size": 56, "embed_dim": 32, "depth": 4, "num_heads": 2, "decoder_channels": 16}
TINY_VIT8 = {**TINY_VIT, "img_size": 64, "depth": 3}  # three blocks: the UNETR skips at strides 4, 2 (and 8)
TINY_CONVNEXT = {"dims": (8, 16, 32, 64), "depths": (1, 1, 1, 1), "decoder_channels": 16}
TINY_SWIN = {
    "img_size": 64,
    "embed_dim": 16,
    "depths": (2, 1, 1, 1),  # two blocks in stage 1: one plain and one shifted window
    "num_heads": (1, 2, 2, 4),
    "window_size": 4,
    "decoder_channels": 16,
}


@register_model
def tiny_vit_linear(**kwargs) -> Segmenter:
    """Test-sized ViT/14 (4 blocks, dim 32) + linear head."""
    tiny = {k: v for k, v in TINY_VIT.items() if k != "decoder_channels"}  # a linear head has no width
    return _create_segmenter(VIT_S14, LinearDecoder, **{**tiny, **kwargs})


@register_model
def tiny_vit_pup(**kwargs) -> Segmenter:
    """Test-sized ViT/14 + SETR-PUP head."""
    return _create_segmenter(VIT_S14, PUPDecoder, **{**TINY_VIT, **kwargs})


@register_model
def tiny_vit_mla(**kwargs) -> Segmenter:
    """Test-sized ViT/14 + SETR-MLA head on all 4 blocks."""
    return _create_segmenter(VIT_S14, MLADecoder, **{**TINY_VIT, **kwargs})


@register_model
def tiny_vit_dpt(**kwargs) -> Segmenter:
    """Test-sized ViT/14 + DPT head on all 4 blocks."""
    return _create_segmenter(VIT_S14, DPTDecoder, **{**TINY_VIT, **kwargs})


@register_model
def tiny_vit8_unetr(**kwargs) -> Segmenter:
    """Test-sized ViT/8 (3 blocks, dim 32) + UNETR decoder on all 3 blocks and the input."""
    return _create_segmenter(VIT_S8, UNETRDecoder, **{**TINY_VIT8, **kwargs})


@register_model
def tiny_convnext_unet(**kwargs) -> Segmenter:
    """Test-sized ConvNeXt (dims 8..64, one block per stage) + U-Net decoder."""
    return _create_segmenter("convnext_atto", UNetDecoder, **{**TINY_CONVNEXT, **kwargs})


@register_model
def tiny_swin_unet(**kwargs) -> Segmenter:
    """Test-sized Swin V2 (dim 16, window 4) + U-Net decoder."""
    return _create_segmenter("swinv2_tiny_window8_256", UNetDecoder, **{**TINY_SWIN, **kwargs})
