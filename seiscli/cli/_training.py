"""What the training commands share: their options, and running on several processes under torchrun."""

import contextlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from seiscli.cli._options import OverwriteOpt, gathered_options
from seiscli.cli._runner import Common, run_command


def _option(kind: type, text: str) -> Any:
    return Annotated[kind | None, typer.Option(help=text)]


def training_options(epochs: int = 30, batch_size: int = 32, lr: str = "1e-3") -> dict[str, Any]:
    """The options of every training command, in the order --help lists them, with its defaults."""
    return {
        "epochs": _option(int, f"Epochs (default {epochs})."),
        "batch_size": _option(int, f"Samples per batch (default {batch_size})."),
        "lr": _option(float, f"Peak learning rate (default {lr})."),
        "restarts": _option(int, "Warm restarts of the cosine schedule (default 0)."),
        "accumulate": _option(int, "Batches per optimizer step (default 1)."),
        "precision": _option(str, "auto (bf16 where supported), bf16, fp16 or fp32."),
        "ema": _option(float, "EMA decay of the kept weights (default 0.999)."),
        "patience": _option(int, "Stop after this many epochs without improvement."),
        "layer_decay": _option(
            float, "ViT: block i of L learns at lr x this^(L-i), e.g. 0.75 for a pretrained encoder."
        ),
        "augment": _option(bool, "Random flips, shifts, gain and noise (default on)."),
        "workers": _option(int, "Loader worker processes (default 2)."),
        "seed": _option(int, "Seed (default 0): same seed, same weights."),
        "resume": _option(bool, "Continue the run in OUT from its last complete epoch."),
        "nproc_per_node": _option(int, "Processes on this node: relaunches under torchrun."),
        "nnodes": _option(int, "Nodes taking part (default 1)."),
        "node_rank": _option(int, "This node's rank among --nnodes."),
        "rdzv_endpoint": _option(str, "HOST:PORT where the nodes meet."),
        "overwrite": OverwriteOpt,
    }


def with_training_options(**defaults: Any):
    """Give ``command(common, training, ...)`` the options of every training command, as one dict
    ``training``; ``defaults`` are the command's own defaults, as its config has them."""
    return gathered_options("training", training_options(**defaults), {}, dict)


LAUNCHED = "SEIS_LAUNCHED_BY_SEIS"


def run_training_command(common: Common, stage: Callable[[Any], Any], report: Callable) -> None:
    """``run_command``, with the result (stdout and summary) left to the process that reports: the
    launcher, or rank 0."""
    if os.environ.get(LAUNCHED) or not _is_main_rank():
        with contextlib.redirect_stdout(io.StringIO()):
            run_command(common, stage, lambda result: (*report(result)[:2], None))
    else:
        run_command(common, stage, report)


def launch_or_run(cfg, run: Callable[[], Any], summarize: Callable[[Path, float], Any]):
    """``run()`` in this process; or, when ``cfg`` asks for several processes and this is not one of
    them, the same command under torchrun, then ``summarize(out, seconds)`` of the run folder."""
    import subprocess
    import time

    from seiscli.errors import SeisError
    from seiscli.training.distributed import current_world, torchrun_command

    if not cfg.wants_launch or current_world().size > 1:
        return run()
    started = time.perf_counter()
    command = torchrun_command(sys.argv[1:], cfg.nproc_per_node, cfg.nnodes, cfg.node_rank, cfg.rdzv_endpoint)
    code = subprocess.call(command, env={**os.environ, LAUNCHED: "1"})
    if code != 0:
        raise SeisError(f"the distributed run failed (exit {code}); the ranks' messages are above")
    return summarize(cfg.out, time.perf_counter() - started)


def _is_main_rank() -> bool:
    from seiscli.training.distributed import current_world

    return current_world().is_main
