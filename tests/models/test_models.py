"""The model zoo: every ``tiny_*`` model through forward, backward, an optimizer step, ``reset_head``,
the checkpoint card and bf16 autocast; backbone weights from local files; the registry itself.

Models registered with ``takes_out_size`` (velocity) take shot gathers (B, SHOTS, T, R) and give maps of
OUT_SIZE; the others keep the input's size."""

import json

import pytest
import torch
import torch.nn.functional as F

from seiscli.errors import ConfigError, InputNotFoundError
from seiscli.models import create_model, list_models, model_entry, register_model
from seiscli.models.weights import adapt_stem

# Segmenters of sections; masked autoencoders and the 3D ViTs have their own tests (test_mae.py).
OWN_TESTS = ("seiscli.models.mae", "seiscli.models.vit3d")
TINY = [name for name in list_models("tiny_*") if model_entry(name).module not in OWN_TESTS]
NUM_CLASSES = 3
SHOTS, OUT_SIZE = 5, (16, 16)
FULL_SIZE = {
    "unet", "unet_small", "res_unet",
    "vit_s16_linear", "vit_s16_pup", "vit_s16_mla", "vit_s16_dpt",
    "vit_s14_linear", "vit_s14_pup", "vit_s14_mla", "vit_s14_dpt",
    "vit_b16_linear", "vit_b16_dpt",
    "vit_t8_linear", "vit_t8_pup", "vit_t8_mla", "vit_t8_dpt", "vit_t8_unetr",
    "convnext_unet", "convnext_atto_unet", "swinv2_unet",
    "inversionnet", "inversionnet_small", "swinv2_velocity_unet",
}  # fmt: skip
TINY_TIMM = ["tiny_vit_linear", "tiny_convnext_unet", "tiny_swin_unet"]  # one per timm family


def build(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    if model_entry(name).takes_out_size:
        kwargs = {"in_channels": SHOTS, "out_size": OUT_SIZE, **kwargs}
    return create_model(name, **{"num_classes": NUM_CLASSES, **kwargs})


def out_size(name: str, size: tuple[int, int]) -> tuple[int, int]:
    """The size of the model's output maps for an input of spatial ``size``."""
    return OUT_SIZE if model_entry(name).takes_out_size else size


def batch(height: int = 64, width: int = 64, model: str = "tiny_unet") -> tuple[torch.Tensor, torch.Tensor]:
    """An input (B, C, H, W) for ``model`` (C = SHOTS for velocity models) and class ids of its output size."""
    generator = torch.Generator().manual_seed(1)
    channels = SHOTS if model_entry(model).takes_out_size else 1
    x = torch.randn(2, channels, height, width, generator=generator)  # (B, C, H, W)
    y = torch.randint(0, NUM_CLASSES, (2, *out_size(model, (height, width))), generator=generator)  # (B, H', W')
    return x, y


def test_tiny_models_exist():
    assert {"tiny_unet", "tiny_vit_linear", "tiny_vit_mla", "tiny_vit_pup", "tiny_vit_dpt"} <= set(TINY)
    assert {"tiny_convnext_unet", "tiny_swin_unet", "tiny_vit8_unetr"} <= set(TINY)
    assert {"tiny_inversionnet", "tiny_swin_velocity_unet"} <= set(TINY)


@pytest.mark.parametrize("size", [(64, 64), (101, 101), (45, 77)])
@pytest.mark.parametrize("name", TINY)
def test_forward_gives_the_output_size(name, size):
    x, _ = batch(*size, model=name)
    logits = build(name)(x)
    assert logits.shape == (2, NUM_CLASSES, *out_size(name, size))
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", TINY)
def test_forward_is_features_then_head(name):
    model = build(name).eval()
    x, _ = batch(101, 101, model=name)
    with torch.no_grad():
        features = model.forward_features(x)
        logits = model.forward_head(features, out_size(name, (101, 101)))
        assert torch.equal(logits, model(x))
    assert isinstance(features, list) and features
    assert all(f.ndim == 4 and f.shape[0] == 2 for f in features)  # (B, C_i, H_i, W_i), never channels-last
    widths = [f.shape[-1] for f in features]
    assert widths == sorted(widths, reverse=True)


@pytest.mark.parametrize("name", TINY)
def test_backward_reaches_every_parameter(name):
    model = build(name)
    x, y = batch(model=name)
    F.cross_entropy(model(x), y).backward()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    without_gradient = [n for n, p in params if p.grad is None]
    assert without_gradient == []
    not_finite = [n for n, p in params if not torch.isfinite(p.grad).all()]
    assert not_finite == []


@pytest.mark.parametrize("name", TINY)
def test_one_adamw_step_lowers_the_loss(name):
    model = build(name)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = batch(model=name)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        after = F.cross_entropy(model(x), y)
    assert after.item() < loss.item()


@pytest.mark.parametrize("name", TINY)
def test_reset_head_changes_the_classes_and_keeps_the_rest(name):
    model = build(name).eval()
    before = {k: v.clone() for k, v in model.state_dict().items() if "classifier." not in k}
    model.reset_head(5)
    x, _ = batch(101, 101, model=name)
    with torch.no_grad():
        assert model(x).shape == (2, 5, *out_size(name, (101, 101)))
    after = model.state_dict()
    changed = [k for k, v in before.items() if not torch.equal(v, after[k])]
    assert changed == []
    assert model.card_args["kwargs"]["num_classes"] == 5
    rebuilt = create_model(model.card_args["name"], **model.card_args["kwargs"])
    rebuilt.load_state_dict(after)  # strict: the card describes the changed model


@pytest.mark.parametrize("name", TINY)
def test_card_rebuilds_the_model(name):
    model = build(name).eval()
    card = json.loads(json.dumps(model.card_args))  # what a checkpoint stores and reads back
    assert card["name"] == name
    assert "weights" not in card["kwargs"]
    clone = create_model(card["name"], **card["kwargs"]).eval()
    clone.load_state_dict(model.state_dict())
    x, _ = batch(101, 101, model=name)
    with torch.no_grad():
        assert torch.equal(model(x), clone(x))


@pytest.mark.parametrize("name", TINY)
def test_bf16_autocast_forward(name):
    model = build(name).eval()
    x, _ = batch(101, 101, model=name)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x)
    assert logits.shape == (2, NUM_CLASSES, *out_size(name, (101, 101)))
    assert torch.isfinite(logits.float()).all()


