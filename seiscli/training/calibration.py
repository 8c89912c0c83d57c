"""The decision threshold of a binary segmentation model, chosen on the validation split.

Dice + cross-entropy training does not make p = 0.5 the threshold of the best IoU: a model may
leave twice as many salt pixels unclaimed as it claims wrongly. The threshold that maximizes the
mean IoU over both classes on the val pixels comes from two histograms of the foreground
probability, one per true class: the confusion matrix of every candidate threshold is a
cumulative sum of them, so one pass over the split tries a thousand thresholds.
"""

import numpy as np
import torch

BINS = 1000


@torch.no_grad()
def probability_histograms(model: torch.nn.Module, loader, device: torch.device, autocast,
                           bins: int = BINS) -> np.ndarray:  # fmt: skip
    """(2, bins) pixel counts of the foreground probability, for true background (row 0) and foreground.

    One process reads the whole split (the finetune stage calls this on rank 0 alone).
    """
    counts = torch.zeros(2, bins, dtype=torch.float64)
    for x, y in loader:
        with autocast:
            output = model(x.to(device))  # (B, 2, *S)
        foreground = output.float().softmax(1)[:, 1].cpu()  # (B, *S)
        index = (foreground * bins).long().clamp_(0, bins - 1)  # (B, *S)
        for label in (0, 1):
            counts[label] += torch.bincount(index[y == label], minlength=bins).double()
    return counts.numpy()


def miou_by_threshold(histograms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds k / bins for k = 1 .. bins-1, mean IoU of predicting foreground when p > threshold)."""
    background, foreground = np.asarray(histograms, dtype=np.float64)  # (bins,) each
    bins = len(background)
    claimed_background = np.cumsum(background[::-1])[::-1][1:]  # (bins-1,) background pixels in bins >= k
    claimed_foreground = np.cumsum(foreground[::-1])[::-1][1:]  # (bins-1,) true positives
    tp, fp = claimed_foreground, claimed_background
    fn, tn = foreground.sum() - tp, background.sum() - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        miou = (tp / (tp + fp + fn) + tn / (tn + fn + fp)) / 2
    return np.arange(1, bins) / bins, np.nan_to_num(miou)


def best_threshold(histograms: np.ndarray) -> dict[str, float]:
    """The threshold of the highest val mean IoU, with that IoU and the one at 0.5."""
    thresholds, miou = miou_by_threshold(histograms)
    best = int(np.argmax(miou))
    half = int(np.argmin(np.abs(thresholds - 0.5)))
    return {"threshold": float(thresholds[best]), "val_miou": float(miou[best]), "val_miou_at_0.5": float(miou[half])}
