"""LoRA adapters on the tiny backbones: what learns, how many parameters, merging, checkpoints, refusals."""

import copy

import pytest
import torch
from safetensors.torch import load_file

from seiscli.errors import ConfigError
from seiscli.models import create_model
from seiscli.models.lora import ATTENTION, MLP, LoraSettings, apply_lora, merge_lora, parameter_counts
from seiscli.training.checkpoint import load_checkpoint, merged_card, plain_weights, read_card, save_weights
from seiscli.training.engine import EngineOptions, make_optimizer

# (model, adapted layers): one per timm family; a ConvNeXt has MLP layers only (pointwise Conv2d in the tiny one)
FAMILIES = [("tiny_vit_mla", ATTENTION), ("tiny_swin_unet", ATTENTION + MLP), ("tiny_convnext_unet", MLP)]


def pretrained_like(model: torch.nn.Module) -> torch.nn.Module:
    """Random weights in which every block contributes, as in trained ones.

    timm starts a DINOv2-style ViT's layer scales at 1e-5 and a Swin V2 block's post-norms at 0, which
    makes freshly built blocks (nearly) the identity and their adapters (nearly) without effect.
    """
    with torch.no_grad():
        for name, parameter in model.backbone.named_parameters():
            if name.endswith(("gamma", "norm1.weight", "norm2.weight")):
                parameter.fill_(1.0)
    return model


def lora_model(name: str, targets=ATTENTION, rank: int = 4, alpha: float = 8.0, trained: bool = False):
    torch.manual_seed(0)
    model = apply_lora(pretrained_like(create_model(name)), LoraSettings(rank, alpha, 0.0, targets))
    if trained:  # adapters as after training: B away from its zero start
        with torch.no_grad():
            for key, parameter in model.named_parameters():
                if ".lora_B." in key:
                    parameter.normal_(0, 0.2)
    return model


def inputs(size: int = 40) -> torch.Tensor:
    return torch.randn(2, 1, size, size, generator=torch.Generator().manual_seed(1))  # (B, C, H, W)


@pytest.mark.parametrize(("name", "targets"), FAMILIES)
def test_only_adapters_and_decoder_learn_and_the_base_stays_bit_identical(name, targets):
    model = lora_model(name, targets)
    before = copy.deepcopy(model.state_dict())
    learning = {key for key, parameter in model.named_parameters() if parameter.requires_grad}
    adapters = {key for key in learning if ".lora_A." in key or ".lora_B." in key}
    assert adapters and learning == adapters | {key for key, _ in model.decoder.named_parameters(prefix="decoder")}
    optimizer = make_optimizer(model, EngineOptions(lr=1e-2))
    for _ in range(3):
        optimizer.zero_grad()
        (model(inputs()) ** 2).mean().backward()
        assert all(p.grad is None for key, p in model.named_parameters() if key not in learning)
        # every adapter is on the path of the forward pass (Swin V2's fused qkv would bypass one)
        assert all(model.get_parameter(key).grad.abs().sum() > 0 for key in adapters if ".lora_A." not in key)
        optimizer.step()
    after = model.state_dict()
    frozen = [key for key in before if key.startswith("backbone.") and key not in adapters]
    assert frozen and all(torch.equal(before[key], after[key]) for key in frozen)
    assert all(not torch.equal(before[key], after[key]) for key in learning)


