"""With freed memory kept, a loop of tensor-sized allocations stops faulting pages in after warm-up."""

import os
import subprocess
import sys

import pytest

# Five arrays of 3-14 MB allocated, written and freed, like one step's activations; counts the page faults
# of 20 steps after 3 warm-up steps.
STEPS = """
import resource, sys
import numpy as np
from seiscli.allocator import keep_freed_memory
if sys.argv[1] == "kept":
    assert keep_freed_memory()
def step():
    held = [np.ones(megabytes * 2**20 // 8) for megabytes in (4, 6, 10, 14, 3)]
    while held:
        held.pop()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str, **env) -> int:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    run = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, env={**clean, **env})
    assert run.returncode == 0, run.stderr
    return int(run.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_kept_memory_stops_the_page_faults():
    plain, kept = page_faults("plain"), page_faults("kept")
    assert plain > 10_000  # glibc's defaults unmap or trim the freed blocks: ~190 000 pages go round
    assert kept < plain / 20


def test_a_users_own_malloc_settings_win(monkeypatch):
    from seiscli.allocator import keep_freed_memory

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert keep_freed_memory() is False
