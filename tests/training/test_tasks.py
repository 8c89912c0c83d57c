"""Tasks: losses that reward the right answer and pass gradients, weights that favour rare classes."""

import json
import math

import pytest
import torch

from seiscli.training.metrics import ConfusionMatrix, RegressionMeter
from seiscli.training.tasks import (
    TASKS,
    FaciesTask,
    VelocityTask,
    focal_loss,
    inverse_frequency_weights,
    lovasz_softmax_loss,
    make_task,
    sobel,
    total_variation,
)

FACIES = ["sand", "shale", "carbonate", "salt"]
SEGMENTATION = {
    "salt": {"class_frequencies": {"background": 0.7, "salt": 0.3}},
    "fault": {"class_frequencies": {"background": 0.96, "fault": 0.04}},
    "facies": {"class_names": FACIES, "class_frequencies": [0.5, 0.3, 0.15, 0.05]},
}


def _target(num_classes: int, shape=(2, 16, 16), seed=0) -> torch.Tensor:
    return torch.randint(0, num_classes, shape, generator=torch.Generator().manual_seed(seed))  # (B, H, W)


def _perfect_logits(target: torch.Tensor, num_classes: int, scale=20.0) -> torch.Tensor:
    return scale * torch.nn.functional.one_hot(target, num_classes).movedim(-1, 1).float()  # (B, K, H, W)


@pytest.mark.parametrize("name", SEGMENTATION)
def test_perfect_logits_score_near_zero_and_beat_random(name):
    task = make_task(name, **SEGMENTATION[name])
    target = _target(task.num_classes)
    perfect = task.loss(_perfect_logits(target, task.num_classes), target)
    random = task.loss(torch.randn(2, task.num_classes, 16, 16, generator=torch.Generator().manual_seed(1)), target)
    assert set(perfect) >= {"loss", "ce", "dice"}
    assert perfect["dice"] < 1e-3 and perfect["ce"] < 1e-3
    assert random["ce"] > 10 * perfect["ce"] and random["dice"] > 0.1
    assert random["loss"] > perfect["loss"]


@pytest.mark.parametrize("name", [*SEGMENTATION, "focal fault"])
def test_gradients_flow_and_are_finite(name):
    task = make_task("fault", focal_gamma=2.0, **SEGMENTATION["fault"]) if name == "focal fault" else make_task(
        name, **SEGMENTATION[name])  # fmt: skip
    logits = torch.randn(2, task.num_classes, 8, 8, requires_grad=True)
    parts = task.loss(logits, _target(task.num_classes, (2, 8, 8)))
    parts["loss"].backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    assert not any(value.requires_grad for key, value in parts.items() if key != "loss")  # parts are for the log


def test_rarer_classes_weigh_more_and_weights_stay_bounded():
    weights = inverse_frequency_weights([0.6, 0.3, 0.1, 0.0], max_weight=5.0)
    assert weights.tolist() == pytest.approx([1.0, 2.0, 5.0, 5.0])  # 0.6/0.1 = 6 clipped to 5; unseen -> 5
    fault = make_task("fault", class_frequencies={"fault": 0.04, "background": 0.96})  # dict order is irrelevant
    assert fault.class_weights.tolist() == pytest.approx([1.0, 20.0])  # 24 clipped to the default 20
    salt = make_task("salt", class_frequencies=[0.7, 0.3])
    assert salt.class_weights.tolist() == [1.0, 1.0]  # salt is plain BCE by default: weighting costs IoU
    salt = make_task("salt", class_frequencies=[0.7, 0.3], max_class_weight=20)
    assert salt.class_weights[1] > salt.class_weights[0] == 1.0
    with pytest.raises(ValueError, match="lack"):
        make_task("fault", class_frequencies={"background": 0.9, "faults": 0.1})
    with pytest.raises(ValueError, match="non-negative"):
        inverse_frequency_weights([0.5, -0.1])


def test_class_weights_make_missed_rare_pixels_cost_more():
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, :, 3] = 1  # a thin vertical fault
    logits = _perfect_logits(torch.zeros_like(target), 2, scale=3.0)  # says background everywhere
    weighted = make_task("fault", **SEGMENTATION["fault"]).loss(logits, target)["ce"]
    uniform = make_task("fault").loss(logits, target)["ce"]
    assert weighted > 2 * uniform


