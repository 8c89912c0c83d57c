"""Keep freed memory for reuse instead of handing it back to the kernel after every tensor.

On the CPU, torch takes each activation from the C allocator and frees it before the next step.
glibc's defaults return large freed blocks to the kernel (unmapping them, or trimming the heap), so
the next step faults every page in again: over 100 000 page faults a second and a fifth of a
training process's time spent in the kernel, measured here. Raising the thresholds keeps those pages
in the process. Allocations above 32 MB, glibc's ceiling for the threshold, are still mapped afresh.

Settings a user gave through glibc's own ``MALLOC_*_`` variables win; elsewhere (macOS, musl) this
does nothing.
"""

import ctypes
import ctypes.util
import os
import sys

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = {
    M_MMAP_THRESHOLD: 32 * 2**20,  # glibc's ceiling; blocks below it come from the reusable heap
    M_TRIM_THRESHOLD: 2**30,  # free heap kept before any is given back
    M_TOP_PAD: 64 * 2**20,  # heap grown in steps this big, not a page at a time
}
USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Apply ``SETTINGS`` through glibc's ``mallopt``; True when all of them took effect."""
    if not sys.platform.startswith("linux") or any(name in os.environ for name in USER_VARIABLES):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(parameter, value) == 1 for parameter, value in SETTINGS.items())
