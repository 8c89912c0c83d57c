"""Metrics: counts accumulated batch by batch, then plain arithmetic on the counts.

Every meter has ``update(pred, target)``, ``merge(other)`` (one process's counts into another's),
``all_reduced()`` (the counts summed over every torch.distributed rank) and ``as_dict()`` (JSON-ready:
floats, ints, lists, and ``None`` where a metric is undefined). Inputs are torch tensors on any device,
or numpy arrays.

Segmentation, ``ConfusionMatrix`` — ``matrix[t, p]`` counts the pixels of target class ``t`` predicted
as ``p`` (rows = target, columns = prediction); pixels whose target is ``ignore_index`` are not counted.

- IoU of class k = TP / (TP + FP + FN). A class found neither in the targets nor in the predictions
  has no IoU (NaN; ``None`` in ``as_dict``) and is left out of the mean; a class predicted but absent
  from the targets has IoU 0 and counts, so false alarms are penalized.
- mIoU is the mean of those IoUs, computed from the matrix pooled over every pixel seen (the whole
  split, all ranks) — not a mean of per-image scores. For TGS salt this is "the mean IoU over the two
  classes computed over all test pixels" (not Kaggle's per-image precision over IoU thresholds).
- PA of class k = TP / (pixels of class k in the targets), i.e. its recall; defined for classes present
  in the targets. mPA is the mean over those classes. Pixel accuracy = correct pixels / all pixels.

Velocity, ``RegressionMeter`` — on maps in physical units (m/s): MAE and RMSE pooled over every pixel
seen, and SSIM (Wang et al. 2004: 11x11 gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, averaged
over the window positions that fit inside the map) averaged over maps. SSIM assumes non-negative maps
such as velocities: for a sign-flipped map -v its luminance and structure terms both turn negative and
their product is near +1, while the inverted map vmin + vmax - v correctly scores near -1.
"""

import math
from typing import Protocol, Self

import numpy as np
import torch
import torch.nn.functional as F

ArrayLike = torch.Tensor | np.ndarray

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


class Meter(Protocol):
    """What the training loop and ``seis evaluate`` need from a metric accumulator."""

    def update(self, pred: ArrayLike, target: ArrayLike) -> None: ...

    def merge(self, other: Self) -> Self: ...

    def all_reduced(self) -> Self: ...

    def as_dict(self) -> dict: ...


def all_reduce(values: ArrayLike) -> np.ndarray:
    """A numpy copy of ``values`` summed over every torch.distributed rank; a plain copy when not distributed.

    The input is never modified. Under NCCL the sum travels through the current CUDA device.
    """
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return array.copy()
    device = torch.device("cuda", torch.cuda.current_device()) if torch.distributed.get_backend() == "nccl" else None
    tensor = torch.tensor(array, device=device)  # a copy
    torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor.cpu().numpy()


