"""Masked autoencoders and the 3D ViTs: patches in the encoder's token order, exact masking ratio, a loss on
the hidden patches only, and every ``tiny_*`` model of the two families through forward, backward and its card."""

import json

import pytest
import torch

from seiscli.errors import ConfigError
from seiscli.models import create_model, list_models
from seiscli.models.mae import patchify, random_masking, unpatchify
from seiscli.training.reconstruction import MaskedReconstructionTask, normalize_patches

TINY_MAE = list_models("tiny_mae_*")
TINY_3D = list_models("tiny_vit3d_*")


def build(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, **kwargs)


def sample(*size: int, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 1, *size, generator=torch.Generator().manual_seed(1))  # (B, C, *S)


def shape_of(name: str) -> tuple[int, ...]:
    return (20, 16, 12) if "3d" in name else (56, 56)


def test_the_families_are_registered_with_their_twins():
    assert {"tiny_mae_vit", "tiny_mae_vit3d", "tiny_mae_vit8"} <= set(TINY_MAE)
    assert {"mae_vit_s16", "mae_vit_s14", "mae_vit_b16", "mae_vit3d_s16", "mae_vit_t8"} <= set(list_models("mae_*"))
    assert TINY_3D == ["tiny_vit3d_linear"]
    assert build("tiny_mae_vit").finetune_models == ["tiny_vit_dpt", "tiny_vit_linear", "tiny_vit_mla", "tiny_vit_pup"]
    assert build("tiny_mae_vit3d").finetune_models == ["tiny_vit3d_linear"]
    assert build("tiny_mae_vit8").finetune_models == ["tiny_vit8_unetr"]
    assert "vit_t8_unetr" in build("mae_vit_t8").finetune_models


@pytest.mark.parametrize("name", list_models("mae_*") + TINY_MAE)
def test_every_twin_takes_the_encoder_as_it_is(name):
    """The full-size zoo too, built on the meta device: same backbone tensors, same shapes."""
    with torch.device("meta"):
        model = create_model(name)
        encoder = {k: v.shape for k, v in model.state_dict().items() if k.startswith("backbone.")}
        assert model.finetune_models
        for twin in model.finetune_models:
            ours = {k: v.shape for k, v in create_model(twin).state_dict().items() if k.startswith("backbone.")}
            assert ours == encoder, twin


@pytest.mark.parametrize("size", [(56, 56), (28, 42), (12, 8, 16)])
def test_patches_are_the_tokens_of_the_patch_embedding(size):
    """patchify orders pixels as the patch embedding's kernel and patches as its tokens."""
    name = "tiny_mae_vit3d" if len(size) == 3 else "tiny_mae_vit"
    model = build(name, in_channels=2).eval()
    x = torch.randn(2, 2, *size)
    conv = model.backbone.patch_embed if len(size) == 3 else model.backbone.model.patch_embed.proj
    kernel = conv.weight.movedim(1, -1).reshape(conv.weight.shape[0], -1)  # (D, p^d * C), channels last
    tokens = patchify(x, model.patch) @ kernel.T + conv.bias  # (B, N, D)
    expected = conv(x).flatten(2).transpose(1, 2)  # (B, N, D)
    torch.testing.assert_close(tokens, expected, atol=1e-4, rtol=1e-4)
    assert torch.equal(unpatchify(patchify(x, model.patch), model.patch, size), x)


@pytest.mark.parametrize("ratio", [0.5, 0.75, 0.9])
@pytest.mark.parametrize("name", TINY_MAE)
def test_the_encoder_sees_exactly_the_unmasked_share(name, ratio):
    model = build(name, mask_ratio=ratio)
    seen = []
    first_block = model.backbone.blocks[0] if "3d" in name else model.backbone.model.blocks[0]
    first_block.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    output = model(sample(*shape_of(name)))
    tokens = output.mask.shape[1]
    visible = round(tokens * (1 - ratio))
    assert seen == [(2, 1 + visible, 32)]  # the class token and the visible patches, nothing else
    assert output.mask.sum(dim=1).tolist() == [tokens - visible] * 2
    assert len({tuple(row.tolist()) for row in output.mask}) == 2  # each sample has its own mask


def test_random_masks_of_a_slice_of_the_global_batch_are_that_slice():
    """DDP ranks mask their rows of the global batch as one process masks the whole batch."""
    whole = random_masking(4, 16, 4, torch.Generator().manual_seed(3))
    part = random_masking(2, 16, 4, torch.Generator().manual_seed(3), rows=(2, 4))
    assert torch.equal(part[0], whole[0][2:]) and torch.equal(part[1], whole[1][2:])
    assert torch.equal(whole[1].sum(1), torch.full((4,), 12.0))


