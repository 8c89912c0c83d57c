"""Run jobs over worker processes, results in submission order, a bounded number in flight."""

import itertools
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any


def ordered_map(fn: Callable[..., Any], jobs: list[tuple], workers: int,
                initializer: Callable[[], None] | None = None) -> Iterator[Any]:  # fmt: skip
    """``fn(*job)`` for every job, yielded in order; in this process when one worker suffices."""
    if workers == 1 or len(jobs) <= 1:
        if initializer is not None:
            initializer()
        yield from (fn(*job) for job in jobs)
        return
    context = multiprocessing.get_context("spawn")  # no forked torch/zarr threads in the children
    with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer) as pool:
        queue = iter(enumerate(jobs))
        pending = {i: pool.submit(fn, *job) for i, job in itertools.islice(queue, 2 * workers)}
        done: dict[int, Any] = {}
        next_index = 0
        try:
            while pending or done:
                if next_index in done:
                    yield done.pop(next_index)
                    next_index += 1
                    continue
                wait(pending.values(), return_when=FIRST_COMPLETED)
                for i in [i for i, f in pending.items() if f.done()]:
                    done[i] = pending.pop(i).result()
                    pending.update({j: pool.submit(fn, *job) for j, job in itertools.islice(queue, 1)})
        except BaseException:
            for future in pending.values():
                future.cancel()
            raise
