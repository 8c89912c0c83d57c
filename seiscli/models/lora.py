"""LoRA adapters (PEFT) on a segmenter's backbone: low-rank updates of its projections, the rest frozen.

``apply_lora`` wraps the backbone's attention projections (``attn.qkv`` and ``attn.proj`` of timm's ViT
and Swin V2 blocks) and optionally its MLP layers (``mlp.fc1``, ``mlp.fc2``, which are also the pointwise
layers of a ConvNeXt block) in PEFT LoRA layers::

    y = W x + (alpha / rank) B A x        A: (rank, in), B: (out, rank), B = 0 at the start

so the adapted model starts as the base model. In the backbone only A and B learn; the base weights
stay bit-identical. The decoder is left alone and trains in full.

The settings go into ``model.card_args["lora"]`` and so into every checkpoint's card, which stores the
adapted layers as PEFT names them (``...attn.qkv.base_layer.weight``, ``...attn.qkv.lora_A.default.weight``):
a checkpoint rebuilds the same adapters before loading its weights. ``merge_lora`` folds the adapters
into the base weights and unwraps them, leaving the plain registered model without a trace of PEFT.
"""

from dataclasses import asdict, dataclass

from torch import nn

from seiscli.errors import ConfigError, MissingDependencyError

ATTENTION = ("attn.qkv", "attn.proj")
MLP = ("mlp.fc1", "mlp.fc2")
ADAPTER_MARK = ".lora_"  # in the name of every adapter tensor: ...qkv.lora_A.default.weight


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0  # on the adapter's input
    targets: tuple[str, ...] = ATTENTION  # endings of the adapted layers' names

    def card(self) -> dict:
        return {**asdict(self), "targets": list(self.targets)}

    @classmethod
    def from_card(cls, card: dict) -> "LoraSettings":
        return cls(**{**card, "targets": tuple(card["targets"])})


def _import_peft():
    try:
        import peft
    except ImportError:
        raise MissingDependencyError("LoRA needs the peft package", hint="pip install peft") from None
    return peft


def _adaptable(module: nn.Module) -> bool:
    """A linear layer: nn.Linear, or a pointwise Conv2d (a ConvNeXt's MLP on channels-first maps)."""
    if isinstance(module, nn.Conv2d):
        return module.kernel_size == (1, 1) and module.groups == 1
    return isinstance(module, nn.Linear)


def target_modules(backbone: nn.Module, targets: tuple[str, ...]) -> list[str]:
    """Names (in ``backbone``) of the linear layers whose names end in one of ``targets``."""
    endings = tuple("." + target for target in targets)
    return [name for name, module in backbone.named_modules() if name.endswith(endings) and _adaptable(module)]


def _check_rank(backbone: nn.Module, names: list[str], rank: int) -> None:
    for name in names:
        weight = backbone.get_submodule(name).weight  # (out, in) or (out, in, 1, 1)
        if rank > min(weight.shape[:2]):
            raise ConfigError(f"--lora-rank {rank} exceeds the width of {name} ({min(weight.shape[:2])})",
                              "a rank above a layer's width adds nothing: choose a smaller --lora-rank")  # fmt: skip


def _call_qkv_layer(backbone: nn.Module, names: list[str], on: bool) -> None:
    """Make timm's Swin V2 attention call its ``qkv`` layer (``on``), or go back to its fused default.

    With its q/v biases it computes ``F.linear(x, qkv.weight, bias)``, which would bypass an adapter
    on ``qkv``; its ``qkv_bias_separate`` switch computes ``qkv(x) + bias`` instead, the same result.
    """
    for name in names:
        attention = backbone.get_submodule(name.rpartition(".")[0])
        if name.endswith(".qkv") and getattr(attention, "q_bias", None) is not None:
            attention.qkv_bias_separate = on


def apply_lora(model: nn.Module, settings: LoraSettings) -> nn.Module:
    """Wrap the backbone's ``settings.targets`` layers in LoRA adapters; the rest of the backbone stops learning."""
    backbone = getattr(model, "backbone", None)
    names = target_modules(backbone, settings.targets) if isinstance(backbone, nn.Module) else []
    if not names:
        raise ConfigError(
            f"--lora: {model.card_args['name']} has no backbone layers {', '.join(settings.targets)} to adapt",
            "LoRA adapts transformer backbones (vit_*, swinv2_*), and ConvNeXt ones with --lora-mlp",
        )
    _check_rank(backbone, names, settings.rank)
    peft = _import_peft()
    _call_qkv_layer(backbone, names, True)
    config = peft.LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                             target_modules=names, bias="none")  # fmt: skip
    peft.inject_adapter_in_model(config, backbone)
    for name, parameter in backbone.named_parameters():
        parameter.requires_grad_(ADAPTER_MARK in name)
    model.card_args = {**model.card_args, "lora": settings.card()}
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its base layer and put the base layer back: the plain registered model."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    backbone = model.backbone
    adapted = [name for name, module in backbone.named_modules() if isinstance(module, BaseTunerLayer)]
    for name in adapted:
        layer = backbone.get_submodule(name)
        layer.merge(safe_merge=True)  # W + (alpha / rank) B A, refused if it is not finite
        parent, _, child = name.rpartition(".")
        setattr(backbone.get_submodule(parent), child, layer.get_base_layer())
    _call_qkv_layer(backbone, adapted, False)
    if hasattr(backbone, "peft_config"):
        del backbone.peft_config
    model.requires_grad_(True)
    model.card_args = {key: value for key, value in model.card_args.items() if key != "lora"}
    return model


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """How many parameters the model has, how many learn, and how many of them are LoRA adapters."""
    named = list(model.named_parameters())
    return {
        "total": sum(p.numel() for _, p in named),
        "trainable": sum(p.numel() for _, p in named if p.requires_grad),
        "adapters": sum(p.numel() for name, p in named if ADAPTER_MARK in name),
    }
