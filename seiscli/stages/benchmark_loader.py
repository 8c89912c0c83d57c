"""``seis benchmark loader``: can the loader keep a training step fed?

Two rates on the same batches, measured one after the other so each has the whole machine: first
the loader (worker processes reading, augmenting and collating), then, once its workers have
stopped, a training step of a tiny U-Net on batches already in memory. Running them together
would split the cores between them and measure neither.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seiscli.config.benchmark import LoaderBenchmarkConfig
from seiscli.data.augment import Augment
from seiscli.data.loader import SeismicDataset, make_loader
from seiscli.errors import ConfigError, InputNotFoundError
from seiscli.progress import Progress, SilentProgress

TARGET_RATIO = 5.0  # loader samples/s per training samples/s that leaves the step never waiting


@dataclass
class LoaderBenchmark:
    dataset: Path
    split: str
    samples: int  # in the split
    sample_shape: tuple[int, ...]
    x_dtype: str
    batch_size: int
    workers: int
    augment: bool
    cached: bool
    loader_batches: int
    loader_samples_per_s: float
    train_steps: int
    train_samples_per_s: float
    precision: str
    target_ratio: float = TARGET_RATIO
    warnings: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.loader_samples_per_s / self.train_samples_per_s


class _ProbeNet(nn.Module):
    """A tiny U-Net (three convolutions and a 1x1 head, one skip): just enough to time a training step."""

    def __init__(self, in_channels: int, out_channels: int, dims: int = 2, width: int = 16):
        super().__init__()
        conv, up = (nn.Conv2d, nn.ConvTranspose2d) if dims == 2 else (nn.Conv3d, nn.ConvTranspose3d)
        self.encode = nn.Sequential(conv(in_channels, width, 3, padding=1), nn.ReLU())
        self.down = nn.Sequential(conv(width, 2 * width, 3, stride=2, padding=1), nn.ReLU())
        self.up = nn.Sequential(up(2 * width, width, 2, stride=2), nn.ReLU())
        self.head = conv(2 * width, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.encode(x)  # (B, w, H, W)
        deep = self.up(self.down(skip))  # (B, w, 2 ceil(H/2), 2 ceil(W/2))
        deep = deep[(..., *(slice(0, s) for s in skip.shape[2:]))]  # (B, w, H, W): odd sizes cropped
        return self.head(torch.cat([skip, deep], dim=1))  # (B, out, H, W)


def run_loader_benchmark(cfg: LoaderBenchmarkConfig, progress: Progress | None = None) -> LoaderBenchmark:
    """Time the loader alone, stop its workers, then time training steps on the batches it gave."""
    progress = progress or SilentProgress()
    dataset = _open_split(cfg)
    loader_rate, batches = _time_loader(cfg, dataset, progress)
    train_rate, precision = _time_training(cfg, dataset, batches, progress)
    result = LoaderBenchmark(cfg.dataset, cfg.split, len(dataset), dataset.sample_shape, dataset.x_dtype,
                             cfg.batch_size, cfg.workers, cfg.augment, dataset.cached, cfg.batches, loader_rate,
                             cfg.steps, train_rate, precision)  # fmt: skip
    if result.ratio < result.target_ratio:
        result.warnings.append(f"the loader delivers {result.ratio:.1f}x the training step rate (target "
                               f"{result.target_ratio:g}x): training would wait for data")  # fmt: skip
    return result


def _open_split(cfg: LoaderBenchmarkConfig) -> SeismicDataset:
    if not cfg.dataset.exists():
        raise InputNotFoundError(f"{cfg.dataset} does not exist", "give a dataset store (seis preprocess makes one)")
    dataset = SeismicDataset(cfg.dataset, cfg.split, cache_mb=cfg.cache_mb)
    if len(dataset) == 0:
        raise ConfigError(f"the {cfg.split} split of {cfg.dataset} is empty", "choose another --split")
    return dataset


def _endless(loader) -> Iterator:
    """Batches epoch after epoch: a small split is timed over as many batches as asked."""
    while True:
        yield from loader


def _time_loader(cfg: LoaderBenchmarkConfig, dataset: SeismicDataset, progress: Progress) -> tuple[float, list]:
    """Samples per second after ``warmup`` batches; the first ``steps`` timed batches are kept."""
    augment = Augment.for_task(dataset.task) if cfg.augment else None
    loader = make_loader(cfg.dataset, cfg.split, cfg.batch_size, cfg.workers, augment, cfg.seed, shuffle=True,
                         cache_mb=cfg.cache_mb)  # fmt: skip
    stream = _endless(loader)
    progress.start("loading batches", cfg.warmup + cfg.batches)
    for _ in range(cfg.warmup):
        next(stream)
        progress.advance()
    kept, samples = [], 0
    started = time.perf_counter()
    for _ in range(cfg.batches):
        batch = next(stream)
        samples += len(batch[0]) if dataset.labelled else len(batch)
        if len(kept) < cfg.steps:
            kept.append(batch)
        progress.advance()
    seconds = time.perf_counter() - started
    stream.close()  # the last reference to the loader goes with this frame: its workers stop
    return samples / seconds, kept


def _time_training(cfg: LoaderBenchmarkConfig, dataset: SeismicDataset, batches: list, progress: Progress):
    """Samples per second of forward + backward + AdamW steps, and the precision they ran in."""
    torch.manual_seed(cfg.seed)
    pairs = [batch if dataset.labelled else (batch, batch) for batch in batches]  # unlabelled: reconstruct x
    x, y = pairs[0]
    net = _ProbeNet(x.shape[1], _out_channels(dataset, pairs), dims=x.ndim - 2)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    bf16 = _use_bf16(cfg.precision)
    progress.start("training steps", cfg.warmup + cfg.steps)
    for i in range(cfg.warmup):
        _train_step(net, optimizer, *pairs[i % len(pairs)], classes=dataset.classes, bf16=bf16)
        progress.advance()
    samples, started = 0, time.perf_counter()
    for i in range(cfg.steps):
        x, y = pairs[i % len(pairs)]
        _train_step(net, optimizer, x, y, classes=dataset.classes, bf16=bf16)
        samples += len(x)
        progress.advance()
    return samples / (time.perf_counter() - started), "bf16" if bf16 else "fp32"


def _out_channels(dataset: SeismicDataset, pairs: list) -> int:
    if dataset.classes:
        return len(dataset.class_names) if dataset.class_names else int(max(y.max() for _, y in pairs)) + 1
    return pairs[0][1].shape[1]  # (B, C, ...) values


def _use_bf16(precision: str) -> bool:
    if precision != "auto":
        return precision == "bf16"
    # Native bf16 (AVX512-BF16 or AMX) makes autocast pay; elsewhere it is emulated and slower than fp32.
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def _train_step(net, optimizer, x: torch.Tensor, y: torch.Tensor, classes: bool, bf16: bool) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = net(x)  # (B, K, *spatial)
        grid = y.shape[-(x.ndim - 2) :]
        if out.shape[2:] != grid:  # fwi: shot gathers (S, T, R) to a velocity model (1, depth, x)
            out = F.interpolate(out, size=grid, mode="bilinear" if x.ndim == 4 else "trilinear")
        loss = F.cross_entropy(out, y) if classes else F.smooth_l1_loss(out.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
