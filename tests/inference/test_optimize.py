"""Inference rewrites: BatchNorm folded and channels-last only where they apply, the outputs unchanged."""

import numpy as np
import pytest
import torch
from torch import nn

from seiscli.inference.optimize import fold_batch_norms, prepare_for_inference
from seiscli.inference.predictor import Predictor
from seiscli.models.registry import create_model
from seiscli.training.tasks import make_task


def trained_statistics(model: nn.Module) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine weights, then switch to eval."""
    generator = torch.Generator().manual_seed(0)
    for norm in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        channels = norm.num_features
        norm.running_mean.copy_(torch.randn(channels, generator=generator))
        norm.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
        if norm.affine:
            norm.weight.data.copy_(torch.randn(channels, generator=generator))
            norm.bias.data.copy_(torch.randn(channels, generator=generator))
    return model.eval()


@pytest.mark.parametrize(("name", "shape"), [
    ("tiny_unet", (2, 1, 32, 32)),
    ("tiny_res_unet", (2, 1, 32, 32)),
    ("tiny_inversionnet", (2, 5, 100, 14)),
])  # fmt: skip
def test_every_batch_norm_folds_and_the_outputs_stay(name, shape):
    model = trained_statistics(create_model(name, in_channels=shape[1]))
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model(x)
        assert fold_batch_norms(model) == norms > 0
        after = model(x)
    remaining = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(remaining) == 0
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


def test_a_transposed_convolution_folds_along_its_output_channels():
    layers = nn.Sequential(nn.ConvTranspose2d(3, 5, 2, stride=2, bias=False), nn.BatchNorm2d(5))
    trained_statistics(layers)
    x = torch.randn(2, 3, 4, 4)
    with torch.no_grad():
        before = layers(x)
        assert fold_batch_norms(layers) == 1
        torch.testing.assert_close(layers(x), before, rtol=1e-5, atol=1e-5)


def test_training_mode_and_lone_batch_norms_stay():
    training = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))  # statistics still being learned
    lone = trained_statistics(nn.Sequential(nn.ReLU(), nn.BatchNorm2d(4)))  # nothing to fold into
    assert fold_batch_norms(training) == 0
    assert fold_batch_norms(lone) == 0


def test_a_unet_in_fp32_goes_channels_last_and_its_inputs_follow():
    model = create_model("tiny_unet", in_channels=1, num_classes=2)
    run = prepare_for_inference(model, "fp32")
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert run is not model
    seen = []
    first_conv.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0]))
    run(torch.zeros(2, 1, 32, 32))
    assert seen[0].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(("name", "precision"), [("tiny_unet", "bf16"), ("tiny_vit_linear", "fp32")])
def test_bf16_runs_and_transformers_keep_their_layout(name, precision):
    model = create_model(name, in_channels=1, num_classes=2)
    assert prepare_for_inference(model, precision) is model
    weights = [p for p in model.parameters() if p.dim() == 4]
    assert all(p.is_contiguous() for p in weights)


def test_an_onnx_session_wrapper_is_left_alone():
    def session(x):
        return x

    assert prepare_for_inference(session, "fp32") is session


def test_the_predictor_gives_the_same_maps_optimized_or_not():
    task = make_task(name="salt", class_names=["background", "salt"])
    reference = trained_statistics(create_model("tiny_unet", in_channels=1, num_classes=2))
    optimized = create_model("tiny_unet", in_channels=1, num_classes=2)
    optimized.load_state_dict(reference.state_dict())
    windows = np.random.default_rng(0).standard_normal((3, 1, 32, 32)).astype(np.float32)
    plain = Predictor(reference, task, precision="fp32", optimize=False)
    fast = Predictor(optimized, task, precision="fp32")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in optimized.modules())
    np.testing.assert_allclose(fast(windows), plain(windows), atol=1e-5)
