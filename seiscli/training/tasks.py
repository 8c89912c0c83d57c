"""Tasks: what a model's output means — its loss, its prediction, and the metrics that judge it.

The training loop knows no model and no task; it calls, for every batch::

    parts = task.loss(output, y, inputs=x)  # {"loss": scalar to backpropagate, <name>: detached part ...}
    meter.update(task.predict(output), y)   # meter = task.new_meter()

with ``y`` exactly as the dataset store gives it (None for an unlabelled store; ``inputs`` is the
batch itself, for losses that need it, such as distillation's teacher): class ids (B, H, W) / (B, D, H, W) for segmentation,
velocity in m/s (B, 1, H, W) for FWI. ``task.primary_metric`` names the ``meter.as_dict()`` entry that
picks the best checkpoint, ``task.higher_is_better`` its direction.

- salt, fault: binary segmentation as 2-class logits (B, 2, H, W), the same interface as facies.
  Loss = cross-entropy (optionally focal) + soft Dice of the foreground (+ Lovasz, optional). Salt
  weighs both classes alike (plain BCE: weighting the rarer class trades false salt for missed salt
  and lowers IoU); faults, a few % of the pixels, take inverse-frequency weights.
- facies: K-class logits (B, K, H, W). Loss = weighted cross-entropy + weighted soft Dice (mean over
  classes). Dice is computed over the whole batch, one score per class, so a patch without some class
  does not make its Dice undefined.
- Class weights come from the dataset's recorded ``classFrequencies``: inverse frequency, the commonest
  class weighing 1 and none more than ``max_class_weight`` (default 20; 1 for salt, i.e. uniform);
  uniform when no frequencies are given. Heavy fault imbalance thus gets a large but bounded weight.
- ``lovasz_weight`` adds the Lovasz-softmax loss (Berman et al. 2018), a convex surrogate of the
  Jaccard index computed over the whole batch: it optimizes the IoU the benchmark reports.
- velocity: output (B, 1, H, W) in normalized units, where [vmin, vmax] m/s maps linearly to [-1, 1]
  (default 1500-4500 m/s). Loss = Huber + grad_weight * L1 of Sobel gradients + tv_weight * total
  variation of the error map (prediction - target): TV of the error punishes speckle and ringing but
  not the true layer boundaries (TV of the prediction alone would), so an exact prediction costs 0.
  ``predict`` returns m/s, so MAE / RMSE are in m/s and SSIM uses the range vmax - vmin.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from seiscli.training.global_batch import gather_across_ranks, share_of_global_mean, sum_across_ranks
from seiscli.training.metrics import ConfusionMatrix, Meter, RegressionMeter

MAX_CLASS_WEIGHT = 20.0
DICE_SMOOTH = 1.0  # added to Dice's numerator and denominator: an empty class in an empty prediction scores 1
SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8  # unit response to a unit slope

Frequencies = Mapping[str, float] | Sequence[float]


class Task(ABC):
    """One task: the loss to train on, how outputs become predictions, which meter judges them."""

    name: ClassVar[str]
    primary_metric: ClassVar[str]
    higher_is_better: ClassVar[bool]
    num_classes: int  # channels the model outputs (1 for velocity)
    class_names: list[str] | None

    @abstractmethod
    def loss(self, output: torch.Tensor, target: torch.Tensor | None, inputs: torch.Tensor | None = None
             ) -> dict[str, torch.Tensor]:  # fmt: skip
        """{"loss": scalar with a graph, other entries: detached parts for the log}."""

    @abstractmethod
    def predict(self, output: torch.Tensor) -> torch.Tensor:
        """What the meter and ``seis infer`` consume: class ids, or values in physical units."""

    @abstractmethod
    def new_meter(self) -> Meter:
        """An empty metric accumulator for this task."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """JSON-friendly arguments that rebuild this task: ``make_task(**task.spec())``."""

    def is_better(self, value: float, best: float | None) -> bool:
        """Whether ``value`` of the primary metric beats ``best`` (None: nothing yet)."""
        if best is None:
            return True
        return value > best if self.higher_is_better else value < best


class SegmentationTask(Task):
    """Class ids per pixel from K-class logits; weighted cross-entropy (or focal) + weighted soft Dice."""

    primary_metric = "miou"
    higher_is_better = True
    dice_on_background: ClassVar[bool]
    default_max_class_weight: ClassVar[float] = MAX_CLASS_WEIGHT

    def __init__(
        self,
        class_names: list[str],
        class_frequencies: Frequencies | None = None,
        *,
        ignore_index: int | None = None,
        max_class_weight: float | None = None,
        ce_weight: float = 1.0,
        dice_weight: float = 1.0,
        focal_gamma: float = 0.0,
        lovasz_weight: float = 0.0,
    ):
        if len(class_names) < 2:
            raise ValueError(f"{self.name} needs at least 2 class names, got {class_names}")
        if focal_gamma < 0:
            raise ValueError(f"focal_gamma must be >= 0, got {focal_gamma}")
        if min(ce_weight, dice_weight, lovasz_weight) < 0:
            raise ValueError("ce_weight, dice_weight and lovasz_weight must be >= 0")
        if max_class_weight is None:
            max_class_weight = self.default_max_class_weight
        self.class_names = list(class_names)
        self.num_classes = len(class_names)
        self.frequencies = None if class_frequencies is None else _ordered(class_frequencies, self.class_names)
        self.options = {"ignore_index": ignore_index, "max_class_weight": max_class_weight, "ce_weight": ce_weight,
                        "dice_weight": dice_weight, "focal_gamma": focal_gamma,
                        "lovasz_weight": lovasz_weight}  # fmt: skip
        self.ignore_index, self.focal_gamma = ignore_index, focal_gamma
        self.ce_weight, self.dice_weight, self.lovasz_weight = ce_weight, dice_weight, lovasz_weight
        self.class_weights = _class_weights(self.frequencies, self.num_classes, max_class_weight)  # (K,)
        self.dice_weights = self.class_weights if self.dice_on_background else _foreground_only(self.num_classes)

    def loss(self, output: torch.Tensor, target: torch.Tensor, inputs: torch.Tensor | None = None
             ) -> dict[str, torch.Tensor]:  # fmt: skip
        logits = output.float()  # (B, K, *S): losses in fp32 even under bf16 autocast
        target = _class_target(logits, target)  # (B, *S) int64
        probs = logits.softmax(1)  # (B, K, *S)
        ce = self._cross_entropy(logits, target)
        dice = soft_dice_loss(probs, target, self.dice_weights.to(logits.device), self.ignore_index)
        total = self.ce_weight * ce + self.dice_weight * dice
        parts = {"ce": ce.detach(), "dice": dice.detach()}
        if self.lovasz_weight:
            lovasz = lovasz_softmax_loss(probs, target, self.ignore_index)
            total = total + self.lovasz_weight * lovasz
            parts["lovasz"] = lovasz.detach()
        return {"loss": total, **parts}

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        return output.argmax(1)  # (B, K, *S) -> (B, *S)

    def new_meter(self) -> ConfusionMatrix:
        return ConfusionMatrix(self.num_classes, self.ignore_index, self.class_names)

    def spec(self) -> dict[str, Any]:
        frequencies = None if self.frequencies is None else self.frequencies.tolist()
        return {"name": self.name, "class_names": self.class_names, "class_frequencies": frequencies, **self.options}

    def _cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        weight = self.class_weights.to(logits.device)  # (K,)
        ignore = -100 if self.ignore_index is None else self.ignore_index
        return focal_loss(logits, target, weight, self.focal_gamma, ignore)


class BinarySegmentationTask(SegmentationTask):
    """Background and one foreground class, as 2-class logits (B, 2, H, W); Dice on the foreground.

    A pixel is foreground when its foreground probability exceeds ``threshold`` (0.5: the argmax);
    ``seis finetune`` calibrates it on the validation split (seiscli/training/calibration.py).
    """

    dice_on_background = False

    def __init__(self, class_names: list[str] | None = None, class_frequencies: Frequencies | None = None, *,
                 threshold: float = 0.5, **options):  # fmt: skip
        class_names = class_names or ["background", self.name]
        if len(class_names) != 2:
            raise ValueError(f"{self.name} is binary: it needs 2 class names, got {class_names}")
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
        super().__init__(class_names, class_frequencies, **options)
        self.threshold = float(threshold)
        self.options["threshold"] = self.threshold

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        foreground = output.float().softmax(1)[:, 1]  # (B, *S)
        return (foreground > self.threshold).long()  # (B, *S)


class SaltTask(BinarySegmentationTask):
    """Salt bodies: large, compact regions; both classes weigh alike (BCE + Dice)."""

    name = "salt"
    default_max_class_weight = 1.0


class FaultTask(BinarySegmentationTask):
    """Faults: thin structures, a few % of the pixels; inverse-frequency weights, optionally focal."""

    name = "fault"


class FaciesTask(SegmentationTask):
    """K facies classes; Dice averaged over every class with the inverse-frequency weights."""

    name = "facies"
    dice_on_background = True

    def __init__(self, class_names: list[str] | None = None, class_frequencies: Frequencies | None = None, **options):
        if not class_names:
            raise ValueError("facies needs the class names (the dataset store records them)")
        super().__init__(class_names, class_frequencies, **options)


class VelocityTask(Task):
    """Full-waveform inversion: a velocity map (B, 1, H, W), trained in normalized units, judged in m/s."""

    name = "velocity"
    primary_metric = "mae"
    higher_is_better = False

    def __init__(
        self,
        class_names: list[str] | None = None,
        class_frequencies: Frequencies | None = None,
        *,
        vmin: float = 1500.0,
        vmax: float = 4500.0,
        huber_delta: float = 0.1,  # normalized units: 150 m/s with the default range
        grad_weight: float = 0.5,
        tv_weight: float = 0.1,
    ):
        if class_names is not None or class_frequencies is not None:
            raise ValueError("velocity is a regression task: it takes no class names or frequencies")
        if not vmin < vmax:
            raise ValueError(f"need vmin < vmax, got vmin={vmin}, vmax={vmax}")
        if not huber_delta > 0:
            raise ValueError(f"huber_delta must be positive, got {huber_delta}")
        self.num_classes, self.class_names = 1, None
        self.vmin, self.vmax = float(vmin), float(vmax)
        self.huber_delta, self.grad_weight, self.tv_weight = huber_delta, grad_weight, tv_weight

    def normalize(self, velocity: torch.Tensor) -> torch.Tensor:
        """m/s -> normalized units: vmin -> -1, vmax -> 1."""
        return 2 * (velocity - self.vmin) / (self.vmax - self.vmin) - 1

    def denormalize(self, output: torch.Tensor) -> torch.Tensor:
        """Normalized units -> m/s."""
        return (output + 1) * (self.vmax - self.vmin) / 2 + self.vmin

    def loss(self, output: torch.Tensor, target: torch.Tensor, inputs: torch.Tensor | None = None
             ) -> dict[str, torch.Tensor]:  # fmt: skip
        pred = output.float()  # (B, 1, H, W) normalized
        true = self.normalize(_value_target(pred, target).float())  # (B, 1, H, W) m/s -> normalized
        huber = F.smooth_l1_loss(pred, true, beta=self.huber_delta)
        gradient = (sobel(pred) - sobel(true)).abs().mean()
        tv = total_variation(pred - true)
        total = huber + self.grad_weight * gradient + self.tv_weight * tv
        return {"loss": total, "huber": huber.detach(), "gradient": gradient.detach(), "tv": tv.detach()}

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        return self.denormalize(output.float())  # (B, 1, H, W) m/s

    def new_meter(self) -> RegressionMeter:
        return RegressionMeter(data_range=self.vmax - self.vmin)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "vmin": self.vmin, "vmax": self.vmax, "huber_delta": self.huber_delta,
                "grad_weight": self.grad_weight, "tv_weight": self.tv_weight}  # fmt: skip


TASKS: dict[str, type[Task]] = {"salt": SaltTask, "fault": FaultTask, "facies": FaciesTask, "velocity": VelocityTask}


def make_task(
    name: str, class_names: list[str] | None = None, class_frequencies: Frequencies | None = None, **options: Any
) -> Task:
    """The task ``name`` with the dataset's class names and ``classFrequencies``, and its loss options."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name](class_names, class_frequencies, **options)


