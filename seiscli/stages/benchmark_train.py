"""``seis benchmark train``: how many training steps per second each model makes here, in fp32 and bf16.

Each model trains on one synthetic batch held in memory (AdamW, cross-entropy, or smooth L1 for
velocity), so the numbers are the model's and the machine's, not the loader's (``seis benchmark
loader`` measures that). Precisions take turns step by step; the median step time is reported.
Section models get (B, 1, H, W) samples of ``size``; velocity models OpenFWI's 5 x 1000 x 70 gathers.
"""

import contextlib
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from seiscli.config.benchmark import TrainBenchmarkConfig
from seiscli.progress import Progress, SilentProgress

SHOTS, GATHER, VELOCITY_GRID = 5, (1000, 70), (70, 70)


@dataclass
class TrainRow:
    model: str
    parameters: int
    input_shape: list[int]
    seconds_per_step: dict[str, float]  # by precision


@dataclass
class TrainBenchmark:
    batch_size: int
    precisions: tuple[str, ...]
    machine: dict[str, Any]
    rows: list[TrainRow]


def run_train_benchmark(cfg: TrainBenchmarkConfig, progress: Progress | None = None) -> TrainBenchmark:
    from seiscli.bench.machine import describe_machine
    from seiscli.models import model_entry

    progress = progress or SilentProgress()
    for name in cfg.models:
        model_entry(name)  # an unknown name fails before any work
    rows = []
    for name in cfg.models:
        progress.log(f"timing {name}")
        rows.append(_time_model(name, cfg))
    return TrainBenchmark(cfg.batch_size, cfg.precisions, describe_machine(), rows)


def _time_model(name: str, cfg: TrainBenchmarkConfig) -> TrainRow:
    from seiscli.models import create_model, model_entry
    from seiscli.models.segmenter import vit_grid_options

    torch.manual_seed(0)
    velocity = model_entry(name).takes_out_size
    options = {"in_channels": SHOTS, "out_size": VELOCITY_GRID} if velocity else {"num_classes": 2}
    size = GATHER if velocity else cfg.size
    model = create_model(name, **options, **vit_grid_options(name, size, **options)).train()
    x = torch.randn(cfg.batch_size, SHOTS if velocity else 1, *size)
    y = torch.rand(cfg.batch_size, 1, *VELOCITY_GRID) if velocity else torch.randint(0, 2, (cfg.batch_size, *size))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    contexts = {"fp32": contextlib.nullcontext, "bf16": lambda: torch.autocast("cpu", dtype=torch.bfloat16)}
    times: dict[str, list[float]] = {p: [] for p in cfg.precisions}
    for step in range(cfg.warmup + cfg.steps):
        for precision in cfg.precisions:
            started = time.perf_counter()
            with contexts[precision]():
                out = model(x)
                loss = F.smooth_l1_loss(out.float(), y) if velocity else F.cross_entropy(out.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step >= cfg.warmup:
                times[precision].append(time.perf_counter() - started)
    parameters = sum(p.numel() for p in model.parameters())
    return TrainRow(name, parameters, list(x.shape[1:]), {p: statistics.median(t) for p, t in times.items()})