def test_focal_loss_is_cross_entropy_at_gamma_zero_and_discounts_easy_pixels():
    logits = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(2))
    target, weight = _target(3, (2, 6, 6)), torch.tensor([1.0, 2.0, 4.0])
    ce = torch.nn.functional.cross_entropy(logits, target, weight=weight)
    assert focal_loss(logits, target, weight, gamma=0.0) == pytest.approx(float(ce))
    easy_and_hard = torch.tensor([0.9, 0.1, 0.1, 0.9]).log().view(1, 2, 1, 2)  # (1, K=2, 1, 2): p(true) 0.9, 0.1
    zeros = torch.zeros(1, 1, 2, dtype=torch.long)
    by_hand = (0.1**2 * -math.log(0.9) + 0.9**2 * -math.log(0.1)) / 2  # (1 - p)^2 * -log p, averaged
    assert float(focal_loss(easy_and_hard, zeros, torch.ones(2), gamma=2.0)) == pytest.approx(by_hand, rel=1e-5)


def test_ignored_pixels_change_neither_loss_nor_metrics():
    task = make_task("facies", FACIES, ignore_index=255)
    target = _target(4, (1, 8, 8))
    target[0, :2] = 255
    logits = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    other = logits.clone()
    other[..., :2, :] = torch.randn(1, 4, 2, 8)  # different outputs at the ignored pixels only
    first, second = task.loss(logits, target), task.loss(other, target)
    assert float(first["loss"]) == pytest.approx(float(second["loss"]))
    meter = task.new_meter()
    meter.update(task.predict(logits), target)
    assert meter.matrix.sum() == 6 * 8


def test_predictions_meters_and_the_metric_to_select_on():
    task = make_task("salt")
    logits = torch.tensor([[[[2.0, -1.0]], [[1.0, 0.5]]]])  # (1, 2, 1, 2): background, then salt wins
    assert task.predict(logits).tolist() == [[[0, 1]]]
    assert isinstance(task.new_meter(), ConfusionMatrix) and task.class_names == ["background", "salt"]
    assert task.primary_metric == "miou" and task.is_better(0.8, 0.7) and not task.is_better(0.6, 0.7)
    velocity = make_task("velocity")
    assert isinstance(velocity.new_meter(), RegressionMeter) and velocity.num_classes == 1
    assert velocity.primary_metric == "mae" and velocity.is_better(30.0, 40.0) and velocity.is_better(99.0, None)


def test_facies_in_3d_and_a_channel_axis_on_the_target():
    task = make_task("facies", FACIES)
    target = _target(4, (1, 4, 6, 6))  # (B, D, H, W)
    logits = _perfect_logits(target, 4)  # (B, K, D, H, W)
    assert task.loss(logits, target)["loss"] < 1e-3
    assert task.loss(logits, target.unsqueeze(1))["loss"] < 1e-3  # (B, 1, D, H, W) as stored by some sources


def test_factory_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="known tasks: salt, fault, facies, velocity"):
        make_task("horizon")
    with pytest.raises(ValueError, match="class names"):
        make_task("facies")
    with pytest.raises(ValueError, match="binary"):
        make_task("salt", ["background", "salt", "anhydrite"])
    with pytest.raises(ValueError, match="regression"):
        make_task("velocity", ["slow", "fast"])
    with pytest.raises(TypeError):
        make_task("salt", dice_wieght=2.0)


@pytest.mark.parametrize("name", TASKS)
def test_spec_is_json_and_rebuilds_the_task(name):
    task = make_task(name, **SEGMENTATION.get(name, {}), **({"vmax": 5000.0} if name == "velocity" else {}))
    rebuilt = make_task(**json.loads(json.dumps(task.spec())))
    assert type(rebuilt) is type(task) and rebuilt.spec() == task.spec()
    if name != "velocity":
        assert torch.equal(rebuilt.class_weights, task.class_weights)


def _step_map(edge: int, height=12, width=16) -> torch.Tensor:
    """(1, 1, H, W) velocity in m/s: 2000 left of column ``edge``, 3500 from it on."""
    v = torch.full((1, 1, height, width), 2000.0)
    v[..., edge:] = 3500.0
    return v


def test_velocity_scaling_maps_the_range_onto_minus_one_one():
    task = VelocityTask(vmin=1500.0, vmax=4500.0)
    assert task.normalize(torch.tensor([1500.0, 3000.0, 4500.0])).tolist() == [-1.0, 0.0, 1.0]
    v = _step_map(5)
    torch.testing.assert_close(task.denormalize(task.normalize(v)), v)
    torch.testing.assert_close(task.predict(task.normalize(v)), v)


def test_velocity_loss_is_zero_when_exact_and_positive_otherwise():
    task = make_task("velocity")
    target = _step_map(6)
    exact = task.loss(task.normalize(target), target)
    assert set(exact) == {"loss", "huber", "gradient", "tv"} and float(exact["loss"]) == 0.0
    off = task.loss(task.normalize(target + 30.0), target)
    assert off["loss"] > 0 and off["huber"] > 0
    assert task.loss(task.normalize(target), target.squeeze(1))["loss"] == 0.0  # (B, H, W) target