def inverse_frequency_weights(frequencies: Sequence[float], max_weight: float = MAX_CLASS_WEIGHT) -> torch.Tensor:
    """(K,) float32 class weights f_max / f_k: the commonest class weighs 1, none more than ``max_weight``.

    A class never seen (frequency 0) gets ``max_weight``. Frequencies need not sum to 1.
    """
    f = np.asarray(frequencies, dtype=np.float64)  # (K,)
    if f.ndim != 1 or not np.all(np.isfinite(f)) or np.any(f < 0) or not f.max(initial=0.0) > 0:
        raise ValueError(f"class frequencies must be non-negative numbers, not all 0; got {list(frequencies)}")
    if not max_weight >= 1:
        raise ValueError(f"max_class_weight must be >= 1, got {max_weight}")
    top = f.max()
    return torch.tensor(top / np.maximum(f, top / max_weight), dtype=torch.float32)


def soft_dice_loss(
    probs: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, ignore_index: int | None = None
) -> torch.Tensor:
    """1 - weighted mean over classes of the soft Dice, each class pooled over the batch and space.

    ``probs`` (B, K, *S) softmax outputs, ``target`` (B, *S) class ids, ``weights`` (K,) (0 leaves a class out).
    """
    valid = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index  # (B, *S)
    onehot = F.one_hot(target.where(valid, 0), probs.shape[1]).movedim(-1, 1).to(probs)  # (B, K, *S)
    mask = valid.unsqueeze(1).to(probs)  # (B, 1, *S)
    dims = (0, *range(2, probs.ndim))  # every axis but the class axis
    overlap = (probs * onehot * mask).sum(dims)  # (K,)
    size = (probs * mask).sum(dims) + (onehot * mask).sum(dims)  # (K,)
    overlap, size = sum_across_ranks(torch.stack([overlap, size])).unbind()  # pooled over the global batch
    dice = (2 * overlap + DICE_SMOOTH) / (size + DICE_SMOOTH)  # (K,)
    return 1 - (weights * dice).sum() / weights.sum()