@pytest.mark.parametrize("name", ["tiny_vit_dpt", "tiny_convnext_unet", "tiny_vit8_unetr"])
def test_decoders_take_group_norm(name):
    model = build(name, decoder_norm="group")
    assert any(isinstance(m, torch.nn.GroupNorm) for m in model.modules())
    assert model(batch(101, 101)[0]).shape == (2, NUM_CLASSES, 101, 101)


def test_duplicate_registration_raises():
    original = model_entry("tiny_unet").fn

    def tiny_unet(**kwargs):
        raise AssertionError("never built")

    with pytest.raises(ValueError, match="already registered"):
        register_model(tiny_unet)
    assert model_entry("tiny_unet").fn is original


def test_unknown_model_is_a_user_error():
    with pytest.raises(ConfigError, match="unknown model"):
        create_model("no_such_model")


def test_list_models_holds_the_full_size_zoo():
    assert FULL_SIZE <= set(list_models())
    assert list_models("vit_s14_*") == ["vit_s14_dpt", "vit_s14_linear", "vit_s14_mla", "vit_s14_pup"]
    assert all(model_entry(name).doc for name in list_models())


def test_unet_is_the_two_million_parameter_baseline():
    model = create_model("unet").eval()
    assert 1.85e6 < sum(p.numel() for p in model.parameters()) < 2.0e6
    with torch.no_grad():
        assert model(batch(101, 101)[0]).shape == (2, 2, 101, 101)


def save(state: dict, path) -> None:
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, path)
    else:
        torch.save(state, path)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
@pytest.mark.parametrize("name", TINY_TIMM)
def test_rgb_weights_load_into_one_channel_model(name, suffix, tmp_path):
    rgb = build(name, in_channels=3).backbone.model.state_dict()
    path = tmp_path / f"backbone{suffix}"
    save(rgb, path)
    model = build(name, in_channels=1, weights=str(path))
    loaded = model.backbone.model.state_dict()
    stem = model.backbone.model.pretrained_cfg["first_conv"] + ".weight"
    assert rgb[stem].shape[1] == 3 and loaded[stem].shape[1] == 1
    torch.testing.assert_close(loaded[stem], rgb[stem].sum(dim=1, keepdim=True))  # summed, not averaged
    changed = [k for k in loaded if k != stem and not torch.equal(loaded[k], rgb[k])]
    assert changed == []
    assert "weights" not in model.card_args["kwargs"]


