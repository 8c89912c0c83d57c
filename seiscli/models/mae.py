"""Masked autoencoders (He et al. 2022) for self-supervised pretraining on unlabelled sections and cubes.

The input is cut into patches (2D squares or 3D cubes); a random ``mask_ratio`` of them is hidden and
the encoder sees only the rest. A light transformer decoder gets the encoded visible tokens back in
place, a shared learned mask token everywhere else and fixed sine-cosine positions, and predicts the
pixels of every patch. The loss (``seiscli.training.reconstruction``) compares the masked patches only,
each normalized by its own mean and variance.

The encoder is the very module the segmenters use, under the same attribute name ``backbone``: a
``TimmBackbone`` ViT for sections, a ``VolumeViT`` for cubes. A pretraining checkpoint's ``backbone.*``
tensors therefore load into the encoder twin named by ``finetune_models`` (``seis finetune --init``).

The forward pass returns ``MAEOutput``: predictions and the true patches, token by token, and the mask.
"""

import math
from typing import NamedTuple

import torch
from torch import nn

from seiscli.errors import ConfigError
from seiscli.models.backbones import TimmBackbone, _import_timm
from seiscli.models.layers import crop, pad_to_multiple, sincos_positions
from seiscli.models.registry import card_args, list_models, model_entry, register_model
from seiscli.models.segmenter import (
    DECODER_PREFIX,
    TINY_VIT,
    TINY_VIT8,
    VIT_B16,
    VIT_DEFAULTS,
    VIT_S8,
    VIT_S14,
    VIT_S16,
    VIT_T8,
)
from seiscli.models.vit3d import TINY_VIT3D, VIT3D_S16, VolumeViT

EVAL_MASK_SEED = 0  # in eval mode every call draws its masks from this seed: validation losses compare


class MAEOutput(NamedTuple):
    pred: torch.Tensor  # (B, N, P) predicted pixels of every patch, in per-patch normalized units
    patches: torch.Tensor  # (B, N, P) the input's pixels, patch by patch (P = C * patch volume)
    mask: torch.Tensor  # (B, N) 1 where the patch was hidden from the encoder, 0 where visible


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, *S), every side a multiple of ``patch`` -> (B, N, patch**d * C), patches in row-major order."""
    b, c, *size = x.shape
    d = len(size)
    grid = [s // patch for s in size]
    x = x.reshape(b, c, *(n for g in grid for n in (g, patch)))  # (B, C, g1, p, g2, p[, g3, p])
    order = [0, *range(2, 2 + 2 * d, 2), *range(3, 3 + 2 * d, 2), 1]  # (B, g1, g2[, g3], p, p[, p], C)
    return x.permute(order).reshape(b, math.prod(grid), patch**d * c)


def unpatchify(patches: torch.Tensor, patch: int, size: tuple[int, ...]) -> torch.Tensor:
    """The inverse of ``patchify``: (B, N, patch**d * C) -> (B, C, *size)."""
    b, d = len(patches), len(size)
    grid = [s // patch for s in size]
    x = patches.reshape(b, *grid, *([patch] * d), -1)  # (B, g1, g2[, g3], p, p[, p], C)
    order = [0, 1 + 2 * d, *(k for axis in range(d) for k in (1 + axis, 1 + d + axis))]  # (B, C, g1, p, g2, p ...)
    return x.permute(order).reshape(b, -1, *size)


def random_masking(batch: int, tokens: int, visible: int, generator: torch.Generator | None = None,
                   rows: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Per sample, a uniformly random set of ``visible`` of ``tokens`` positions (drawn on the CPU).

    Returns the visible positions (B, V) and the mask (B, N): 1 hidden, 0 visible. ``rows`` = (first,
    total) draws the masks of a larger batch and keeps ``batch`` of its rows from ``first`` on: DDP ranks
    thus mask their slice of the global batch as one process would mask the whole of it.
    """
    first, total = rows or (0, batch)
    noise = torch.rand(total, tokens, generator=generator)[first : first + batch]  # (B, N)
    keep = noise.argsort(dim=1)[:, :visible]  # (B, V)
    mask = torch.ones(batch, tokens).scatter(1, keep, 0.0)  # (B, N)
    return keep, mask