def lovasz_softmax_loss(probs: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> torch.Tensor:
    """Lovasz-softmax: mean over the classes present in ``target`` of the Lovasz extension of 1 - IoU.

    ``probs`` (B, K, *S) softmax outputs, ``target`` (B, *S) class ids; all pixels of the batch are
    pooled, so the loss follows the dataset-wide IoU rather than a per-image one. For each class the
    pixel errors |[y = c] - p_c| are sorted in decreasing order and weighted by the increments of the
    Jaccard loss along that order: the tight convex surrogate of the IoU (Berman et al. 2018).
    """
    num_classes = probs.shape[1]
    probs = gather_across_ranks(probs).movedim(1, -1).reshape(-1, num_classes)  # (N, K) the global batch
    target = gather_across_ranks(target).reshape(-1)  # (N,)
    if ignore_index is not None:
        keep = target != ignore_index
        probs, target = probs[keep], target[keep]
    losses = []
    for c in range(num_classes):
        truth = (target == c).to(probs.dtype)  # (N,)
        if not truth.any():
            continue
        errors, order = (truth - probs[:, c]).abs().sort(descending=True)  # (N,)
        truth = truth[order]
        positives = truth.sum()
        intersection = positives - truth.cumsum(0)  # (N,)
        union = positives + (1 - truth).cumsum(0)  # (N,)
        jaccard = 1 - intersection / union  # (N,) loss after including the first i errors
        increments = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])  # (N,)
        losses.append(torch.dot(errors, increments))
    return torch.stack(losses).mean() if losses else probs.sum() * 0


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, gamma: float, ignore_index: int = -100
) -> torch.Tensor:
    """Class-weighted focal loss (Lin et al. 2017), normalized like weighted cross-entropy; gamma 0 is CE.

    The normalizer is the total weight of the global batch, so DDP ranks add up to one process.
    """
    valid = target != ignore_index  # (B, *S)
    safe = target.where(valid, 0)  # (B, *S)
    log_pt = F.log_softmax(logits, 1).gather(1, safe.unsqueeze(1)).squeeze(1)  # (B, *S) log p of the true class
    pixel_weight = weight[safe] * valid  # (B, *S)
    focal = -log_pt if gamma == 0 else -((1 - log_pt.exp()) ** gamma) * log_pt  # (B, *S)
    return share_of_global_mean((pixel_weight * focal).sum(), pixel_weight.sum())


