"""What the training commands share: run on this process or relaunch under torchrun, report once."""

import contextlib
import io
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from seiscli.cli._runner import Common, invocation, resolve_config, run_command

LAUNCHED = "SEIS_LAUNCHED_BY_SEIS"

# Options of the engine and the launch that every training command takes with the same meaning and default.
RestartsOpt = Annotated[int | None, typer.Option(help="Warm restarts of the cosine schedule (default 0).")]
AccumulateOpt = Annotated[int | None, typer.Option(help="Batches per optimizer step (default 1).")]
PrecisionOpt = Annotated[str | None, typer.Option(help="auto (bf16 where supported), bf16, fp16 or fp32.")]
EmaOpt = Annotated[float | None, typer.Option(help="EMA decay of the kept weights (default 0.999).")]
PatienceOpt = Annotated[int | None, typer.Option(help="Stop after this many epochs without improvement.")]
AugmentOpt = Annotated[bool | None, typer.Option(help="Random flips, shifts, gain and noise (default on).")]
WorkersOpt = Annotated[int | None, typer.Option(help="Loader worker processes (default 2).")]
SeedOpt = Annotated[int | None, typer.Option(help="Seed (default 0): same seed, same weights.")]
ResumeOpt = Annotated[bool | None, typer.Option(help="Continue the run in OUT from its last complete epoch.")]
NprocOpt = Annotated[int | None, typer.Option(help="Processes on this node: relaunches under torchrun.")]
NnodesOpt = Annotated[int | None, typer.Option(help="Nodes taking part (default 1).")]
NodeRankOpt = Annotated[int | None, typer.Option(help="This node's rank among --nnodes.")]
RdzvOpt = Annotated[str | None, typer.Option(help="HOST:PORT where the nodes meet.")]


def run_training(common: Common, command: str, flags: dict[str, Any], load: Callable[[], tuple[type, Callable]],
                 report: Callable[[Any], tuple[str, dict[str, Any], str]] | None = None) -> None:  # fmt: skip
    """Resolve the config of ``command``; train here, or re-run this command under torchrun when it asks
    for several processes. ``load`` returns (config class, stage function), imported only when needed;
    ``report`` turns the result into the output (``report_run`` by default).

    The ranks' stdout is silenced: the launcher (or rank 0 of an outside torchrun/srun) reports the result.
    """
    report = report or report_run

    def stage(progress):
        from seiscli.training.distributed import current_world

        config_class, run_stage = load()
        cfg = resolve_config(config_class, command, common, flags)
        if cfg.wants_launch and current_world().size == 1:
            return _launch(cfg)
        return run_stage(cfg, invocation(), progress)

    if os.environ.get(LAUNCHED) or not _is_main_rank():
        with contextlib.redirect_stdout(io.StringIO()):
            run_command(common, stage, report)
    else:
        run_command(common, stage, report)


def report_run(r) -> tuple[str, dict[str, Any], str]:
    """The run folder on stdout; epochs, time and the best metric in the JSON and the summary."""
    payload = {"path": str(r.path), "epochs": r.epochs, "best": r.best, "seconds": round(r.seconds, 1)}
    return str(r.path), payload, f"trained {r.epochs} epochs in {r.seconds / 60:.1f} min; best {r.best}"


def _is_main_rank() -> bool:
    from seiscli.training.distributed import current_world

    return current_world().is_main


def _launch(cfg):
    """Re-run this very command under torchrun; its ranks do the work, this process reports."""
    import subprocess
    import time

    from seiscli.errors import SeisError
    from seiscli.stages.training import summarize_run
    from seiscli.training.distributed import torchrun_command

    started = time.perf_counter()
    command = torchrun_command(sys.argv[1:], cfg.nproc_per_node, cfg.nnodes, cfg.node_rank, cfg.rdzv_endpoint)
    code = subprocess.call(command, env={**os.environ, LAUNCHED: "1"})
    if code != 0:
        raise SeisError(f"the distributed run failed (exit {code}); the ranks' messages are above")
    return summarize_run(cfg.out, time.perf_counter() - started)