def test_sobel_term_sees_a_shifted_edge_but_not_a_constant_offset():
    task = make_task("velocity")
    target = _step_map(6)
    shifted = task.loss(task.normalize(_step_map(7)), target)
    offset = task.loss(task.normalize(target + 100.0), target)
    # Sobel / 8 turns a unit step into 0.5 on the two columns beside it: a one-column shift leaves 0.5
    # differences on 2 of 14 columns, in 1 of 2 directions -> 0.5 * 2 / 28
    assert float(shifted["gradient"]) == pytest.approx(0.5 * 2 / 28)
    assert float(offset["gradient"]) == pytest.approx(0.0, abs=1e-6) and float(offset["tv"]) == pytest.approx(0.0)
    assert offset["huber"] > 0


def test_sobel_and_total_variation_by_hand():
    ramp = torch.arange(5.0).repeat(5, 1).view(1, 1, 5, 5)  # rises by 1 per column
    gradients = sobel(ramp)  # (1, 2, 3, 3)
    torch.testing.assert_close(gradients[0, 0], torch.ones(3, 3))
    torch.testing.assert_close(gradients[0, 1], torch.zeros(3, 3))
    assert float(total_variation(ramp)) == pytest.approx(1.0)  # 0 vertically + 1 horizontally


def test_velocity_gradients_flow_and_metrics_come_out_in_m_per_s():
    task = make_task("velocity")
    target = _step_map(6).repeat(2, 1, 1, 1)  # (2, 1, H, W)
    output = (task.normalize(target) + 0.01).requires_grad_()  # 0.01 normalized = 15 m/s too fast
    task.loss(output, target)["loss"].backward()
    assert torch.isfinite(output.grad).all() and output.grad.abs().sum() > 0
    meter = task.new_meter()
    meter.update(task.predict(output), target)
    result = meter.as_dict()
    assert result["mae"] == pytest.approx(15.0, rel=1e-4) and result["rmse"] == pytest.approx(15.0, rel=1e-4)
    assert result["ssim"] > 0.99


def test_facies_dice_averages_every_class_with_the_weights():
    task = FaciesTask(FACIES, [0.5, 0.3, 0.15, 0.05])
    target = _target(4, (1, 8, 8))
    logits = _perfect_logits(target, 4)
    logits[:, :, target[0] == 3] = 0.0  # the rarest class blurred into uniform guesses
    rare_missed = task.loss(logits, target)["dice"]
    uniform = FaciesTask(FACIES).loss(logits, target)["dice"]
    assert rare_missed > uniform > 0  # the rare class's weight raises what its miss costs


def test_lovasz_equals_one_minus_iou_on_hard_predictions():
    # On one-hot probabilities the Lovasz extension is exact: the loss is 1 - IoU averaged over classes.
    target = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1]]])  # (1, 2, 4)
    predicted = torch.tensor([[[0, 1, 1, 1], [0, 0, 0, 1]]])  # one false salt, one missed salt
    probs = torch.nn.functional.one_hot(predicted, 2).movedim(-1, 1).float()  # (1, 2, 2, 4)
    iou_background, iou_salt = 3 / 5, 3 / 5  # |A & B| / |A | B| per class
    expected = 1 - (iou_background + iou_salt) / 2
    assert float(lovasz_softmax_loss(probs, target)) == pytest.approx(expected)
    perfect = torch.nn.functional.one_hot(target, 2).movedim(-1, 1).float()
    assert float(lovasz_softmax_loss(perfect, target)) == pytest.approx(0.0)


def test_lovasz_term_is_optional_differentiable_and_ignores_pixels():
    target = _target(2)
    logits = torch.randn(2, 2, 16, 16, requires_grad=True)
    plain = make_task("salt")
    with_lovasz = make_task("salt", lovasz_weight=0.5)
    parts = with_lovasz.loss(logits, target)
    assert "lovasz" not in plain.loss(logits, target)
    assert float(parts["loss"]) == pytest.approx(
        float(plain.loss(logits, target)["loss"].detach() + 0.5 * parts["lovasz"])
    )
    parts["loss"].backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    probs = logits.detach().softmax(1)
    ignored = target.clone()
    ignored[:, :4] = 255
    kept = lovasz_softmax_loss(probs[:, :, 4:], target[:, 4:])
    assert float(lovasz_softmax_loss(probs, ignored, ignore_index=255)) == pytest.approx(float(kept))
    with pytest.raises(ValueError, match=">= 0"):
        make_task("salt", lovasz_weight=-1)