def sobel(x: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel gradients of maps: (B, 1, H, W) -> (B, 2, H-2, W-2)."""
    kx = SOBEL_X.to(x)  # (3, 3)
    kernels = torch.stack([kx, kx.T]).unsqueeze(1)  # (2, 1, 3, 3)
    return F.conv2d(x, kernels)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation of maps (..., H, W): mean |vertical step| + mean |horizontal step|."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def _ordered(frequencies: Frequencies, class_names: list[str]) -> np.ndarray:
    """(K,) frequencies in class order, from the dataset's {name: fraction} or a sequence."""
    if isinstance(frequencies, Mapping):
        missing = [name for name in class_names if name not in frequencies]
        if missing:
            raise ValueError(f"class frequencies lack {missing}; they cover {sorted(frequencies)}")
        frequencies = [frequencies[name] for name in class_names]
    if len(frequencies) != len(class_names):
        raise ValueError(f"{len(frequencies)} class frequencies for {len(class_names)} classes")
    return np.asarray(frequencies, dtype=np.float64)


def _class_weights(frequencies: np.ndarray | None, num_classes: int, max_weight: float) -> torch.Tensor:
    """(K,) inverse-frequency weights, or uniform ones when the frequencies are unknown."""
    return torch.ones(num_classes) if frequencies is None else inverse_frequency_weights(frequencies, max_weight)


def _foreground_only(num_classes: int) -> torch.Tensor:
    weights = torch.zeros(num_classes)  # (K,)
    weights[1:] = 1.0
    return weights


def _class_target(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, *S) int64 class ids; a (B, 1, *S) target loses its channel axis."""
    if target.ndim == logits.ndim and target.shape[1] == 1:
        target = target.squeeze(1)  # (B, 1, *S) -> (B, *S)
    if target.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(f"logits {tuple(logits.shape)} need a target {(logits.shape[0], *logits.shape[2:])},"
                         f" got {tuple(target.shape)}")  # fmt: skip
    return target.long()


def _value_target(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) target; a (B, H, W) one gains its channel axis."""
    if target.ndim == pred.ndim - 1:
        target = target.unsqueeze(1)  # (B, H, W) -> (B, 1, H, W)
    if target.shape != pred.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    return target
