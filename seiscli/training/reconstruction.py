"""The pretraining task: reconstruct the hidden patches of a masked autoencoder (``seiscli.models.mae``).

The model's output is an ``MAEOutput`` (predictions and true pixels patch by patch, and the mask); no
target comes from the store (``y`` is None). The loss is MAE's: each true patch is normalized by its
own mean and standard deviation (so a patch's amplitude level and gain do not matter, only its
pattern), and the mean squared error is averaged over the hidden patches only — the visible ones
are copied by the decoder and would teach nothing.

Every sample hides the same number of patches, so the per-rank mean is also the global-batch mean
and DDP's gradient averaging is exact. ``predict`` gives each sample's error over its hidden patches;
the meter averages them (``loss``, lower is better, picks the best checkpoint).
"""

from typing import Any, Self

import torch

from seiscli.training.metrics import all_reduce
from seiscli.training.tasks import Task

EPS = 1e-6  # added to a patch's variance: a flat patch (dead traces, padding) normalizes to zeros


def normalize_patches(patches: torch.Tensor) -> torch.Tensor:
    """(..., P) pixels -> each patch minus its mean, over its standard deviation."""
    mean = patches.mean(dim=-1, keepdim=True)  # (..., 1)
    variance = patches.var(dim=-1, keepdim=True)  # (..., 1)
    return (patches - mean) / (variance + EPS).sqrt()


def denormalize_patches(normalized: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
    """Undo ``normalize_patches`` with the statistics of the true ``patches``: (..., P) pixels."""
    mean = patches.mean(dim=-1, keepdim=True)  # (..., 1)
    variance = patches.var(dim=-1, keepdim=True)  # (..., 1)
    return normalized * (variance + EPS).sqrt() + mean


def patch_errors(output) -> torch.Tensor:
    """(B, N) mean squared error of each patch's prediction against its normalized pixels."""
    target = normalize_patches(output.patches.float())  # (B, N, P)
    return (output.pred.float() - target).square().mean(dim=-1)  # (B, N)


class MaskedReconstructionTask(Task):
    """Masked-patch reconstruction on normalized pixels; ``loss`` is also the validation metric."""

    name = "pretrain"
    primary_metric = "loss"
    higher_is_better = False
    num_classes = 0
    class_names = None

    def loss(self, output, target: torch.Tensor | None = None, inputs: torch.Tensor | None = None
             ) -> dict[str, torch.Tensor]:  # fmt: skip
        mask = output.mask.float()  # (B, N)
        loss = (patch_errors(output) * mask).sum() / mask.sum()
        return {"loss": loss}

    def predict(self, output) -> torch.Tensor:
        """(B,) each sample's mean error over its hidden patches."""
        mask = output.mask.float()  # (B, N)
        return (patch_errors(output) * mask).sum(dim=1) / mask.sum(dim=1)

    def new_meter(self) -> "ReconstructionMeter":
        return ReconstructionMeter()

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "normalized_patches": True}


class ReconstructionMeter:
    """The mean over samples of their reconstruction errors (``predict``'s values); no targets."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def update(self, pred: torch.Tensor, target: None = None) -> None:
        self.total += float(pred.detach().double().sum())
        self.count += len(pred)

    def merge(self, other: Self) -> Self:
        self.total, self.count = self.total + other.total, self.count + other.count
        return self

    def all_reduced(self) -> Self:
        total, count = all_reduce(torch.tensor([self.total, float(self.count)], dtype=torch.float64))
        merged = ReconstructionMeter()
        merged.total, merged.count = float(total), int(count)
        return merged

    def as_dict(self) -> dict[str, Any]:
        return {"loss": self.total / self.count if self.count else None}