class ConfusionMatrix:
    """Pixel counts of (target class, predicted class); IoU, PA and their means derive from them."""

    def __init__(self, num_classes: int, ignore_index: int | None = None, class_names: list[str] | None = None):
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class names for {num_classes} classes")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = list(class_names) if class_names else [str(k) for k in range(num_classes)]
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)  # (K target, K predicted)

    def update(self, pred: ArrayLike, target: ArrayLike) -> None:
        """Count a batch of predicted class ids against target class ids of the same shape."""
        pred, target = _class_ids(pred, "pred"), _class_ids(target, "target")
        if pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
        pred, target = pred.reshape(-1), target.reshape(-1).to(pred.device)  # (N,)
        if self.ignore_index is not None:
            keep = target != self.ignore_index  # (N,)
            pred, target = pred[keep], target[keep]
        self._check_range(target, "target")
        self._check_range(pred, "pred")
        k = self.num_classes
        counts = torch.bincount(target * k + pred, minlength=k * k)  # (K*K,)
        self.matrix += counts.reshape(k, k).cpu().numpy()

    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        """Add ``other``'s counts (e.g. another process's) to these; returns self."""
        if other.num_classes != self.num_classes:
            raise ValueError(f"cannot merge {other.num_classes} classes into {self.num_classes}")
        self.matrix += other.matrix
        return self

    def all_reduced(self) -> "ConfusionMatrix":
        """A copy holding the counts of every distributed rank (these counts when not distributed)."""
        total = ConfusionMatrix(self.num_classes, self.ignore_index, self.class_names)
        total.matrix = all_reduce(self.matrix).astype(np.int64)
        return total

    def reset(self) -> None:
        self.matrix[...] = 0

    def iou(self) -> np.ndarray:
        """(K,) float64 IoU per class; NaN for a class neither in the targets nor in the predictions."""
        tp = np.diag(self.matrix)  # (K,)
        union = self.matrix.sum(0) + self.matrix.sum(1) - tp  # (K,) predicted + target - both
        return _ratio(tp, union)

    def miou(self) -> float:
        """Mean IoU over the classes present in the targets or the predictions; NaN when nothing was counted."""
        return _nanmean(self.iou())

    def pa(self) -> np.ndarray:
        """(K,) float64 pixel accuracy (recall) per class; NaN for a class absent from the targets."""
        return _ratio(np.diag(self.matrix), self.matrix.sum(1))

    def mpa(self) -> float:
        """Mean per-class pixel accuracy over the classes present in the targets."""
        return _nanmean(self.pa())

    def pixel_accuracy(self) -> float:
        """Correctly classified pixels / all counted pixels."""
        total = int(self.matrix.sum())
        return float(np.trace(self.matrix) / total) if total else math.nan

    def as_dict(self) -> dict:
        return {
            "miou": _json_float(self.miou()),
            "mpa": _json_float(self.mpa()),
            "pixel_accuracy": _json_float(self.pixel_accuracy()),
            "iou": dict(zip(self.class_names, map(_json_float, self.iou()))),
            "pa": dict(zip(self.class_names, map(_json_float, self.pa()))),
            "pixels": int(self.matrix.sum()),
            "matrix": self.matrix.tolist(),
        }

    def _check_range(self, ids: torch.Tensor, what: str) -> None:
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.num_classes):
            found = sorted({int(ids.min()), int(ids.max())} - set(range(self.num_classes)))
            hint = " (set ignore_index for unlabelled pixels)" if what == "target" else ""
            raise ValueError(f"{what} holds class ids {found} outside 0..{self.num_classes - 1}{hint}")


class RegressionMeter:
    """MAE, RMSE (pooled over pixels) and SSIM (mean over 2D maps) of predicted against target maps.

    ``data_range`` is the SSIM dynamic range L (for velocity: vmax - vmin); None takes each target
    map's own range (max - min).
    """

    def __init__(self, data_range: float | None = None):
        if data_range is not None and not data_range > 0:
            raise ValueError(f"data_range must be positive, got {data_range}")
        self.data_range = data_range
        self.sums = np.zeros(5, dtype=np.float64)  # |error|, error^2, pixels, SSIM, maps

    def update(self, pred: ArrayLike, target: ArrayLike) -> None:
        """Add a batch of maps: (B, 1, H, W), (B, H, W) or (H, W), in the units the metrics report."""
        pred = _float64(pred)
        target = _float64(target).to(pred.device)
        if pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
        error = pred - target  # (..., H, W)
        maps = ssim(pred, target, self.data_range)  # (M,)
        batch = [error.abs().sum(), error.square().sum(), error.numel(), maps.sum(), maps.numel()]
        self.sums += np.array([float(v) for v in batch])

    def merge(self, other: "RegressionMeter") -> "RegressionMeter":
        self.sums += other.sums
        return self

    def all_reduced(self) -> "RegressionMeter":
        total = RegressionMeter(self.data_range)
        total.sums = all_reduce(self.sums).astype(np.float64)
        return total

    def reset(self) -> None:
        self.sums[...] = 0.0

    def mae(self) -> float:
        abs_sum, _, pixels, _, _ = self.sums
        return float(abs_sum / pixels) if pixels else math.nan

    def rmse(self) -> float:
        _, sq_sum, pixels, _, _ = self.sums
        return float(math.sqrt(sq_sum / pixels)) if pixels else math.nan

    def ssim(self) -> float:
        *_, ssim_sum, maps = self.sums
        return float(ssim_sum / maps) if maps else math.nan

    def as_dict(self) -> dict:
        return {"mae": _json_float(self.mae()), "rmse": _json_float(self.rmse()), "ssim": _json_float(self.ssim()),
                "pixels": int(self.sums[2]), "maps": int(self.sums[4])}  # fmt: skip