def test_eval_masks_are_the_same_at_every_call():
    model = build("tiny_mae_vit").eval()
    x = sample(56, 56)
    assert torch.equal(model(x).mask, model(x).mask)
    model.train()
    assert not torch.equal(model(x).mask, model(x).mask)


def test_the_loss_looks_at_the_hidden_patches_only():
    output = build("tiny_mae_vit")(sample(56, 56))
    task = MaskedReconstructionTask()
    loss = task.loss(output)["loss"]
    visible = output.mask == 0  # (B, N)
    changed = output._replace(pred=output.pred.masked_fill(visible.unsqueeze(-1), 100.0))
    torch.testing.assert_close(task.loss(changed)["loss"], loss)
    hidden = output._replace(pred=output.pred.masked_fill(~visible.unsqueeze(-1), 100.0))
    assert task.loss(hidden)["loss"] > loss + 100
    perfect = output._replace(pred=normalize_patches(output.patches))
    assert task.loss(perfect)["loss"] < 1e-6 and task.predict(perfect).abs().max() < 1e-6


def test_normalized_patches_ignore_level_and_gain():
    patches = torch.randn(2, 5, 49)
    torch.testing.assert_close(normalize_patches(3 * patches + 7), normalize_patches(patches), atol=1e-4, rtol=1e-4)
    assert normalize_patches(torch.ones(1, 1, 49)).abs().max() == 0  # a flat patch (dead traces) is all zeros


def test_a_few_steps_on_one_batch_lower_the_loss():
    model, task = build("tiny_mae_vit"), MaskedReconstructionTask()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = torch.sin(torch.linspace(0, 12, 56)).reshape(1, 1, 56, 1).repeat(4, 1, 1, 56)  # (4, 1, 56, 56) layers
    x = x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = task.loss(model.eval()(x))["loss"].item()  # eval mode: the same masks every time
    model.train()
    for _ in range(10):
        loss = task.loss(model(x))["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = task.loss(model.eval()(x))["loss"].item()
    assert after < 0.85 * before


@pytest.mark.parametrize("name", TINY_MAE)
def test_backward_reaches_every_parameter(name):
    model = build(name)
    MaskedReconstructionTask().loss(model(sample(*shape_of(name))))["loss"].backward()
    untrained = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert untrained == []


@pytest.mark.parametrize("name", TINY_MAE)
def test_card_rebuilds_the_model_and_reconstructions_keep_the_input_size(name):
    model = build(name, in_channels=2).eval()
    card = json.loads(json.dumps(model.card_args))
    clone = create_model(card["name"], **card["kwargs"]).eval()
    clone.load_state_dict(model.state_dict())
    size = (13, 11, 9) if "3d" in name else (45, 51)  # not multiples of the patch: padded, then cropped back
    x = torch.randn(2, 2, *size)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        mask, reconstruction = clone.reconstruct(x)
        assert torch.equal(model(x).pred, clone(x).pred)
    assert mask.shape == (2, 1, *size) and reconstruction.shape == x.shape
    visible = mask.expand_as(x) == 0
    torch.testing.assert_close(reconstruction[visible], x[visible])  # the visible patches are the input's
    assert 0 < mask.mean() < 1


@pytest.mark.parametrize("name", TINY_MAE)
def test_a_masked_autoencoder_is_no_segmenter(name):
    with pytest.raises(ConfigError, match="no classes to fine-tune"):
        create_model(name, num_classes=2)


@pytest.mark.parametrize("size", [(16, 16, 16), (13, 9, 11)])
@pytest.mark.parametrize("name", TINY_3D)
def test_3d_segmenter_forward_backward_and_head(name, size):
    model = build(name, num_classes=3)
    x = torch.randn(2, 1, *size)
    logits = model(x)
    assert logits.shape == (2, 3, *size)
    torch.nn.functional.cross_entropy(logits, torch.randint(0, 3, (2, *size))).backward()
    without_gradient = [n for n, p in model.named_parameters() if p.grad is None]
    assert without_gradient == []
    model.reset_head(5)
    assert model(x).shape == (2, 5, *size) and model.card_args["kwargs"]["num_classes"] == 5
    rebuilt = create_model(model.card_args["name"], **model.card_args["kwargs"])
    rebuilt.load_state_dict(model.state_dict())
