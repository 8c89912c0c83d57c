"""The machine a benchmark ran on, so that its numbers can be read and compared."""

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The processor's name as the kernel reports it (platform.processor() is often empty on Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe_machine() -> dict:
    """CPU, cores, memory, the threads torch uses and the library versions."""
    import psutil
    import torch

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__.split("+")[0],
        "system": f"{platform.system()} {platform.release()}",
    }


def machine_line(machine: dict) -> str:
    return (f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']:g} GB, "
            f"torch {machine['torch']} on {machine['torch_threads']} thread(s)")  # fmt: skip
