"""The decision threshold: chosen from per-class probability histograms, then used by predict."""

import numpy as np
import pytest
import torch

from seiscli.training.calibration import best_threshold, miou_by_threshold
from seiscli.training.tasks import make_task


def _histograms(background_p, foreground_p, bins=10):
    """(2, bins) counts of the foreground probability for true background / foreground pixels."""
    return np.stack([np.bincount(np.minimum((np.asarray(p) * bins).astype(int), bins - 1), minlength=bins)
                     for p in (background_p, foreground_p)])  # fmt: skip


def test_every_threshold_scored_by_hand():
    # 4 background pixels at p = 0.05, 0.15, 0.35, 0.65; 3 foreground pixels at p = 0.25, 0.45, 0.85.
    histograms = _histograms([0.05, 0.15, 0.35, 0.65], [0.25, 0.45, 0.85])
    thresholds, miou = miou_by_threshold(histograms)
    assert thresholds.tolist() == pytest.approx([k / 10 for k in range(1, 10)])
    # threshold 0.2: claims 0.25, 0.35, 0.45, 0.65, 0.85 -> tp 3, fp 2, fn 0, tn 2
    assert miou[1] == pytest.approx((3 / 5 + 2 / 4) / 2)
    # threshold 0.5: claims 0.65, 0.85 -> tp 1, fp 1, fn 2, tn 3
    assert miou[4] == pytest.approx((1 / 4 + 3 / 6) / 2)
    chosen = best_threshold(histograms)
    assert chosen["val_miou"] == pytest.approx(miou.max()) and chosen["val_miou"] > chosen["val_miou_at_0.5"]
    assert chosen["threshold"] == pytest.approx(thresholds[int(np.argmax(miou))])


def test_separable_classes_get_a_threshold_between_them():
    histograms = _histograms([0.1, 0.2, 0.25], [0.3, 0.9], bins=100)
    chosen = best_threshold(histograms)
    assert 0.25 <= chosen["threshold"] < 0.3 and chosen["val_miou"] == pytest.approx(1.0)


def test_predict_uses_the_threshold():
    logits = torch.stack([torch.zeros(1, 3), torch.tensor([[-1.0, 0.0, 1.0]])], dim=1)  # (1, 2, 3): p1 = .27 .5 .73
    assert make_task("salt").predict(logits).tolist() == [[0, 0, 1]]
    assert make_task("salt", threshold=0.3).predict(logits).tolist() == [[0, 1, 1]]
    assert make_task("fault", threshold=0.8).predict(logits).tolist() == [[0, 0, 0]]
    assert make_task("salt", threshold=0.3).spec()["threshold"] == 0.3
    with pytest.raises(ValueError, match="between 0 and 1"):
        make_task("salt", threshold=1.0)
