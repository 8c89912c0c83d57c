"""Statistics over the global batch when DDP splits it across ranks.

DDP averages gradients, which is exact only for losses that are means of per-sample terms. Batch
norm, the batch-pooled Dice, class-weighted cross-entropy (normalized by the batch's total weight)
and Lovasz (a sort over every pixel of the batch) are not: on each rank they would see half a
batch. Each helper here is the identity in a single process and, under DDP, reduces across ranks
with autograd-aware collectives, so N ranks with a global batch B train exactly like one process
with batch B (the test runs two real processes).

Why the gradients come out right: a term every rank computes identically from all-reduced
statistics receives, through the collective's backward, the sum of the N ranks' gradients, and
DDP's averaging divides that sum by N again.
"""

import torch
from torch import nn


def world_size() -> int:
    """Ranks in the default process group; 1 when not distributed."""
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class _SumAcrossRanks(torch.autograd.Function):
    """All-reduce (sum) whose backward all-reduces the gradients: d(sum)/d(part) is 1 on every rank."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        total = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _SumAcrossRanks.apply(grad)


def sum_across_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the ranks, differentiable; ``tensor`` itself in a single process."""
    return tensor if world_size() == 1 else _SumAcrossRanks.apply(tensor)


def gather_across_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The ranks' ``tensor`` (equal shapes) concatenated along dim 0 in rank order, differentiable.

    Each rank writes its part into a zero tensor of the global shape and the parts are summed:
    one all-reduce, whose backward hands every rank the gradient of its own part.
    """
    world = world_size()
    if world == 1:
        return tensor
    import torch.distributed as dist

    rank, n = dist.get_rank(), tensor.shape[0]
    placed = tensor.new_zeros((world * n, *tensor.shape[1:]))
    placed = placed.index_copy(0, torch.arange(rank * n, (rank + 1) * n, device=tensor.device), tensor)
    return sum_across_ranks(placed)


def share_of_global_mean(local_sum: torch.Tensor, local_count: torch.Tensor) -> torch.Tensor:
    """This rank's part of sum / count over the global batch, scaled so DDP's mean gives the global value.

    ``local_count`` carries no gradient (a count or a total class weight).
    """
    total = sum_across_ranks(local_count.detach().clone())
    return local_sum * world_size() / total.clamp_min(1e-12)


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics span every rank's samples (CPU and GPU alike).

    ``torch.nn.SyncBatchNorm`` does the same on GPUs only; gloo on CPU needs this one. Running
    statistics follow BatchNorm's conventions (unbiased variance, ``momentum``), so the converted
    model's state dict loads into a plain BatchNorm model and back.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (N, C, ...), got {input.dim()}D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or world_size() == 1:
            return super().forward(x)
        dtype = x.dtype
        x = x.float()
        dims = [0, *range(2, x.dim())]  # every axis but the channels
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        moments = sum_across_ranks(torch.cat([x.sum(dims), (x * x).sum(dims), count]))  # (2C + 1,)
        channels = x.shape[1]
        n = moments[-1]
        mean = moments[:channels] / n  # (C,)
        variance = (moments[channels : 2 * channels] / n - mean * mean).clamp_min(0)  # (C,) biased
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), variance.detach() * n / (n - 1).clamp_min(1))
        shape = [1, channels] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(variance.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, variance: torch.Tensor) -> None:
        self.num_batches_tracked += 1
        momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
        self.running_var.lerp_(variance.to(self.running_var.dtype), momentum)


def use_global_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every BatchNorm layer computing global-batch statistics, weights kept.

    On CUDA torch's SyncBatchNorm is the faster choice; elsewhere GlobalBatchNorm.
    """
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        tensors = [*module.parameters(), *module.buffers()]
        device = tensors[0].device if tensors else torch.device("cpu")
        kind = nn.SyncBatchNorm if device.type == "cuda" else GlobalBatchNorm
        replacement = kind(module.num_features, module.eps, module.momentum, module.affine,
                           module.track_running_stats, device=device)  # fmt: skip
        replacement.load_state_dict(module.state_dict())
        return replacement.train(module.training)
    for name, child in module.named_children():
        setattr(module, name, use_global_batchnorm(child))
    return module
