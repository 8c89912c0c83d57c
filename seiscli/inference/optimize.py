"""Make a torch model faster for inference on the CPU, with the same outputs to float rounding.

Two rewrites, measured on forward passes of 16 windows of 128 x 128 in fp32 on a 2-core CPU:

- BatchNorm folded into the convolution before it (in eval mode it is a per-channel scale and
  shift): in ``unet_small`` BatchNorm took a fifth of the forward time.
- Channels-last layout, which oneDNN's CPU convolutions prefer: ``unet_small`` 1.63x faster,
  ``res_unet`` 1.31x, ``unet`` 1.18x, ``inversionnet_small`` on shot gathers 1.36x; but
  ``vit_t8_unetr`` (mostly linear layers) 0.74x, and under bf16 autocast no model gains. So only fp32
  runs of models whose weights sit mostly in 2D convolutions switch.
"""

from collections.abc import Callable

CONVOLUTION_SHARE = 0.5  # of the weights, above which a model counts as convolutional


def prepare_for_inference(model, precision: str) -> Callable:
    """Rewrite ``model`` in place for inference at ``precision`` (resolved: fp32, bf16 or fp16); returns
    what to call instead of it (the model itself, or the model behind a channels-last conversion).

    ``model`` may be anything callable: only a torch module is rewritten (an ONNX Runtime session is
    left alone). Call it only on a model loaded for inference: its BatchNorms become identities.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        return model
    model.eval()
    fold_batch_norms(model)
    if precision != "fp32" or not _mostly_2d_convolutions(model):
        return model
    model.to(memory_format=torch.channels_last)

    def channels_last(x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) inputs follow the weights' layout
        return model(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x)

    return channels_last


def fold_batch_norms(model) -> int:
    """Fold every eval-mode BatchNorm2d that directly follows a 2D convolution in an ``nn.Sequential``
    into that convolution's weights and bias (the BatchNorm becomes an identity); returns how many."""
    import torch
    from torch import nn

    folded = 0
    for container in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        layers = list(container)
        for i, (conv, norm) in enumerate(zip(layers, layers[1:])):
            if _foldable(conv, norm):
                with torch.no_grad():
                    _fold(conv, norm)
                container[i + 1] = nn.Identity()
                folded += 1
    return folded


def _foldable(conv, norm) -> bool:
    from torch import nn

    if not isinstance(norm, nn.BatchNorm2d) or norm.training or norm.running_mean is None:
        return False
    return isinstance(conv, nn.Conv2d) or (isinstance(conv, nn.ConvTranspose2d) and conv.groups == 1)


def _fold(conv, norm) -> None:
    import torch

    scale = torch.rsqrt(norm.running_var + norm.eps)  # (C,)
    if norm.affine:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale + (norm.bias if norm.affine else 0)
    axis = 1 if isinstance(conv, torch.nn.ConvTranspose2d) else 0  # the output channels' axis of the weight
    shape = [1] * conv.weight.dim()
    shape[axis] = -1
    conv.weight.mul_(scale.reshape(shape))
    bias = shift if conv.bias is None else conv.bias * scale + shift
    conv.bias = torch.nn.Parameter(bias.detach().clone())


def _mostly_2d_convolutions(model) -> bool:
    import torch

    convolutions = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    total = sum(p.numel() for p in model.parameters())
    in_convolutions = sum(p.numel() for m in model.modules() if isinstance(m, convolutions) for p in m.parameters())
    return total > 0 and in_convolutions / total > CONVOLUTION_SHARE
