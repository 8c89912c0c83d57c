"""The training loop: a skeleton that knows no model and no task beyond their interfaces.

One epoch = the train split once (with gradient accumulation), then validation on the val split.
At every epoch end the callbacks run in order (metrics log, checkpoints, early stopping); the
resumable state is saved there, so a killed run restarts from its last complete epoch and, with
the loader's (seed, epoch) sampling, ends with the same weights as an uninterrupted run.
"""

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from seiscli.errors import ConfigError
from seiscli.progress import Progress
from seiscli.training.distributed import mean_across


@dataclass(frozen=True)
class EngineOptions:
    epochs: int = 30
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    min_lr_ratio: float = 0.01
    restarts: int = 0  # warm restarts of the cosine: 1 + restarts equal cycles after the warm-up
    clip_grad: float | None = 1.0
    accumulate: int = 1
    precision: str = "auto"  # auto: bf16 on CPU when supported and on CUDA, else fp32; or bf16, fp16, fp32
    ema_decay: float | None = 0.999
    patience: int | None = None  # epochs without improvement before stopping
    layer_decay: float | None = None  # ViT backbones: block i of L learns at lr * layer_decay ** (L - i)


@dataclass
class EpochReport:
    epoch: int
    train_loss: float
    metrics: dict[str, Any]
    lr: float
    seconds: float
    improved: bool = False
    stop: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def autocast_context(device: torch.device, precision: str):
    """The autocast for ``precision`` on ``device`` (bf16 by default where the hardware has it)."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" or _cpu_has_bf16() else "fp32"
    if precision == "fp32":
        return contextlib.nullcontext(), precision
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype), precision


def _cpu_has_bf16() -> bool:
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.ones(2, 2) @ torch.ones(2, 2)
        return torch.backends.mkldnn.is_available()
    except RuntimeError:
        return False


def warmup_cosine(total_steps: int, warmup_steps: int, min_ratio: float, restarts: int = 0) -> Callable[[int], float]:
    """Learning-rate factor at a step: linear warm-up, then cosine decay to ``min_ratio``.

    With ``restarts`` the decay runs in 1 + restarts equal cycles, each starting again from the
    full rate (SGDR, Loshchilov & Hutter 2017); every cycle ends on a low-rate, well-averaged model.
    """
    cycles = restarts + 1

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(warmup_steps, 1)
        progress = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1.0) * cycles
        within = 1.0 if progress >= cycles else progress - math.floor(progress)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * within))

    return factor


class ExponentialAverage:
    """EMA of a model's floating-point parameters and buffers, kept in float32.

    The decay warms up as (1 + n) / (10 + n) over the first updates, so a short run is not
    dominated by the random initial weights. Frozen parameters are copied, not averaged, so they
    stay bit-identical (an average of equal values can round differently).
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.frozen = {name for name, parameter in model.named_parameters() if not parameter.requires_grad}
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in model.state_dict().items():
            if value.dtype.is_floating_point and name not in self.frozen:
                self.shadow[name].mul_(decay).add_(value.detach().float(), alpha=1 - decay)
            else:
                self.shadow[name].copy_(value)

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = state["updates"]
        self.shadow = {k: v.clone() for k, v in state["shadow"].items()}


