"""How fast a model runs forward on this machine, and how large it is."""

import contextlib
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def forward_speed(model: nn.Module, sample_shape: tuple[int, ...], batch_size: int, device: torch.device,
                  autocast=None, min_seconds: float = 0.25, min_passes: int = 3) -> float:  # fmt: skip
    """Samples per second of ``model``'s forward pass in eval mode on batches (batch_size, *sample_shape).

    One untimed pass first (allocations, kernel choice); then passes until both minimums are met.
    """
    x = torch.randn(batch_size, *sample_shape, generator=torch.Generator().manual_seed(0)).to(device)
    model.eval()
    synchronize = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    with autocast or contextlib.nullcontext():
        model(x)
        synchronize()
        passes, started = 0, time.perf_counter()
        while passes < min_passes or time.perf_counter() - started < min_seconds:
            model(x)
            synchronize()
            passes += 1
    return passes * batch_size / (time.perf_counter() - started)


def time_in_turns(calls: list[Callable], x: torch.Tensor, runs: int) -> list[float]:
    """The median seconds of each of ``calls`` on ``x``, after one warm-up call each; the calls take
    turns run by run, so a change of machine load touches them alike."""
    spent: list[list[float]] = [[] for _ in calls]
    with torch.inference_mode():
        for call in calls:
            call(x)  # kernels chosen, buffers allocated
        for _ in range(runs):
            for call, times in zip(calls, spent):
                started = time.perf_counter()
                call(x)
                times.append(time.perf_counter() - started)
    return [statistics.median(times) for times in spent]
