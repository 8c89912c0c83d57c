"""Velocity models: shot gathers (B, S, T, R) to a velocity map of ``out_size``; OpenFWI sizes, shots, weights.

The tiny ones also run through every test of ``test_models.py``."""

import pytest
import torch
from safetensors.torch import save_file

from seiscli.models import create_model, list_models, model_entry

VELOCITY = [
    "inversionnet",
    "inversionnet_small",
    "swinv2_velocity_unet",
    "tiny_inversionnet",
    "tiny_swin_velocity_unet",
]
OPENFWI_RECORD = (1, 5, 1000, 70)  # (B, shots, time samples, receivers)


def test_registry_marks_the_models_that_take_an_output_size():
    marked = [name for name in list_models() if model_entry(name).takes_out_size]
    assert marked == sorted(VELOCITY)
    assert all(create_model(name).card_args["kwargs"]["out_size"] == [70, 70] for name in VELOCITY[3:])


@pytest.mark.parametrize(
    ("name", "parameters"), [("inversionnet", 24.4e6), ("inversionnet_small", 6.1e6), ("swinv2_velocity_unet", 31.7e6)]
)
def test_full_size_models_map_an_openfwi_record_to_70_by_70(name, parameters):
    torch.manual_seed(0)
    model = create_model(name).eval()
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(parameters, rel=0.01)
    with torch.no_grad():
        assert model(torch.randn(OPENFWI_RECORD)).shape == (1, 1, 70, 70)


@pytest.mark.parametrize("out_size", [(20, 30), (7, 5), (64, 64)])
@pytest.mark.parametrize("name", ["tiny_inversionnet", "tiny_swin_velocity_unet"])
def test_any_output_size(name, out_size):
    model = create_model(name, in_channels=3, out_size=out_size).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 100, 24)).shape == (2, 1, *out_size)


def test_inversionnet_halves_time_then_both_axes_to_the_latent_grid():
    model = create_model("inversionnet").eval()
    x = torch.randn(OPENFWI_RECORD)
    with torch.no_grad():
        for stage in model.encoder[:-1]:
            x = stage(x)
    assert x.shape == (1, 256, *model.latent_grid) == (1, 256, 8, 9)  # 1000 -> 63 in time, then 63 x 70 -> 8 x 9


def test_shot_unet_averages_over_the_shots():
    torch.manual_seed(0)
    model = create_model("tiny_swin_velocity_unet", in_channels=4, out_size=(16, 16)).eval()
    x = torch.randn(2, 4, 80, 24)  # (B, S, T, R)
    with torch.no_grad():
        torch.testing.assert_close(model(x[:, [2, 0, 3, 1]]), model(x), rtol=1e-5, atol=1e-5)
        features = model.forward_features(x)
        one_by_one = [model.forward_features(x[:, [s]].repeat(1, 4, 1, 1)) for s in range(4)]  # each shot alone
        for level, f in enumerate(features):
            torch.testing.assert_close(f, torch.stack([o[level] for o in one_by_one]).mean(0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="built for 4 shots"):
        model(x[:, :3])


def test_velocity_swin_takes_rgb_swin_weights_on_its_one_channel_gathers(tmp_path):
    rgb = create_model("tiny_swin_unet", in_channels=3).backbone.model.state_dict()
    path = tmp_path / "swin.safetensors"
    save_file({k: v.contiguous() for k, v in rgb.items()}, path)
    model = create_model("tiny_swin_velocity_unet", weights=str(path))
    loaded = model.backbone.model.state_dict()
    stem = model.backbone.model.pretrained_cfg["first_conv"] + ".weight"
    torch.testing.assert_close(loaded[stem], rgb[stem].sum(dim=1, keepdim=True))
    changed = [k for k in loaded if k != stem and not torch.equal(loaded[k], rgb[k])]
    assert changed == []
    assert "weights" not in model.card_args["kwargs"]


def test_inversionnet_refuses_backbone_weights(tmp_path):
    from seiscli.errors import ConfigError

    with pytest.raises(ConfigError, match="no pretrained backbone"):
        create_model("tiny_inversionnet", weights=tmp_path / "any.safetensors")