def test_vit_weights_of_another_grid_are_resampled(tmp_path):
    path = tmp_path / "vit.safetensors"
    save(build("tiny_vit_linear", img_size=56).backbone.model.state_dict(), path)  # 4 x 4 tokens
    model = build("tiny_vit_linear", img_size=112, weights=path)  # 8 x 8 tokens
    assert model.backbone.model.pos_embed.shape[1] == 1 + 8 * 8
    assert model(batch(101, 101)[0]).shape == (2, NUM_CLASSES, 101, 101)


def test_wrapped_checkpoint_loads_and_reports_the_unused_keys(tmp_path):
    path = tmp_path / "wrapped.pth"
    state = build("tiny_convnext_unet").backbone.model.state_dict()
    torch.save({"model": {**state, "head.fc.weight": torch.zeros(10, 64)}}, path)
    model = build("tiny_convnext_unet", weights=path)
    assert model.backbone.ignored_weights == ["head.fc.weight"]


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "convnext.safetensors"
    save(build("tiny_convnext_unet").backbone.model.state_dict(), path)
    with pytest.raises(ConfigError, match="lacks"):
        build("tiny_vit_linear", weights=path)
    with pytest.raises(ConfigError, match="does not fit"):
        build("tiny_convnext_unet", dims=(16, 32, 64, 128), weights=path)
    with pytest.raises(InputNotFoundError):
        build("tiny_vit_linear", weights=tmp_path / "missing.safetensors")


def test_unet_refuses_backbone_weights(tmp_path):
    with pytest.raises(ConfigError, match="no pretrained backbone"):
        create_model("tiny_unet", weights=tmp_path / "any.safetensors")


def test_stem_adaptation_keeps_the_response_to_equal_channels():
    weight = torch.randn(8, 3, 4, 4)  # (O, I, kh, kw)
    for in_channels in (1, 2, 3, 5):
        adapted = adapt_stem(weight, in_channels)
        assert adapted.shape == (8, in_channels, 4, 4)
        torch.testing.assert_close(adapted.sum(dim=1), weight.sum(dim=1))


def test_padding_mirrors_the_section_and_crop_undoes_it():
    from seiscli.models.layers import crop, pad_to_multiple

    x = torch.arange(2 * 5 * 6, dtype=torch.float32).reshape(1, 2, 5, 6)
    padded = pad_to_multiple(x, 4)  # (1, 2, 8, 8)
    assert padded.shape == (1, 2, 8, 8)
    assert torch.equal(padded[..., 5, :6], x[..., 3, :]) and torch.equal(padded[..., 7, :6], x[..., 1, :])
    assert torch.equal(padded[..., :5, 6], x[..., :, 4])  # mirrored about the last column
    assert torch.equal(crop(padded, (5, 6)), x)
    small = torch.ones(1, 1, 2, 2)  # too small to mirror 14 rows: the edge is repeated
    assert torch.equal(pad_to_multiple(small, 16), torch.ones(1, 1, 16, 16))


def test_unetr_draws_from_the_input_at_full_resolution():
    """UNETR's first map is the padded input itself: a pixel's logits change when that pixel alone changes,
    which no decoder working from 8 x 8 tokens alone could promise within one token."""
    model = build("tiny_vit8_unetr").eval()
    x, _ = batch(45, 77)
    features = model.forward_features(x)
    assert features[0].shape == (2, 1, 48, 80) and torch.equal(features[0][..., :45, :77], x)
    stride_8 = [tuple(f.shape[-2:]) for f in features[1:]]
    assert stride_8 == [(6, 10)] * 3
    x.requires_grad_(True)
    model(x)[0, :, 20, 30].sum().backward()
    assert x.grad[0, 0, 20, 30] != 0


def test_unetr_needs_a_power_of_two_patch_and_one_block_per_doubling():
    from seiscli.models.decoders import UNETRDecoder

    with pytest.raises(ConfigError, match="power of two"):
        UNETRDecoder([1, 32, 32, 32], [1, 14, 14, 14], 2)
    with pytest.raises(ConfigError, match="3 ViT blocks"):
        UNETRDecoder([1, 32, 32], [1, 8, 8], 2)


def test_vit_segmenters_get_the_samples_token_grid():
    from seiscli.models.segmenter import vit_grid_options

    assert vit_grid_options("vit_t8_unetr", (101, 101)) == {"img_size": 104}
    assert vit_grid_options("vit_s14_mla", (101, 90), num_classes=2) == {"img_size": 112}
    assert vit_grid_options("res_unet", (101, 101)) == {}
    assert vit_grid_options("swinv2_unet", (101, 101)) == {}  # its windows need their own size
    assert vit_grid_options("vit_t8_unetr", (32, 32, 32)) == {}
