"""timm backbones as multi-scale feature extractors: ViT, DINOv2-style ViT-S/14, Swin V2, ConvNeXt.

timm builds the network (``pretrained=False``: nothing is downloaded) with ``in_chans`` from our
``in_channels``; ``weights=PATH`` then loads a local timm state dict (see ``weights.py``). The wrapper
returns a list of (B, C_i, H_i, W_i) maps through timm's ``forward_intermediates``:

- ViT: the tokens of the chosen blocks, after the final norm, reshaped to (B, D, H/p, W/p);
- ConvNeXt and Swin V2: the outputs of the chosen stages, at strides 4, 8, 16, 32. Swin's stages are
  channels-last (B, H, W, C); ``forward_intermediates`` permutes them to (B, C, H, W).

Layers after the last chosen index and the classifier head are pruned, so every parameter is used.
The caller pads its input to a multiple of ``pad_multiple`` (the patch size, or 32).
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from seiscli.errors import ConfigError, MissingDependencyError
from seiscli.models.weights import StateDict, load_backbone_weights

# timm name -> whether it takes an img_size. Transformers need one (a ViT's position-embedding grid, a
# Swin's windows) and get dynamic_img_size=True so that any padded size runs; ConvNeXt needs neither.
TIMM_BACKBONES: dict[str, bool] = {
    "vit_small_patch16_224": True,
    "vit_base_patch16_224": True,
    "vit_small_patch14_dinov2": True,
    "vit_small_patch8_224": True,
    "swinv2_tiny_window8_256": True,
    "convnext_tiny": False,
    "convnext_atto": False,
}


def _import_timm():
    try:
        import timm
    except ImportError:
        raise MissingDependencyError("timm is not installed", hint="pip install timm") from None
    return timm


def _checkpoint_filter(timm_name: str) -> Callable[[StateDict, nn.Module], StateDict]:
    """timm's own loading filter of the family (the one its pretrained loader uses)."""
    if timm_name.startswith("vit_"):
        from timm.models.vision_transformer import checkpoint_filter_fn
    elif timm_name.startswith("swinv2_"):
        from timm.models.swin_transformer_v2 import checkpoint_filter_fn
    else:
        return _convnext_filter
    return checkpoint_filter_fn


def _convnext_filter(state: StateDict, model: nn.Module) -> StateDict:
    """timm's ConvNeXt filter, skipped for files already in timm's layout.

    timm recognizes its own layout by the head norm, which a headless file (a backbone saved by seis)
    lacks: it would then rename ``head.*`` keys as if the file came from the original repository.
    """
    from timm.models.convnext import checkpoint_filter_fn

    return state if "stem.0.weight" in state else checkpoint_filter_fn(state, model)


def default_indices(num_features: int, count: int = 4) -> list[int]:
    """``count`` feature indices spread evenly and ending at the last: 12 blocks -> [2, 5, 8, 11]."""
    return sorted({max(0, (i + 1) * num_features // count - 1) for i in range(count)})


def _check_indices(indices: Sequence[int], num_features: int) -> list[int]:
    """``indices`` as sorted non-negative block/stage numbers; negative ones count from the end."""
    if not all(-num_features <= i < num_features for i in indices):
        raise ConfigError(f"feature indices {list(indices)} out of range for {num_features} blocks/stages")
    return sorted({i % num_features for i in indices})


def _timm_kwargs(timm_name: str, in_channels: int, img_size: int | None, overrides: dict) -> dict:
    if timm_name not in TIMM_BACKBONES:
        raise ConfigError(f"unsupported timm backbone {timm_name!r}", hint=f"one of: {', '.join(TIMM_BACKBONES)}")
    kwargs = {"pretrained": False, "num_classes": 0, "in_chans": in_channels, **overrides}
    if TIMM_BACKBONES[timm_name]:
        kwargs["dynamic_img_size"] = True
        if img_size is not None:
            kwargs["img_size"] = img_size
    elif img_size is not None:
        raise ConfigError(f"{timm_name} takes no img_size")
    return kwargs


class TimmBackbone(nn.Module):
    """A timm model seen as ``x (B, C, Hp, Wp) -> [(B, C_i, Hp/s_i, Wp/s_i), ...]``.

    ``channels``, ``strides`` (s_i) and ``pad_multiple`` describe the maps for the decoder.
    """

    def __init__(
        self,
        timm_name: str,
        in_channels: int = 1,
        indices: Sequence[int] | None = None,
        feature_count: int = 4,
        img_size: int | None = None,
        weights: str | Path | None = None,
        **overrides,
    ):
        super().__init__()
        timm = _import_timm()
        self.timm_name = timm_name
        self.model = timm.create_model(timm_name, **_timm_kwargs(timm_name, in_channels, img_size, overrides))
        info = self.model.feature_info
        self.indices = _check_indices(indices, len(info)) if indices else default_indices(len(info), feature_count)
        self.channels = [info[i]["num_chs"] for i in self.indices]
        self.strides = [info[i]["reduction"] for i in self.indices]
        self.pad_multiple = max(self.strides)
        self.model.prune_intermediate_layers(self.indices, prune_head=True)
        self.ignored_weights: list[str] = []  # keys of the weights file the pruned model has no use for
        if weights is not None:
            self.ignored_weights = load_backbone_weights(self.model, Path(weights), _checkpoint_filter(timm_name))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, Hp, Wp), Hp and Wp multiples of ``pad_multiple`` -> [(B, C_i, Hp/s_i, Wp/s_i), ...]."""
        return self.model.forward_intermediates(x, indices=self.indices, norm=True, intermediates_only=True)

    # A ViT as a sequence model, for the masked autoencoder: it embeds every patch, then transforms a subset.

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        """ViTs: (B, C, Hp, Wp) -> prefix (class) tokens (B, P, D), patch tokens (B, h*w, D) row-major, (h, w).

        Both carry their position embedding (resampled by timm when the grid is not the model's own).
        """
        vit = self.model
        patches = vit.patch_embed(x)  # (B, h, w, D): dynamic_img_size keeps the grid
        grid = tuple(patches.shape[1:3])
        sequence = vit.norm_pre(vit._pos_embed(patches))  # (B, P + h*w, D)
        return sequence[:, : vit.num_prefix_tokens], sequence[:, vit.num_prefix_tokens :], grid

    def transform(self, tokens: torch.Tensor) -> torch.Tensor:
        """ViTs: the blocks and the final norm over any subset of tokens, (B, T, D) -> (B, T, D)."""
        return self.model.norm(self.model.blocks(tokens))

    def fit_state(self, state: StateDict) -> StateDict:
        """Another checkpoint's tensors of this backbone (keys ``model.*``) fitted to it, for ``--init``.

        A ViT trained on another token grid (a masked autoencoder pretrained on 128 x 128 sections, say)
        has its position embedding resampled to ours by timm's loading filter, as for ``weights``; other
        families, and tensors that fit already, are returned as they are.
        """
        if not self.timm_name.startswith("vit_"):
            return state
        inner = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
        fitted = _checkpoint_filter(self.timm_name)(inner, self.model)
        return {**state, **{f"model.{k}": v for k, v in fitted.items()}}