def test_parameter_counts_by_hand():
    plain = create_model(
        "tiny_vit_mla"
    )  # 4 blocks of width 32: qkv 32 -> 96, proj 32 -> 32, fc1 32 -> 128, fc2 128 -> 32
    total = sum(p.numel() for p in plain.parameters())
    decoder = sum(p.numel() for p in plain.decoder.parameters())
    attention = 4 * 4 * ((32 + 96) + (32 + 32))  # blocks x rank x (in + out) of each adapted layer
    mlp = 4 * 4 * ((32 + 128) + (128 + 32))
    assert parameter_counts(plain) == {"total": total, "trainable": total, "adapters": 0}
    assert parameter_counts(lora_model("tiny_vit_mla")) == {
        "total": total + attention,
        "trainable": decoder + attention,
        "adapters": attention,
    }
    assert parameter_counts(lora_model("tiny_vit_mla", ATTENTION + MLP))["adapters"] == attention + mlp
    convnext = 2 * sum(2 * (d + 4 * d) for d in (8, 16, 32, 64))  # rank 2; one block per stage, d -> 4d -> d
    assert parameter_counts(lora_model("tiny_convnext_unet", MLP, rank=2))["adapters"] == convnext


@pytest.mark.parametrize(("name", "targets"), FAMILIES)
def test_merged_model_is_the_plain_model_with_the_same_outputs(name, targets):
    model = lora_model(name, targets, trained=True).eval()
    x = inputs()
    with torch.no_grad():
        adapted, features = model(x), model.forward_features(x)
        base = lora_model(name, targets).eval().forward_features(x)  # the same model with untrained adapters
        assert max((a - b).abs().max() for a, b in zip(features, base)) > 0.1  # the adapters matter
        merged = merge_lora(model)
        for ours, theirs in zip(merged.forward_features(x), features):
            torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(merged(x), adapted, rtol=1e-4, atol=1e-4)
        assert "lora" not in merged.card_args and all(p.requires_grad for p in merged.parameters())
        assert not any("peft" in type(module).__module__ for module in merged.modules())
        plain = create_model(name)
        plain.load_state_dict(merged.state_dict())  # strict: exactly the registered model's tensors
        assert torch.equal(plain.eval()(x), merged(x))


def test_checkpoint_rebuilds_the_adapters_or_gives_the_merged_plain_model(tmp_path):
    model = lora_model("tiny_vit_mla", ATTENTION + MLP, trained=True).eval()
    path = tmp_path / "lora.safetensors"
    save_weights(path, model.state_dict(), {"model": model.card_args})
    card = read_card(path)
    assert card["model"]["lora"] == {"rank": 4, "alpha": 8.0, "dropout": 0.0, "targets": list(ATTENTION + MLP)}
    x = inputs()
    loaded_card, loaded = load_checkpoint(path)
    assert loaded_card == card and parameter_counts(loaded)["adapters"] == parameter_counts(model)["adapters"]
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        merged_card_, merged = load_checkpoint(path, merge=True)
        assert merged_card_ == merged_card(card) and "lora" not in merged_card_["model"]
        assert merged_card_["merged_lora"] == card["model"]["lora"]
        torch.testing.assert_close(merged(x), model(x), rtol=1e-4, atol=1e-4)
        # the merged weights saved as an ordinary checkpoint load without PEFT
        plain_path = tmp_path / "merged.safetensors"
        save_weights(plain_path, merged.state_dict(), merged_card_)
        assert not any(".lora_" in key or "base_layer" in key for key in load_file(plain_path))
        _, plain = load_checkpoint(plain_path)
        assert torch.equal(plain(x), merged(x))
    weights = plain_weights(path)
    assert weights.keys() == create_model("tiny_vit_mla").state_dict().keys()
    assert all(torch.equal(weights[key], value) for key, value in merged.state_dict().items())


def test_refusals():
    with pytest.raises(ConfigError, match="tiny_unet has no backbone layers attn.qkv, attn.proj to adapt"):
        apply_lora(create_model("tiny_unet"), LoraSettings())
    with pytest.raises(ConfigError, match="tiny_convnext_unet has no backbone layers") as refused:
        apply_lora(create_model("tiny_convnext_unet"), LoraSettings())
    assert "ConvNeXt ones with --lora-mlp" in refused.value.hint
    with pytest.raises(ConfigError, match="--lora-rank 33 exceeds the width of model.blocks.0.attn.qkv"):
        apply_lora(create_model("tiny_vit_mla"), LoraSettings(rank=33))