def make_optimizer(model: nn.Module, options: EngineOptions) -> torch.optim.Optimizer:
    """AdamW without weight decay on norms and biases, layer-wise learning rates on request; fused
    kernels where the build has them."""
    groups: dict[tuple[float, bool], list[nn.Parameter]] = {}
    depth = _vit_depth(model) if options.layer_decay else None
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            scale = options.layer_decay ** (depth - _vit_layer(name, depth)) if depth else 1.0
            decays = not (parameter.ndim <= 1 or name.endswith(".bias"))
            groups.setdefault((scale, decays), []).append(parameter)
    params = [{"params": p, "lr": options.lr * scale, "weight_decay": options.weight_decay if decays else 0.0}
              for (scale, decays), p in groups.items()]  # fmt: skip
    try:
        return torch.optim.AdamW(params, lr=options.lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(params, lr=options.lr)


VIT_BLOCKS = "backbone.model.blocks."
VIT_EMBEDDINGS = ("backbone.model.patch_embed.", "backbone.model.pos_embed", "backbone.model.cls_token",
                  "backbone.model.reg_token")  # fmt: skip


def _vit_depth(model: nn.Module) -> int:
    """The number of transformer blocks of the model's ViT backbone; layer decay needs one."""
    blocks = {name.removeprefix(VIT_BLOCKS).split(".")[0] for name, _ in model.named_parameters()
              if name.startswith(VIT_BLOCKS)}  # fmt: skip
    if not blocks:
        raise ConfigError("layer_decay needs a ViT backbone; this model has no transformer blocks")
    return max(int(b) for b in blocks) + 1


def _vit_layer(name: str, depth: int) -> int:
    """Layer-decay depth of a parameter (MAE / BEiT): 0 the embeddings, i + 1 block i, ``depth`` the rest
    (final norm, decoder, head: the full learning rate)."""
    if name.startswith(VIT_EMBEDDINGS):
        return 0
    if name.startswith(VIT_BLOCKS):
        return int(name.removeprefix(VIT_BLOCKS).split(".")[0]) + 1
    return depth


class Trainer:
    """Runs epochs of ``task`` on ``model``; knows the model only through forward and parameters."""

    def __init__(self, model: nn.Module, task, train_loader, val_loader, options: EngineOptions,
                 device: torch.device, progress: Progress, ddp: bool = False):  # fmt: skip
        self.model, self.task, self.options, self.device, self.progress = model, task, options, device, progress
        self.train_loader, self.val_loader = train_loader, val_loader
        self.network = nn.parallel.DistributedDataParallel(model) if ddp else model
        self.optimizer = make_optimizer(model, options)
        steps_per_epoch = max(1, math.ceil(len(train_loader) / options.accumulate))
        schedule = warmup_cosine(steps_per_epoch * options.epochs, round(steps_per_epoch * options.warmup_epochs),
                                 options.min_lr_ratio, options.restarts)  # fmt: skip
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.autocast, self.precision = autocast_context(device, options.precision)
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.ema = ExponentialAverage(model, options.ema_decay) if options.ema_decay else None
        self.epoch = 0
        self.best: float | None = None
        self.stale_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "ema": self.ema.state_dict() if self.ema else None,
                "scaler": self.scaler.state_dict() if self.scaler else None, "epoch": self.epoch,
                "best": self.best, "stale_epochs": self.stale_epochs, "rng": torch.get_rng_state()}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        if self.scaler and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.best, self.stale_epochs = state["epoch"], state["best"], state["stale_epochs"]
        torch.set_rng_state(state["rng"])

    def fit(self, on_epoch_end: Callable[[EpochReport], None]) -> None:
        """Train from ``self.epoch`` to the last epoch, or until early stopping."""
        while self.epoch < self.options.epochs:
            started = time.perf_counter()
            loss = self.train_epoch()
            metrics = self.validate()
            report = self._judge(loss, metrics, time.perf_counter() - started)
            self.epoch += 1
            on_epoch_end(report)
            if report.stop:
                break

    def train_epoch(self) -> float:
        self.network.train()
        self.train_loader.sampler.set_epoch(self.epoch)
        self.progress.start(self._epoch_title(), len(self.train_loader))
        total, count = 0.0, 0
        for step, batch in enumerate(self.train_loader):
            x, y = self._on_device(batch)
            with self.autocast:
                output = self.network(x)  # (B, K, H, W)
            loss = self.task.loss(output, y, inputs=x)["loss"]
            self._backward(loss / self.options.accumulate)
            if (step + 1) % self.options.accumulate == 0 or step + 1 == len(self.train_loader):
                self._optimizer_step()
            total, count = total + float(loss.detach()) * len(x), count + len(x)
            self.progress.advance(status=f"loss {total / count:.4f}")
        return mean_across(total / max(count, 1))

    def _on_device(self, batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(x, y) on the device; y is None for an unlabelled store, whose loader yields x alone."""
        x, y = (batch, None) if isinstance(batch, torch.Tensor) else batch
        x = x.to(self.device, non_blocking=True)
        return x, None if y is None else y.to(self.device, non_blocking=True)

    def _epoch_title(self) -> str:
        """ "epoch 5/30", with the best value of the primary metric so far."""
        title = f"epoch {self.epoch + 1}/{self.options.epochs}"
        return title if self.best is None else f"{title} (best {self.task.primary_metric} {self.best:.4f})"

    def _backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def _optimizer_step(self) -> None:
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        if self.options.clip_grad:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.options.clip_grad)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        if self.ema:
            self.ema.update(self.model)

    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        """Metrics of the evaluated weights (EMA when kept) on the val split, merged across ranks."""
        if self.val_loader is None:
            return {}
        model = self.evaluation_model()
        meter = self.task.new_meter()
        for batch in self.val_loader:
            x, y = self._on_device(batch)
            with self.autocast:
                output = model(x)
            meter.update(self.task.predict(output), y)
        return meter.all_reduced().as_dict()

    def evaluation_model(self) -> nn.Module:
        """The model with the weights to keep: the EMA's when there is one."""
        if self.ema is None:
            return self.model.eval()
        if not hasattr(self, "_ema_model"):
            import copy

            self._ema_model = copy.deepcopy(self.model)
        self._ema_model.load_state_dict(
            {k: v.to(self._ema_model.state_dict()[k].dtype) for k, v in self.ema.shadow.items()}
        )
        return self._ema_model.eval()

    def _judge(self, loss: float, metrics: dict[str, Any], seconds: float) -> EpochReport:
        value = metrics.get(self.task.primary_metric)
        improved = value is not None and (self.best is None or self.task.is_better(value, self.best))
        if improved:
            self.best, self.stale_epochs = value, 0
        else:
            self.stale_epochs += 1
        stop = self.options.patience is not None and self.stale_epochs > self.options.patience
        lr = self.optimizer.param_groups[0]["lr"]
        return EpochReport(self.epoch + 1, loss, metrics, lr, seconds, improved or value is None, stop)
