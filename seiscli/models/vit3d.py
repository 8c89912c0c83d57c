"""A ViT over cubes (B, C, D, H, W), and a segmenter on it: the 3D twin of the timm ViTs.

timm has no 3D ViT, so the patch embedding is ours (a Conv3d with kernel = stride = the patch) and the
position embedding a fixed 3D sine-cosine table (nothing learned, so any cube size runs and nothing
has to be resampled between pretraining and fine-tuning); the body is timm's transformer ``Block``.

``VolumeViT`` offers what ``TimmBackbone`` offers for ViTs — ``forward`` (one map per input, for a
decoder), ``tokens`` and ``transform`` (for the masked autoencoder), ``channels``, ``strides``,
``pad_multiple`` — so ``seis pretrain`` on cubes writes ``backbone.*`` weights that ``vit3d_*``
segmenters load with ``seis finetune --init``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from seiscli.models.backbones import _import_timm
from seiscli.models.layers import crop, pad_to_multiple, padded_size, set_card_kwarg, sincos_positions
from seiscli.models.registry import card_args, register_model

Size3 = tuple[int, int, int]


class VolumeViT(nn.Module):
    """Cube patches of side ``patch_size`` -> class token + patch tokens -> ``depth`` timm Blocks."""

    def __init__(self, in_channels: int = 1, patch_size: int = 16, embed_dim: int = 384, depth: int = 12,
                 num_heads: int = 6, mlp_ratio: float = 4.0):  # fmt: skip
        super().__init__()
        block = _import_timm().models.vision_transformer.Block
        self.patch_embed = nn.Conv3d(in_channels, embed_dim, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.blocks = nn.Sequential(*(block(embed_dim, num_heads, mlp_ratio, qkv_bias=True) for _ in range(depth)))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.channels, self.strides, self.pad_multiple = [embed_dim], [patch_size], patch_size
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Size3]:
        """(B, C, Dp, Hp, Wp) -> class token (B, 1, E), patch tokens (B, d*h*w, E) row-major, (d, h, w)."""
        patches = self.patch_embed(x)  # (B, E, d, h, w)
        grid = tuple(patches.shape[2:])
        tokens = patches.flatten(2).transpose(1, 2)  # (B, d*h*w, E)
        tokens = tokens + sincos_positions(grid, tokens.shape[-1]).to(tokens)  # (B, N, E)
        return self.cls_token.expand(len(x), -1, -1), tokens, grid

    def transform(self, tokens: torch.Tensor) -> torch.Tensor:
        """The blocks and the final norm over any subset of tokens, (B, T, E) -> (B, T, E)."""
        return self.norm(self.blocks(tokens))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, Dp, Hp, Wp), sides multiples of the patch -> [(B, E, Dp/p, Hp/p, Wp/p)]."""
        prefix, tokens, grid = self.tokens(x)
        tokens = self.transform(torch.cat([prefix, tokens], dim=1))[:, prefix.shape[1] :]  # (B, N, E)
        return [tokens.transpose(1, 2).reshape(len(x), -1, *grid)]  # (B, E, d, h, w)


class LinearDecoder3D(nn.Module):
    """Linear probe on the last map: BatchNorm + 1x1x1 conv, logits upsampled trilinearly to the cube."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm3d(channels)
        self.classifier = nn.Conv3d(channels, num_classes, 1)

    def forward(self, features: list[torch.Tensor], size: Size3) -> torch.Tensor:
        logits = self.classifier(self.norm(features[-1]))  # (B, K, d, h, w)
        return F.interpolate(logits, size=size, mode="trilinear", align_corners=False)  # (B, K, D, H, W)

    def reset_head(self, num_classes: int) -> None:
        old = self.classifier
        self.classifier = nn.Conv3d(old.in_channels, num_classes, 1).to(old.weight)


class VolumeSegmenter(nn.Module):
    """``backbone`` (a VolumeViT) + ``decoder`` (a 3D linear probe), with the model interface of the 2D ones."""

    def __init__(self, backbone: VolumeViT, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.decoder = LinearDecoder3D(backbone.channels[-1], num_classes)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, D, H, W) -> [(B, E, Dp/p, Hp/p, Wp/p)], the cube padded to the patch size."""
        return self.backbone(pad_to_multiple(x, self.backbone.pad_multiple))

    def forward_head(self, features: list[torch.Tensor], size: Size3) -> torch.Tensor:
        """Logits (B, K, D, H, W) from ``forward_features`` of a cube of spatial ``size``."""
        logits = self.decoder(features, padded_size(size, self.backbone.pad_multiple))  # (B, K, Dp, Hp, Wp)
        return crop(logits, size)  # (B, K, D, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, D, H, W) -> logits (B, K, D, H, W)."""
        return self.forward_head(self.forward_features(x), tuple(x.shape[-3:]))

    def reset_head(self, num_classes: int) -> None:
        """A new, untrained classifier for ``num_classes``; the rest is kept."""
        self.decoder.reset_head(num_classes)
        set_card_kwarg(self, "num_classes", num_classes)


def _create_volume_segmenter(**kwargs) -> VolumeSegmenter:
    kwargs = {"in_channels": 1, "num_classes": 2, **kwargs}
    model = VolumeSegmenter(VolumeViT(**{k: v for k, v in kwargs.items() if k != "num_classes"}), kwargs["num_classes"])
    model.card_args = card_args(kwargs)
    return model


# The encoders of the 3D ViTs; mae.py builds its 3D masked autoencoders on the same settings.
VIT3D_S16 = {"patch_size": 16, "embed_dim": 384, "depth": 12, "num_heads": 6}
TINY_VIT3D = {"patch_size": 4, "embed_dim": 32, "depth": 2, "num_heads": 2}


@register_model
def vit3d_s16_linear(**kwargs) -> VolumeSegmenter:
    """3D ViT-S/16 on cubes (16^3 patches) + linear head; takes mae_vit3d_s16's encoder."""
    return _create_volume_segmenter(**{**VIT3D_S16, **kwargs})


@register_model
def tiny_vit3d_linear(**kwargs) -> VolumeSegmenter:
    """Test-sized 3D ViT (4^3 patches, 2 blocks, dim 32) + linear head; takes tiny_mae_vit3d's encoder."""
    return _create_volume_segmenter(**{**TINY_VIT3D, **kwargs})
