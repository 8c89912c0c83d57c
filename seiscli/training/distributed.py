"""Several processes: relaunch under ``torchrun``, read the rank (torchrun or Slurm), set up DDP.

``seis finetune --nproc-per-node N`` re-runs the same command under ``torch.distributed.run``;
each child finds its rank in the environment torchrun sets (or, started by ``srun``, in Slurm's)
and joins a process group: gloo on CPU, NCCL on GPU. Only rank 0 writes artifacts and logs.
"""

import os
import re
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _slurm_environment(environ: dict[str, str]) -> dict[str, str]:
    """torch.distributed's variables from Slurm's, for a job started by ``srun`` without torchrun."""
    if "SLURM_PROCID" not in environ or int(environ.get("SLURM_NTASKS", "1")) <= 1:
        return {}
    first_host = re.split(r"[,\[]", environ.get("SLURM_JOB_NODELIST", "127.0.0.1"))[0]
    return {
        "RANK": environ["SLURM_PROCID"],
        "WORLD_SIZE": environ["SLURM_NTASKS"],
        "LOCAL_RANK": environ.get("SLURM_LOCALID", "0"),
        "MASTER_ADDR": environ.get("MASTER_ADDR", first_host),
        "MASTER_PORT": environ.get("MASTER_PORT", "29500"),
    }


def current_world(environ: dict[str, str] | None = None) -> World:
    """This process's place: from torchrun's variables, else Slurm's, else a single process."""
    environ = dict(os.environ if environ is None else environ)
    if "WORLD_SIZE" not in environ:
        environ.update(_slurm_environment(environ))
    return World(int(environ.get("RANK", 0)), int(environ.get("WORLD_SIZE", 1)), int(environ.get("LOCAL_RANK", 0)))


def init_process_group(world: World):
    """Join the group (gloo on CPU, NCCL on GPU); returns the device this rank computes on."""
    import torch
    import torch.distributed as dist

    os.environ.update(_slurm_environment(dict(os.environ)) if "WORLD_SIZE" not in os.environ else {})
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", world.local_rank) if cuda else torch.device("cpu")
    if world.size > 1 and not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if cuda else "gloo", rank=world.rank, world_size=world.size)
    return device


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def mean_across(value: float) -> float:
    """The mean of ``value`` over all ranks (itself when alone)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(tensor)
    return float(tensor) / dist.get_world_size()


def torchrun_command(argv: list[str], nproc_per_node: int, nnodes: int, node_rank: int,
                     rdzv_endpoint: str | None) -> list[str]:  # fmt: skip
    """The same seis command, under ``python -m torch.distributed.run``."""
    launcher = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc_per_node}",
                f"--nnodes={nnodes}", f"--node-rank={node_rank}"]  # fmt: skip
    if rdzv_endpoint:
        launcher += ["--rdzv-backend=c10d", f"--rdzv-endpoint={rdzv_endpoint}"]
    elif nnodes == 1:
        launcher.append("--standalone")  # a free local port, no endpoint to give
    return [*launcher, "-m", "seiscli", *argv]