def _global_rows(batch: int) -> tuple[int, int]:
    """(first row, global batch) of this rank's part of the global batch; (0, batch) in a single process."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return 0, batch
    return dist.get_rank() * batch, dist.get_world_size() * batch


class MAEDecoder(nn.Module):
    """Visible latents back in place among mask tokens, sine-cosine positions, ``depth`` Blocks, a pixel head."""

    def __init__(self, embed_dim: int, dim: int, depth: int, num_heads: int, patch_pixels: int):
        super().__init__()
        block = _import_timm().models.vision_transformer.Block
        self.embed = nn.Linear(embed_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.Sequential(*(block(dim, num_heads, 4.0, qkv_bias=True) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, patch_pixels)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, prefix: torch.Tensor, visible: torch.Tensor, keep: torch.Tensor,
                grid: tuple[int, ...]) -> torch.Tensor:  # fmt: skip
        """Latents: prefix (B, P, E), visible (B, V, E) at positions ``keep`` (B, V) -> pixels (B, N, patch_pixels)."""
        prefix, visible = self.embed(prefix), self.embed(visible)  # (B, P, Dd), (B, V, Dd)
        b, _, dim = visible.shape
        slots = keep.unsqueeze(-1).expand(-1, -1, dim)  # (B, V, Dd)
        mask_tokens = self.mask_token.to(visible.dtype).expand(b, math.prod(grid), dim)  # (B, N, Dd)
        tokens = mask_tokens.scatter(1, slots, visible)  # (B, N, Dd): the visible latents in their places
        tokens = tokens + sincos_positions(grid, dim).to(tokens)  # (B, N, Dd)
        x = self.norm(self.blocks(torch.cat([prefix, tokens], dim=1)))  # (B, P + N, Dd)
        return self.head(x[:, prefix.shape[1] :])  # (B, N, patch_pixels)


class MaskedAutoencoder(nn.Module):
    """``backbone`` (the encoder to keep) + ``decoder`` (thrown away after pretraining)."""

    def __init__(self, backbone: nn.Module, in_channels: int, spatial_dims: int, mask_ratio: float = 0.75,
                 dim: int = 256, depth: int = 4, num_heads: int = 8):  # fmt: skip
        super().__init__()
        if not 0 < mask_ratio < 1:
            raise ConfigError(f"mask_ratio must be between 0 and 1 (exclusive), got {mask_ratio}")
        self.backbone = backbone
        self.patch = backbone.strides[-1]
        self.spatial_dims = spatial_dims
        self.mask_ratio = mask_ratio
        pixels = in_channels * self.patch**spatial_dims
        self.decoder = MAEDecoder(backbone.channels[-1], dim, depth, num_heads, pixels)

    def visible_count(self, tokens: int) -> int:
        """Patches the encoder sees: ``round(tokens * (1 - mask_ratio))``, at least one and never all."""
        return min(tokens - 1, max(1, round(tokens * (1 - self.mask_ratio))))

    def forward(self, x: torch.Tensor) -> MAEOutput:
        """(B, C, *S) -> MAEOutput; sides not multiples of the patch are mirror-padded first."""
        x = pad_to_multiple(x, self.patch)  # (B, C, *Sp)
        prefix, tokens, grid = self.backbone.tokens(x)  # (B, P, E), (B, N, E)
        keep, mask = self._masks(len(x), tokens.shape[1])
        keep, mask = keep.to(x.device), mask.to(x.device)
        visible = tokens.gather(1, keep.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))  # (B, V, E)
        latent = self.backbone.transform(torch.cat([prefix, visible], dim=1))  # (B, P + V, E)
        count = prefix.shape[1]
        pred = self.decoder(latent[:, :count], latent[:, count:], keep, grid)  # (B, N, pixels)
        return MAEOutput(pred, patchify(x, self.patch), mask)

    def _masks(self, batch: int, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Random masks from torch's global generator in training; from a fixed seed in eval mode."""
        generator = None if self.training else torch.Generator().manual_seed(EVAL_MASK_SEED)
        rows = _global_rows(batch) if self.training else None
        return random_masking(batch, tokens, self.visible_count(tokens), generator, rows)

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the model makes of ``x`` (B, C, *S): the mask as an image (B, 1, *S), 1 where hidden, and
        the reconstruction (B, C, *S): the visible patches as they are, the hidden ones as predicted.

        Predictions are in per-patch normalized units; each is brought back with the true patch's mean
        and standard deviation, as the loss defines them.
        """
        from seiscli.training.reconstruction import denormalize_patches

        output = self(x)
        size, padded = tuple(x.shape[2:]), tuple(pad_to_multiple(x, self.patch).shape[2:])
        hidden = output.mask.unsqueeze(-1).expand_as(output.patches).to(output.patches)  # (B, N, pixels)
        predicted = denormalize_patches(output.pred.float(), output.patches.float())  # (B, N, pixels)
        rebuilt = output.patches * (1 - hidden) + predicted * hidden  # (B, N, pixels)
        mask, reconstruction = (crop(unpatchify(p, self.patch, padded), size) for p in (hidden, rebuilt))
        return mask[:, :1], reconstruction  # (B, 1, *S), (B, C, *S)


def _create_mae(encoder: str, twins: str, **kwargs) -> MaskedAutoencoder:
    """A masked autoencoder on the ``encoder`` ViT (a timm name, or "volume"); ``twins`` its finetune models."""
    if "num_classes" in kwargs:
        raise ConfigError("a masked autoencoder is pretrained with seis pretrain; it has no classes to fine-tune",
                          hint=f"pretrain it, then seis finetune --init CHECKPOINT --model one of: "
                               f"{', '.join(list_models(twins))}")  # fmt: skip
    kwargs = {"in_channels": 1, "mask_ratio": 0.75, **kwargs}
    decoder = {k.removeprefix(DECODER_PREFIX): v for k, v in kwargs.items() if k.startswith(DECODER_PREFIX)}
    options = {k: v for k, v in kwargs.items() if not k.startswith(DECODER_PREFIX) and k != "mask_ratio"}
    backbone = VolumeViT(**options) if encoder == "volume" else TimmBackbone(encoder, feature_count=1, **options)
    spatial_dims = 3 if encoder == "volume" else 2
    model = MaskedAutoencoder(backbone, kwargs["in_channels"], spatial_dims, kwargs["mask_ratio"], **decoder)
    model.card_args = card_args(kwargs)
    model.finetune_models = list_models(twins)
    return model


def is_masked_autoencoder(name: str) -> bool:
    """Whether the registered model ``name`` is one of this module's (what seis pretrain trains)."""
    return model_entry(name).module == __name__


