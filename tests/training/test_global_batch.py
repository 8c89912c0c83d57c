"""Global-batch statistics: two gloo ranks holding half a batch each compute what one process computes."""

import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from seiscli.training.global_batch import GlobalBatchNorm, use_global_batchnorm
from seiscli.training.tasks import make_task


def _batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 3, 6, 5, generator=generator) * 2 + 1  # (B, C, H, W)
    target = torch.randint(0, 2, (8, 6, 5), generator=generator)  # (B, H, W)
    return x, target


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))


def _step(model, x, target, task):
    loss = task.loss(model(x), target)["loss"]
    loss.backward()
    return float(loss.detach()), {name: p.grad.clone() for name, p in model.named_parameters()}


def _task():
    return make_task("salt", class_frequencies=[0.7, 0.3], max_class_weight=20, lovasz_weight=0.5)


def _rank(rank: int, world: int, init_file: str, results) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        x, target = _batch()
        half = slice(rank * 4, rank * 4 + 4)
        model = use_global_batchnorm(_model())
        loss, grads = _step(model, x[half], target[half], _task())
        for grad in grads.values():
            dist.all_reduce(grad)
            grad /= world  # what DDP does
        results[rank] = (loss, grads, model[1].running_mean.clone(), model[1].running_var.clone())
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(sys.platform == "win32", reason="file:// rendezvous")
def test_two_ranks_give_the_losses_gradients_and_running_stats_of_one(tmp_path):
    x, target = _batch()
    model = _model()
    loss, grads = _step(model, x, target, _task())
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_rank, args=(2, str(tmp_path / "rendezvous"), results), nprocs=2)
        results = dict(results)
    assert isinstance(model[1], nn.BatchNorm2d)
    for rank in (0, 1):
        rank_loss, rank_grads, running_mean, running_var = results[rank]
        assert (rank_loss + results[1 - rank][0]) / 2 == pytest.approx(loss, rel=1e-5)  # DDP logs the mean
        for name, grad in grads.items():
            torch.testing.assert_close(rank_grads[name], grad, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(running_mean, model[1].running_mean)
        torch.testing.assert_close(running_var, model[1].running_var)


def test_conversion_keeps_weights_and_is_plain_batchnorm_alone():
    model = _model()
    model[1].running_mean.fill_(0.5)
    converted = use_global_batchnorm(_model())
    converted.load_state_dict(model.state_dict())
    assert isinstance(converted[1], GlobalBatchNorm) and converted.state_dict().keys() == model.state_dict().keys()
    x, _ = _batch()
    torch.testing.assert_close(converted(x), model(x))  # one process: exactly BatchNorm
    converted.eval(), model.eval()
    torch.testing.assert_close(converted(x), model(x))