def ssim(pred: ArrayLike, target: ArrayLike, data_range: float | None = None) -> torch.Tensor:
    """(M,) float64 SSIM of each 2D map; inputs (..., H, W), every leading axis counts maps.

    The gaussian window shrinks (to the largest odd size that fits) on maps smaller than 11 pixels.
    Without ``data_range`` each target's max - min is used; a flat target falls back to its largest
    magnitude (or 1 when it is all zeros).
    """
    x = _float64(pred)
    y = _float64(target).to(x.device)
    if x.ndim < 2 or x.shape != y.shape:
        raise ValueError(f"ssim needs two maps (..., H, W) of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    height, width = x.shape[-2:]
    x, y = x.reshape(-1, 1, height, width), y.reshape(-1, 1, height, width)  # (M, 1, H, W)
    window = _gaussian_window(min(SSIM_WINDOW, height, width), x.device)  # (k,)
    c1, c2 = _ssim_constants(y, data_range)  # (M, 1, 1, 1) each
    mu_x, mu_y = _local_mean(x, window), _local_mean(y, window)  # (M, 1, H-k+1, W-k+1)
    var_x = _local_mean(x * x, window) - mu_x**2
    var_y = _local_mean(y * y, window) - mu_y**2
    cov = _local_mean(x * y, window) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return (numerator / denominator).mean(dim=(1, 2, 3))  # (M,)


def _ssim_constants(target: torch.Tensor, data_range: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """C1 = (K1 L)^2 and C2 = (K2 L)^2, (M, 1, 1, 1), L given or from each target map (M, 1, H, W)."""
    if data_range is not None:
        span = torch.full((target.shape[0], 1, 1, 1), float(data_range), dtype=target.dtype, device=target.device)
    else:
        flat = target.flatten(1)  # (M, H*W)
        span = (flat.amax(1) - flat.amin(1)).view(-1, 1, 1, 1)  # (M, 1, 1, 1)
        magnitude = flat.abs().amax(1).clamp_min(1.0).view(-1, 1, 1, 1)
        span = torch.where(span > 0, span, magnitude)
    return (SSIM_K1 * span) ** 2, (SSIM_K2 * span) ** 2


def _gaussian_window(size: int, device: torch.device) -> torch.Tensor:
    """(k,) normalized 1D gaussian, k the largest odd number <= size."""
    size = size if size % 2 else size - 1
    offsets = torch.arange(size, dtype=torch.float64, device=device) - size // 2  # (k,)
    weights = torch.exp(-(offsets**2) / (2 * SSIM_SIGMA**2))
    return weights / weights.sum()


def _local_mean(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Gaussian-weighted mean over every window position inside the map: (M, 1, H, W) -> (M, 1, H-k+1, W-k+1)."""
    x = F.conv2d(x, window.view(1, 1, -1, 1))  # (M, 1, H-k+1, W)
    return F.conv2d(x, window.view(1, 1, 1, -1))  # (M, 1, H-k+1, W-k+1)


def _class_ids(values: ArrayLike, what: str) -> torch.Tensor:
    tensor = values.detach() if isinstance(values, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(values))
    if tensor.is_floating_point() or tensor.is_complex():
        raise ValueError(f"{what} must hold integer class ids, got {tensor.dtype} (take the argmax of logits first)")
    return tensor.long()


def _float64(values: ArrayLike) -> torch.Tensor:
    tensor = values.detach() if isinstance(values, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(values))
    return tensor.to(torch.float64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator as float64, NaN where the denominator is 0."""
    out = np.full(numerator.shape, math.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _nanmean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