# The encoders are the segmenters' (same timm model, same img_size); the decoders follow MAE's light design,
# a fraction of the encoder's width and depth.
DECODER_S = {"decoder_dim": 256, "decoder_depth": 4, "decoder_num_heads": 8}
DECODER_B = {"decoder_dim": 512, "decoder_depth": 8, "decoder_num_heads": 16}
DECODER_T = {"decoder_dim": 128, "decoder_depth": 2, "decoder_num_heads": 4}
DECODER_TINY = {"decoder_dim": 16, "decoder_depth": 1, "decoder_num_heads": 2}
TINY_VIT_ENCODER = {k: v for k, v in TINY_VIT.items() if not k.startswith(DECODER_PREFIX)}
TINY_VIT8_ENCODER = {k: v for k, v in TINY_VIT8.items() if not k.startswith(DECODER_PREFIX)}


@register_model
def mae_vit_s16(**kwargs) -> MaskedAutoencoder:
    """MAE on ViT-S/16; its encoder fine-tunes as vit_s16_* (linear, pup, mla, dpt)."""
    return _create_mae(VIT_S16, "vit_s16_*", **{**VIT_DEFAULTS, **DECODER_S, **kwargs})


@register_model
def mae_vit_s14(**kwargs) -> MaskedAutoencoder:
    """MAE on the DINOv2-style ViT-S/14; its encoder fine-tunes as vit_s14_* (linear, pup, mla, dpt)."""
    return _create_mae(VIT_S14, "vit_s14_*", **{**VIT_DEFAULTS, **DECODER_S, **kwargs})


@register_model
def mae_vit_t8(**kwargs) -> MaskedAutoencoder:
    """MAE on ViT-Ti/8 (decoder 128 wide, 2 blocks); its encoder fine-tunes as vit_t8_* (unetr, linear, pup ...)."""
    return _create_mae(VIT_S8, "vit_t8_*", **{**VIT_T8, **DECODER_T, **kwargs})


@register_model
def mae_vit_b16(**kwargs) -> MaskedAutoencoder:
    """MAE on ViT-B/16 (decoder 512 wide, 8 blocks); its encoder fine-tunes as vit_b16_* (linear, dpt)."""
    return _create_mae(VIT_B16, "vit_b16_*", **{**VIT_DEFAULTS, **DECODER_B, **kwargs})


@register_model
def mae_vit3d_s16(**kwargs) -> MaskedAutoencoder:
    """MAE on cubes with a 3D ViT-S/16 (16^3 patches); its encoder fine-tunes as vit3d_s16_linear."""
    return _create_mae("volume", "vit3d_s16_*", **{**VIT3D_S16, **DECODER_S, **kwargs})


@register_model
def tiny_mae_vit(**kwargs) -> MaskedAutoencoder:
    """Test-sized MAE on the tiny ViT/14 (4 blocks, dim 32); its encoder fine-tunes as tiny_vit_*."""
    return _create_mae(VIT_S14, "tiny_vit_*", **{**TINY_VIT_ENCODER, **DECODER_TINY, **kwargs})


@register_model
def tiny_mae_vit3d(**kwargs) -> MaskedAutoencoder:
    """Test-sized MAE on cubes (4^3 patches, 2 blocks, dim 32); its encoder fine-tunes as tiny_vit3d_linear."""
    return _create_mae("volume", "tiny_vit3d_*", **{**TINY_VIT3D, **DECODER_TINY, **kwargs})


@register_model
def tiny_mae_vit8(**kwargs) -> MaskedAutoencoder:
    """Test-sized MAE on the tiny ViT/8 (3 blocks, dim 32); its encoder fine-tunes as tiny_vit8_unetr."""
    return _create_mae(VIT_S8, "tiny_vit8_*", **{**TINY_VIT8_ENCODER, **DECODER_TINY, **kwargs})
