"""Metrics are arithmetic on counts: checked against numbers worked out by hand."""

import itertools
import json
import math
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from seiscli.training.metrics import ConfusionMatrix, RegressionMeter, all_reduce, ssim

# (target, prediction) -> pixel count; rows = target, columns = prediction
HAND_MATRIX = np.array([[3, 1, 0],
                        [1, 2, 1],
                        [0, 0, 2]])  # fmt: skip


def _pixels_of(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pred, target) pixel lists, shuffled, that add up to ``matrix``."""
    pairs = [(t, p) for (t, p), n in np.ndenumerate(matrix) for _ in range(n)]
    order = np.random.default_rng(0).permutation(len(pairs))
    target, pred = np.array(pairs)[order].T
    return pred, target


def test_hand_computed_three_classes():
    pred, target = _pixels_of(HAND_MATRIX)
    cm = ConfusionMatrix(3)
    cm.update(torch.from_numpy(pred), torch.from_numpy(target))
    np.testing.assert_array_equal(cm.matrix, HAND_MATRIX)
    assert cm.matrix.dtype == np.int64
    # IoU = TP / (row + column - TP): 3/(4+4-3), 2/(4+3-2), 2/(2+3-2)
    np.testing.assert_allclose(cm.iou(), [3 / 5, 2 / 5, 2 / 3])
    assert cm.miou() == pytest.approx((3 / 5 + 2 / 5 + 2 / 3) / 3)
    # PA = TP / row: 3/4, 2/4, 2/2
    np.testing.assert_allclose(cm.pa(), [0.75, 0.5, 1.0])
    assert cm.mpa() == pytest.approx(0.75)
    assert cm.pixel_accuracy() == pytest.approx(7 / 10)


def test_rows_are_targets_and_columns_predictions():
    cm = ConfusionMatrix(2)
    cm.update(np.array([1, 1, 1]), np.array([0, 0, 1]))  # two background pixels called foreground
    np.testing.assert_array_equal(cm.matrix, [[0, 2], [0, 1]])


def test_ignore_index_drops_pixels_whatever_was_predicted():
    pred = np.array([[0, 1], [2, 2]], dtype=np.uint8)
    target = np.array([[0, 255], [255, 2]], dtype=np.uint8)
    cm = ConfusionMatrix(3, ignore_index=255)
    cm.update(pred, target)
    np.testing.assert_array_equal(cm.matrix, np.diag([1, 0, 1]))
    assert cm.pixel_accuracy() == 1.0
    with pytest.raises(ValueError, match="ignore_index"):
        ConfusionMatrix(3).update(pred, target)


def test_ids_outside_the_classes_and_logits_are_refused():
    with pytest.raises(ValueError, match="outside"):
        ConfusionMatrix(2).update(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="integer class ids"):
        ConfusionMatrix(2).update(torch.rand(4), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="shape"):
        ConfusionMatrix(2).update(np.zeros(3, int), np.zeros(4, int))


def test_merge_equals_update_on_the_concatenation():
    rng = np.random.default_rng(1)
    preds = [rng.integers(0, 4, (2, 8, 8)) for _ in range(3)]
    targets = [rng.integers(0, 4, (2, 8, 8)) for _ in range(3)]
    whole = ConfusionMatrix(4)
    whole.update(np.concatenate(preds), np.concatenate(targets))
    merged = ConfusionMatrix(4)
    for pred, target in zip(preds, targets):
        part = ConfusionMatrix(4)
        part.update(torch.from_numpy(pred), torch.from_numpy(target))
        merged.merge(part)
    np.testing.assert_array_equal(merged.matrix, whole.matrix)
    assert merged.matrix.sum() == 3 * 2 * 8 * 8


def test_absent_class_has_no_iou_and_a_false_alarm_counts_as_zero():
    cm = ConfusionMatrix(3, class_names=["sand", "shale", "salt"])
    cm.update(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]))  # "salt" nowhere
    assert math.isnan(cm.iou()[2]) and math.isnan(cm.pa()[2])
    assert cm.miou() == 1.0 and cm.mpa() == 1.0  # the absent class is left out, not counted as 0 or 1
    cm.update(np.array([2]), np.array([0]))  # now predicted once, still not in the targets
    np.testing.assert_allclose(cm.iou(), [2 / 3, 1.0, 0.0])
    assert cm.miou() == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert math.isnan(cm.pa()[2]) and cm.mpa() == pytest.approx((2 / 3 + 1) / 2)


def test_as_dict_is_json_with_nulls_for_undefined_metrics():
    cm = ConfusionMatrix(3, class_names=["a", "b", "c"])
    cm.update(np.array([0, 1]), np.array([0, 0]))
    result = json.loads(json.dumps(cm.as_dict(), allow_nan=False))
    assert result["iou"] == {"a": 0.5, "b": 0.0, "c": None}
    assert result["pa"] == {"a": 0.5, "b": None, "c": None}
    assert result["miou"] == 0.25 and result["pixels"] == 2 and result["matrix"][0] == [1, 1, 0]
    empty = ConfusionMatrix(2).as_dict()
    assert empty["miou"] is None and empty["pixel_accuracy"] is None


def test_all_reduce_is_a_copy_when_not_distributed():
    counts = np.array([[1, 2], [3, 4]], dtype=np.int64)
    reduced = all_reduce(counts)
    reduced += 1
    np.testing.assert_array_equal(counts, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(all_reduce(torch.tensor([1.5, 2.0])), [1.5, 2.0])


def _rank_sums(rank: int, port: int, results) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        cm = ConfusionMatrix(2)
        cm.update(np.array([rank, 1]), np.array([0, 1]))  # rank 0: [[1,0],[0,1]]; rank 1: [[0,1],[0,1]]
        meter = RegressionMeter(data_range=1.0)
        meter.update(np.full((1, 4, 4), float(rank)), np.zeros((1, 4, 4)))
        results.put((rank, cm.all_reduced().matrix, cm.matrix.copy(), meter.all_reduced().mae()))
    finally:
        torch.distributed.destroy_process_group()


def test_all_reduced_sums_over_ranks():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.get_context("fork")  # forked ranks start in milliseconds; spawned ones re-import torch
    results = context.Queue()
    ranks = [context.Process(target=_rank_sums, args=(rank, port, results)) for rank in (0, 1)]
    for process in ranks:
        process.start()
    outcomes = [results.get(timeout=60) for _ in ranks]
    for process in ranks:
        process.join(timeout=60)
        assert process.exitcode == 0
    for _, total, own, mae in outcomes:
        np.testing.assert_array_equal(total, [[1, 1], [0, 2]])
        assert own.sum() == 2  # each rank's own counts are untouched
        assert mae == pytest.approx(0.5)


def test_mae_and_rmse_pool_every_pixel():
    meter = RegressionMeter()
    target = np.full((3, 1, 4, 4), 2000.0)
    meter.update(target[:2] + 10.0, target[:2])  # 32 pixels off by +10 m/s
    meter.update(torch.from_numpy(target[2:] - 40.0), torch.from_numpy(target[2:]))  # 16 off by -40 m/s
    assert meter.mae() == pytest.approx((32 * 10 + 16 * 40) / 48)  # 20, not the mean of batch MAEs (25)
    assert meter.rmse() == pytest.approx(math.sqrt((32 * 100 + 16 * 1600) / 48))
    result = meter.as_dict()
    assert result["pixels"] == 48 and result["maps"] == 3


def test_regression_merge_equals_one_update():
    rng = np.random.default_rng(2)
    pred, target = rng.normal(size=(4, 1, 12, 12)), rng.normal(size=(4, 1, 12, 12))
    whole = RegressionMeter()
    whole.update(pred, target)
    first, second = RegressionMeter(), RegressionMeter()
    first.update(pred[:1], target[:1])
    second.update(pred[1:], target[1:])
    assert first.merge(second).as_dict() == pytest.approx(whole.as_dict())


def _layered(height=24, width=20) -> np.ndarray:
    """A layered velocity map in m/s with a dipping interface."""
    depth = np.arange(height)[:, None] + 0.3 * np.arange(width)[None, :]  # (H, W)
    return np.select([depth < 8, depth < 16], [1800.0, 2600.0], 3900.0)


def _thin_layers(height=32, width=24, seed=5) -> np.ndarray:
    """Layers 2-4 samples thick at random velocities in 1500-4500 m/s: structure in every SSIM window."""
    rng = np.random.default_rng(seed)
    tops = np.cumsum(rng.integers(2, 5, height))  # (H,) layer boundaries, more than enough
    depth = np.arange(height)[:, None] + 0.2 * np.arange(width)[None, :]  # (H, W) dipping
    return rng.uniform(1500, 4500, height + 1)[np.searchsorted(tops, depth)]  # (H, W)


def test_ssim_of_identical_maps_is_one_and_of_a_negative_far_below():
    v = _thin_layers()
    negative = 1500.0 + 4500.0 - v  # fast where v is slow: every contrast reversed
    assert float(ssim(v, v)) == pytest.approx(1.0)
    assert float(ssim(v, v, data_range=3000.0)) == pytest.approx(1.0)
    assert float(ssim(negative, v, data_range=3000.0)) < 0.5
    assert float(ssim(negative, v)) < 0.5


def test_ssim_of_flat_maps_is_the_luminance_term():
    a, b, span = 1.0, 2.0, 1.0
    c1 = (0.01 * span) ** 2
    value = ssim(np.full((16, 16), b), np.full((16, 16), a), data_range=span)
    assert float(value) == pytest.approx((2 * a * b + c1) / (a**2 + b**2 + c1))


def _ssim_by_loops(x: np.ndarray, y: np.ndarray, span: float, k: int = 11) -> float:
    """The textbook definition, one k x k gaussian window at a time."""
    offsets = np.arange(k) - k // 2
    g = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 1.5**2))
    g /= g.sum()
    c1, c2 = (0.01 * span) ** 2, (0.03 * span) ** 2
    values = []
    for i in range(x.shape[0] - k + 1):
        for j in range(x.shape[1] - k + 1):
            wx, wy = x[i : i + k, j : j + k], y[i : i + k, j : j + k]
            mx, my = (g * wx).sum(), (g * wy).sum()
            vx, vy, cov = (g * (wx - mx) ** 2).sum(), (g * (wy - my) ** 2).sum(), (g * (wx - mx) * (wy - my)).sum()
            values.append((2 * mx * my + c1) * (2 * cov + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


def test_ssim_matches_the_definition_window_by_window():
    rng = np.random.default_rng(3)
    y = _layered(15, 14)
    x = y + rng.normal(0, 200, y.shape)
    span = float(y.max() - y.min())
    assert float(ssim(x[None, None], y[None, None])) == pytest.approx(_ssim_by_loops(x, y, span), rel=1e-9)


def test_ssim_of_maps_smaller_than_the_window_uses_the_largest_odd_window_that_fits():
    rng = np.random.default_rng(6)
    y = _layered(8, 10)  # 8 rows: a 7 x 7 window, 2 x 4 positions
    x = y + rng.normal(0, 150, y.shape)
    assert float(ssim(x, y, data_range=3000.0)) == pytest.approx(_ssim_by_loops(x, y, 3000.0, k=7), rel=1e-9)


def test_ssim_falls_as_noise_grows_and_is_one_per_map():
    rng = np.random.default_rng(4)
    v = np.stack([_layered(), _layered()[::-1]])  # (2, H, W)
    noise = rng.normal(size=v.shape)
    scores = [ssim(v + level * noise, v) for level in (0.0, 50.0, 200.0, 800.0)]
    assert all(s.shape == (2,) for s in scores)
    means = [float(s.mean()) for s in scores]
    assert means[0] == pytest.approx(1.0) and all(a > b for a, b in itertools.pairwise(means))


def test_regression_meter_reports_ssim_averaged_over_maps():
    v = _layered()
    meter = RegressionMeter(data_range=3000.0)
    meter.update(np.stack([v, v])[:, None], np.stack([v, v])[:, None])
    meter.update(-v[None, None], v[None, None])
    expected = (2 + float(ssim(-v, v, data_range=3000.0))) / 3
    assert meter.ssim() == pytest.approx(expected)
